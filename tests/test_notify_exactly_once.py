"""Each reminder goes out once: several workers, passes and sends longer than the lease, a kill mid-send."""

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from tandem.notify import services
from tandem.notify.models import Job, JobState
from tandem.notify.services import run_once
from tandem.scheduling.models import Appointment, AppointmentKind
from tests.cast import build_cast

LEASE = dt.timedelta(minutes=10)


def _with_emails(cast) -> None:
    for user, address in (
        (cast.partner_a, "alex@example.invalid"),
        (cast.partner_b, "blair@example.invalid"),
    ):
        user.email = address
        user.save()


def _appointments(cast, hours: list[int]) -> None:
    for h in hours:
        starts_at = timezone.now() + dt.timedelta(hours=h)
        appointment = Appointment.objects.create(
            case=cast.couple_case,
            kind=AppointmentKind.INTENSIVE,
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(hours=2),
        )
        appointment.attendees.set(cast.couple_case.partners)


def _sends_per_job() -> Counter[str]:
    ids = [re.search(r"tandem-job-(\d+)\.", m.extra_headers["Message-ID"]) for m in mail.outbox]
    return Counter(match.group(1) for match in ids if match)


def _slow_sends(monkeypatch, during_send) -> None:
    """Every e-mail the worker hands over takes a while; `during_send()` runs while it does."""
    original = services._send

    def slow(job, channels):
        original(job, channels)
        during_send()

    monkeypatch.setattr(services, "_send", slow)


@pytest.fixture
def six_jobs(cast, settings):
    settings.NOTIFY_LEASE_SECONDS = int(LEASE.total_seconds())
    _with_emails(cast)
    _appointments(cast, [2, 5, 9])  # 3 appointments x 2 partners
    return cast


def test_a_pass_longer_than_the_lease_keeps_its_claims_and_sends_each_job_once(six_jobs, monkeypatch):
    # Each send takes 6 minutes, so the pass takes 36 minutes against a 10-minute lease; a second worker
    # runs a pass during every send. Before the lease was renewed it took over the later claims.
    with time_machine.travel(timezone.now(), tick=False) as clock:

        def meanwhile() -> None:
            clock.shift(dt.timedelta(minutes=6))
            run_once(worker="B")

        _slow_sends(monkeypatch, meanwhile)
        run_once(worker="A")
    sends = _sends_per_job()
    assert len(sends) == 6 and set(sends.values()) == {1}
    assert len(mail.outbox) == 6
    assert set(Job.objects.values_list("state", "claimed_by")) == {(JobState.SENT, "A")}


def test_a_worker_that_lost_its_lease_sends_nothing(six_jobs, monkeypatch):
    # One send hangs for longer than the whole lease: another worker takes over the rest, and the first
    # worker, back from its send, finds its claims gone and leaves them.
    with time_machine.travel(timezone.now(), tick=False) as clock:
        hung: list[bool] = []

        def meanwhile() -> None:
            if not hung:
                hung.append(True)
                clock.shift(LEASE + dt.timedelta(minutes=1))
                run_once(worker="B")

        _slow_sends(monkeypatch, meanwhile)
        run_once(worker="A")
        run_once(worker="C")
    sends = _sends_per_job()
    assert len(sends) == 6 and set(sends.values()) == {1}
    assert Job.objects.filter(state=JobState.SENT).count() == 6
    assert Counter(Job.objects.values_list("claimed_by", flat=True)) == {"A": 1, "B": 5}


