"""Reminders and nudges: sent once after an outage, once with two workers, never inside quiet hours."""

import datetime as dt
import threading

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tandem.lib.time import practice_zone
from tandem.notify.models import Job, Preference
from tandem.notify.services import run_once
from tandem.scheduling.models import Appointment, AppointmentKind
from tests.cast import build_cast, login
from tests.homework_support import exercise


def _with_emails(cast) -> None:
    for user, address in (
        (cast.partner_a, "alex@example.invalid"),
        (cast.partner_b, "blair@example.invalid"),
    ):
        user.email = address
        user.save()


def _appointment(case, starts_at: dt.datetime) -> Appointment:
    appointment = Appointment.objects.create(
        case=case,
        kind=AppointmentKind.INTENSIVE,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=2),
    )
    appointment.attendees.set(case.partners)
    return appointment


@pytest.fixture
def reminded(cast):
    _with_emails(cast)
    return _appointment(cast.couple_case, timezone.now() + dt.timedelta(hours=10))


def test_reminder_due_while_the_worker_was_down_is_sent_once_when_it_starts(cast, reminded):
    # The reminder fell due 14 hours ago; no worker ran since.
    call_command("notify_worker", "--once")
    assert sorted(m.to[0] for m in mail.outbox) == ["alex@example.invalid", "blair@example.invalid"]
    call_command("notify_worker", "--once")
    run_once(worker="another")
    assert len(mail.outbox) == 2
    assert Job.objects.filter(sent_at__isnull=False).count() == 2


def test_reminder_text_has_no_clinical_detail_only_a_link(cast, reminded):
    run_once(worker="w")
    message = mail.outbox[0]
    text = f"{message.subject} {message.body}"
    for clinical in ("Intensive", "intensive", "Tess", "Colin", "therap", "T-0001", "sensate"):
        assert clinical not in text
    assert "/portal/" in message.body


def test_reminder_links_to_the_address_the_worker_was_given(cast, reminded, settings):
    # `make run PORT=8123` passes PORTAL_BASE_URL to the worker, which has no request to read it from.
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8123/"
    run_once(worker="w")
    assert mail.outbox
    for message in mail.outbox:
        assert "http://127.0.0.1:8123/portal/" in message.body
        assert ":8000" not in message.body


def test_nothing_before_the_24_hours(cast):
    _with_emails(cast)
    _appointment(cast.couple_case, timezone.now() + dt.timedelta(hours=30))
    run_once(worker="w")
    assert mail.outbox == [] and not Job.objects.exists()


def test_cancelled_or_moved_appointment_is_not_reminded(cast, reminded):
    from tandem.notify.services import claim, process, schedule_due

    now = timezone.now()
    schedule_due(now=now)
    reminded.starts_at += dt.timedelta(days=3)
    reminded.ends_at += dt.timedelta(days=3)
    reminded.save()
    for job in claim(worker="w", now=now):
        assert not process(job, now=now).sent
    assert mail.outbox == []


def test_quiet_hours_postpone_and_switched_off_skips(cast):
    _with_emails(cast)
    Preference.objects.create(user=cast.partner_a, quiet_start=dt.time(22, 0), quiet_end=dt.time(8, 0))
    Preference.objects.create(user=cast.partner_b, email=False)
    night = dt.datetime.combine(
        timezone.localdate() + dt.timedelta(days=1), dt.time(23, 30), tzinfo=practice_zone()
    )
    with time_machine.travel(night, tick=False):
        _appointment(cast.couple_case, night + dt.timedelta(hours=12))
        run_once(worker="w")
        assert mail.outbox == []
    with time_machine.travel(night + dt.timedelta(hours=8, minutes=45), tick=False):
        run_once(worker="w")
    assert [m.to[0] for m in mail.outbox] == ["alex@example.invalid"]
    assert Job.objects.get(user=cast.partner_b).skipped == "switched off by the client"


def test_homework_nudge_the_day_before_unless_already_done(cast):
    from tandem.homework.services import assignment_create, assignment_log

    _with_emails(cast)
    due = timezone.localdate() + dt.timedelta(days=3)
    assignment = assignment_create(
        actor=cast.therapist_a, case=cast.couple_case, exercise=exercise("speaker-listener"), due_on=due
    )
    assignment_log(actor=cast.partner_a, assignment=assignment, done=True, rating=6)
    nudge_time = dt.datetime.combine(due - dt.timedelta(days=1), dt.time(9, 30), tzinfo=practice_zone())
    with time_machine.travel(nudge_time, tick=False):
        run_once(worker="w")
        run_once(worker="w")
    assert [m.to[0] for m in mail.outbox] == ["blair@example.invalid"]
    assert "Speaker" not in mail.outbox[0].body


def test_client_sets_reminders_and_quiet_hours_in_the_portal(client, cast):
    login(client, cast.partner_a)
    bad = client.post(reverse("portal:reminders"), {"email": "on", "quiet_start": "22:00"})
    assert bad.status_code == 400 and "or neither" in bad.content.decode()
    good = client.post(
        reverse("portal:reminders"),
        {"email": "on", "appointment_reminders": "on", "quiet_start": "22:00", "quiet_end": "07:30"},
    )
    assert good.status_code == 302
    pref = Preference.objects.get(user=cast.partner_a)
    assert (pref.homework_nudges, pref.quiet_end) == (False, dt.time(7, 30))
    login(client, cast.therapist_a)
    assert client.get(reverse("portal:reminders")).status_code == 404


def test_a_claimed_job_is_not_claimed_by_a_second_worker(cast, reminded):
    from tandem.notify.services import claim, schedule_due

    now = timezone.now()
    schedule_due(now=now)
    first = claim(worker="w1", now=now)
    assert len(first) == 2 and claim(worker="w2", now=now) == []
    # A worker that died mid-send: its claim is taken over only after the timeout.
    later = now + dt.timedelta(minutes=11)
    assert {j.pk for j in claim(worker="w2", now=later)} == {j.pk for j in first}


# SQLite's in-memory test database locks whole tables between threads without waiting (a file database
# waits for the lock), so the threaded race runs where it matters most: PostgreSQL with several workers.
@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need a server database")
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_reminder_once():
    cast = build_cast()
    _with_emails(cast)
    for hours in (2, 5, 9):
        _appointment(cast.couple_case, timezone.now() + dt.timedelta(hours=hours))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            barrier.wait()
            run_once(worker=name)
        except BaseException as error:  # surfaced in the main thread below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(mail.outbox) == 6  # 3 appointments x 2 partners, each once
    assert len({(m.to[0], m.body) for m in mail.outbox}) <= 6
    assert Job.objects.filter(sent_at__isnull=False).count() == 6
