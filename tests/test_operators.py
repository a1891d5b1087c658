"""For operators: the health endpoint (database, cache, migrations, a live worker of each kind) and
JSON logs with a request id and no personal data."""

import datetime as dt
import json
import os
import signal

import pytest
from django.urls import reverse
from django.utils import timezone

from tandem.lib.models import WorkerHeartbeat
from tandem.lib.worker import run_worker_loop
from tests.cast import login

HEALTH = "/health/"


def _beat(kind: str, seconds_ago: int = 0) -> None:
    WorkerHeartbeat.objects.update_or_create(
        name=f"host:{kind}",
        defaults={"kind": kind, "beat_at": timezone.now() - dt.timedelta(seconds=seconds_ago)},
    )


def _health(client) -> tuple[int, dict[str, str]]:
    response = client.get(HEALTH, {"format": "json"})
    return response.status_code, response.json()


# The checks run in threads with their own database connections: the rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def test_healthy_when_database_cache_migrations_and_both_workers_are_fine(client):
    _beat("notify")
    _beat("planning", seconds_ago=60)
    status, report = _health(client)
    assert status == 200, report
    assert set(report.values()) == {"OK"}
    assert {"Database(alias='default')", "Cache(alias='default')", "Migrations(alias='default')"} <= set(
        report
    )
    assert "Worker(kind='notify')" in report and "Worker(kind='planning')" in report


def test_a_stopped_worker_is_unhealthy(client, settings):
    settings.WORKER_HEARTBEAT_STALE_SECONDS = 300
    _beat("notify", seconds_ago=301)
    _beat("planning")
    status, report = _health(client)
    assert status == 500
    assert "no notify worker alive: last heartbeat 30" in report["Worker(kind='notify')"]
    assert report["Worker(kind='planning')"] == "OK"


def test_no_worker_at_all_is_unhealthy(client):
    _beat("planning")
    status, report = _health(client)
    assert status == 500 and "no notify worker running" in report["Worker(kind='notify')"]


def test_the_worker_loop_beats_and_a_clean_stop_removes_its_heartbeat(client):
    _beat("planning")
    seen: list[int] = []

    def one_pass() -> None:
        seen.append(WorkerHeartbeat.objects.filter(kind="notify").count())
        assert _health(client)[0] == 200  # alive while it works
        os.kill(os.getpid(), signal.SIGTERM)  # asked to stop: finishes this pass, then leaves

    previous = signal.getsignal(signal.SIGTERM)
    try:
        run_worker_loop(one_pass=one_pass, interval=1, once=False, kind="notify")
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    assert seen == [1]
    assert not WorkerHeartbeat.objects.filter(kind="notify").exists()
    assert _health(client)[0] == 500


def test_health_needs_no_log_in_and_names_no_one(client):
    _beat("notify")
    _beat("planning")
    response = client.get(HEALTH, HTTP_ACCEPT="text/plain")
    assert response.status_code == 200
    assert "host:" not in response.content.decode()


def _console_output(do, capsys) -> list[dict]:
    capsys.readouterr()
    do()
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]


def test_request_logs_are_json_with_a_request_id_and_no_personal_data(client, cast, capsys):
    login(client, cast.therapist_a)
    token = "s3cr3t-T0ken_abcdefghijklmnopqrstuvwxyz0123"

    def requests() -> None:
        client.get(
            reverse("cases:detail", args=[cast.couple_case.pk]),
            REMOTE_ADDR="203.0.113.9",
            HTTP_USER_AGENT="SyntheticBrowser/1.0",
        )
        client.get(reverse("public:consultation_booked", args=[token]), REMOTE_ADDR="203.0.113.9")

    lines = _console_output(requests, capsys)
    events = [line for line in lines if line.get("event") in ("request_started", "request_finished")]
    assert len(events) == 4
    assert all(line["request_id"] for line in events)
    assert events[0]["request_id"] == events[1]["request_id"] != events[2]["request_id"]
    text = json.dumps(lines)
    for personal in ("203.0.113.9", "SyntheticBrowser", cast.therapist_a.username, token, "Partner"):
        assert personal not in text
    assert not {"ip", "user_agent", "user_id"} & {key for line in lines for key in line}
    assert any("/consultation/booked/[secret]/" in line.get("request", "") for line in events)