def test_a_worker_killed_between_send_and_mark_leaves_the_job_uncertain_never_resent(six_jobs, monkeypatch):
    def killed(job, worker):
        raise SystemExit("killed")  # the process dies: nothing after the hand-over runs

    monkeypatch.setattr(services, "_mark_sent", killed)
    with pytest.raises(SystemExit):
        run_once(worker="A")
    monkeypatch.undo()
    assert len(mail.outbox) == 1
    dead = Job.objects.get(state=JobState.SENDING)
    # Other workers, before and after the lease runs out: the message may have left, so it stays put.
    run_once(worker="B")
    with time_machine.travel(timezone.now() + LEASE + dt.timedelta(minutes=1), tick=False):
        run_once(worker="C")
        run_once(worker="D")
    dead.refresh_from_db()
    assert dead.state == JobState.UNCERTAIN
    sends = _sends_per_job()
    assert len(mail.outbox) == 6 and set(sends.values()) == {1}
    assert Job.objects.filter(state=JobState.SENT).count() == 5


def test_the_operator_retries_an_uncertain_job_once(six_jobs, capsys):
    run_once(worker="A")
    job = Job.objects.first()
    assert job is not None
    Job.objects.filter(pk=job.pk).update(state=JobState.UNCERTAIN, sent_at=None)
    call_command("notify_uncertain")
    listed = capsys.readouterr().out
    assert f"job {job.pk} appointment_reminder" in listed and "@" not in listed
    call_command("notify_uncertain", "--retry", str(job.pk))
    run_once(worker="B")
    run_once(worker="C")
    assert len(mail.outbox) == 7
    job.refresh_from_db()
    assert job.state == JobState.SENT


# SQLite's in-memory test database cannot be shared by threads; the real race runs on PostgreSQL.
@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need a server database")
@pytest.mark.django_db(transaction=True)
def test_three_workers_with_a_lease_shorter_than_their_passes_send_each_job_once(settings):
    settings.NOTIFY_LEASE_SECONDS = 1
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cast = build_cast()
    _with_emails(cast)
    _appointments(cast, list(range(1, 11)))  # 20 jobs; each send takes 0.3 s, a pass several seconds
    original = services._send

    def slow(job, channels):
        original(job, channels)
        time.sleep(0.3)

    services._send = slow  # type: ignore[assignment]
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def worker(name: str, delay: float) -> None:
        try:
            barrier.wait()
            time.sleep(delay)  # later passes start while the first is still sending
            run_once(worker=name)
        except BaseException as error:  # surfaced in the main thread below
            errors.append(error)
        finally:
            connection.close()

    try:
        threads = [threading.Thread(target=worker, args=(f"w{i}", 1.5 * i)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        services._send = original  # type: ignore[assignment]
    assert errors == []
    sends = _sends_per_job()
    assert len(sends) == 20 and set(sends.values()) == {1}, sends
    assert Job.objects.filter(state=JobState.SENT).count() == 20


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a second process needs a server database")
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_killed_between_send_and_mark_is_never_resent(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cast = build_cast()
    _with_emails(cast)
    _appointments(cast, [3])
    db = connection.settings_dict
    sent_file = tmp_path / "handed-over.txt"
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,  # the test database, where the rows above are committed
        "EMAIL_BACKEND": "tests.killing_mail_backend.EmailBackend",
        "KILL_MAIL_FILE": str(sent_file),
    }
    root = Path(__file__).resolve().parents[1]
    worker = subprocess.run(
        [sys.executable, "manage.py", "notify_worker", "--once"], cwd=root, env=env, timeout=300, check=False
    )
    assert worker.returncode == -signal.SIGKILL
    assert len(sent_file.read_text().splitlines()) == 1  # one message left before the process died
    assert Job.objects.filter(state=JobState.SENDING).count() == 1
    # The other workers, now and after the lease: the partner not yet reminded gets theirs; the
    # message that may have left is never sent again.
    run_once(worker="B")
    with time_machine.travel(timezone.now() + LEASE + dt.timedelta(minutes=1), tick=False):
        run_once(worker="C")
    assert Job.objects.filter(state=JobState.UNCERTAIN).count() == 1
    assert Job.objects.filter(state=JobState.SENT).count() == 1
    handed_over = {line.split()[1] for line in sent_file.read_text().splitlines()}
    assert [m.to[0] for m in mail.outbox] == [
        a for a in ("alex@example.invalid", "blair@example.invalid") if a not in handed_over
    ]
