"""Reminders, nudges and queued e-mails: job rows, claimed under a lease, sent at most once.

A worker pass (`run_once`) first schedules whatever is due (idempotent: one job per key), then claims due
jobs and sends them. Scheduling looks at the clock, not at what happened while the worker was down, so a
reminder that fell due during an outage is still sent once when a worker starts.

Exactly once, under any number of workers, any pass length and a crash at any point:

- A claim is a lease: stamped with the real time (not the time the pass began) and renewed before each
  job the worker turns to. A claim older than the lease (`NOTIFY_LEASE_SECONDS`, a worker that died) may
  be taken by another worker. On PostgreSQL claiming uses `SELECT … FOR UPDATE SKIP LOCKED`; on SQLite
  the write lock serializes it.
- Before the message leaves, the job moves from `pending` to `sending` in its own committed transaction,
  and only if this worker still holds the claim (a compare-and-set on `claimed_by`). A worker whose lease
  was taken over loses that race and sends nothing. After the send it moves to `sent`.
- A mail server that refuses (an exception from the backend) means not sent: the job goes back to
  `pending` and is retried a few times with a growing pause.

The retry rule for "uncertain": a job still `sending` after its lease ran out belongs to a worker that
stopped between handing the message over and recording it; the message may or may not have left. Such a
job is marked `uncertain` and **no worker ever sends it again**: a reminder or a reset link missed is
better than one sent twice, and the client can ask again (a new reset, a new invitation). An operator who
has checked the mail server's log for the job's Message-ID (`<tandem-job-ID…>`) and found nothing may put
it back with `manage.py notify_uncertain --retry ID`; `manage.py notify_uncertain` lists them.
Workers' SMTP timeout (`EMAIL_TIMEOUT`) is kept well below the lease, so a slow server cannot make a
live sender look dead.
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Prefetch, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.models import Role
from tandem.audit.services import audit_record
from tandem.cases.models import Client
from tandem.homework.models import Assignment, AssignmentLog
from tandem.lib.time import practice_zone
from tandem.notify import mail, sms
from tandem.notify.models import Job, JobKind, JobState, Preference
from tandem.scheduling.models import Appointment, AppointmentChange, AppointmentStatus

log = logging.getLogger(__name__)

REMINDER_BEFORE = dt.timedelta(hours=24)
NUDGE_AT = dt.time(9, 0)  # local time, the day before an exercise is due
MAX_ATTEMPTS = 5


def _portal_link() -> str:
    # The worker has no request: the address served comes from the setting (`make run` passes it).
    base = settings.PORTAL_BASE_URL.rstrip("/")
    return f"{base}{reverse('portal:home')}"


# --- Scheduling --------------------------------------------------------------------------------------


def _client_users(clients: list[Client]) -> list[Any]:
    return [c.user for c in clients if c.user is not None and c.user.is_active and c.user.role == Role.CLIENT]


def schedule_due(*, now: dt.datetime) -> int:
    """Create the job rows that are due by now (existing keys are left alone). Returns how many are new."""
    jobs: list[Job] = []
    appointments = Appointment.objects.filter(
        status=AppointmentStatus.BOOKED, starts_at__gt=now, starts_at__lte=now + REMINDER_BEFORE
    ).prefetch_related(Prefetch("attendees", queryset=Client.objects.select_related("user").order_by("pk")))
    for appointment in appointments:
        # Only those who attend are reminded: the other partner of an individual session is not.
        for user in _client_users(list(appointment.attendees.all())):
            jobs.append(
                Job(
                    kind=JobKind.APPOINTMENT_REMINDER,
                    # The start time is part of the key: a moved appointment gets its own reminder.
                    key=f"appointment:{appointment.pk}:{user.pk}:{appointment.starts_at.timestamp():.0f}",
                    user=user,
                    object_id=appointment.pk,
                    due_at=appointment.starts_at - REMINDER_BEFORE,
                )
            )
    local_today = timezone.localtime(now, practice_zone()).date()
    assignments = (
        Assignment.objects.active()
        .filter(due_on__in=[local_today, local_today + dt.timedelta(days=1)])
        .select_related("case__partner_a__user", "case__partner_b__user")
    )
    for assignment in assignments:
        assert assignment.due_on is not None
        day_before = assignment.due_on - dt.timedelta(days=1)
        due_at = dt.datetime.combine(day_before, NUDGE_AT, tzinfo=practice_zone())
        if due_at > now:
            continue
        for user in _client_users(assignment.targets()):
            jobs.append(
                Job(
                    kind=JobKind.HOMEWORK_NUDGE,
                    key=f"nudge:{assignment.pk}:{user.pk}:{assignment.due_on.isoformat()}",
                    user=user,
                    object_id=assignment.pk,
                    due_at=due_at,
                )
            )
    jobs += _bookings_cancelled(now)
    if not jobs:
        return 0
    before = Job.objects.count()
    Job.objects.bulk_create(jobs, ignore_conflicts=True)
    return Job.objects.count() - before


# A batch of bookings cancelled as care ended is told this long after it (a worker down for longer has
# long been reported unhealthy).
CANCELLED_NOTICE_WINDOW = dt.timedelta(days=7)


def _bookings_cancelled(now: dt.datetime) -> list[Job]:
    """One notice per partner for each recent batch of bookings cancelled as care ended (scheduling's
    CancellationBatch), to those who attend them; and their pending reminders withdrawn. Idempotent:
    a notice's key names the batch and the person."""
    recent = AppointmentChange.objects.filter(batch__at__gt=now - CANCELLED_NOTICE_WINDOW)
    cancelled = list(recent.values_list("appointment_id", flat=True))
    if not cancelled:
        return []
    Job.objects.filter(
        kind=JobKind.APPOINTMENT_REMINDER, state=JobState.PENDING, object_id__in=cancelled
    ).update(state=JobState.SKIPPED, skipped="appointment cancelled as care ended", secret=None)
    told = (
        recent.filter(
            appointment__attendees__user__is_active=True, appointment__attendees__user__role=Role.CLIENT
        )
        .values_list("batch_id", "batch__at", "appointment__attendees__user_id")
        .distinct()
    )
    return [
        Job(
            kind=JobKind.BOOKINGS_CANCELLED,
            key=f"bookings_cancelled:{batch_id}:{user_id}",
            user_id=user_id,
            object_id=batch_id,
            due_at=at,
        )
        for batch_id, at, user_id in told
    ]


# --- Claiming and sending ------------------------------------------------------------------------------


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=getattr(settings, "NOTIFY_LEASE_SECONDS", 600))


def claim(*, worker: str, now: dt.datetime, limit: int = 20) -> list[Job]:
    """Take up to `limit` due jobs for this worker; no other worker gets them while the lease runs."""
    stamp = timezone.now()  # the real time: a long pass must not hand out claims that look old already
    with transaction.atomic():
        pending = Job.objects.filter(state=JobState.PENDING, due_at__lte=now).filter(
            Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - lease())
        )
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True, of=("self",))
        jobs = list(pending.select_related("user").order_by("due_at", "id")[:limit])
        if jobs:
            Job.objects.filter(pk__in=[j.pk for j in jobs]).update(claimed_at=stamp, claimed_by=worker)
    for job in jobs:
        job.claimed_at, job.claimed_by = stamp, worker
    return jobs


def _held(job: Job, worker: str) -> Any:
    """The job's row, only while `worker` still holds its claim (for compare-and-set updates)."""
    return Job.objects.filter(pk=job.pk, claimed_by=worker, state=JobState.PENDING)


def renew(*, worker: str) -> int:
    """Stamp this worker's open claims with the time now, so a long pass keeps them."""
    return Job.objects.filter(claimed_by=worker, state=JobState.PENDING).update(claimed_at=timezone.now())


def mark_uncertain() -> int:
    """Jobs left `sending` past the lease: their worker stopped mid-send. Never sent again by a worker."""
    count = Job.objects.filter(state=JobState.SENDING, sending_at__lt=timezone.now() - lease()).update(
        state=JobState.UNCERTAIN
    )
    if count:
        log.warning("notify: %s job(s) uncertain after a worker stopped mid-send", count)
    return count


def _mark_sending(job: Job, worker: str) -> bool:
    with transaction.atomic():  # its own commit, before anything leaves
        return bool(_held(job, worker).update(state=JobState.SENDING, sending_at=timezone.now()))


def _mark_sent(job: Job, worker: str) -> None:
    Job.objects.filter(pk=job.pk, claimed_by=worker, state__in=[JobState.SENDING, JobState.UNCERTAIN]).update(
        state=JobState.SENT, sent_at=timezone.now(), attempts=job.attempts + 1, secret=None
    )


def _mark_failed(job: Job, worker: str, error: Exception, now: dt.datetime) -> None:
    attempts = job.attempts + 1
    gave_up = attempts >= MAX_ATTEMPTS
    Job.objects.filter(pk=job.pk, claimed_by=worker, state=JobState.SENDING).update(
        state=JobState.SKIPPED if gave_up else JobState.PENDING,
        attempts=attempts,
        claimed_at=None,
        claimed_by="",
        sending_at=None,
        due_at=now + dt.timedelta(minutes=5 * attempts),
        last_error=type(error).__name__,
        skipped="gave up after repeated errors" if gave_up else "",
        **({"secret": None} if gave_up else {}),
    )
    log.warning("notification job %s failed (%s)", job.pk, type(error).__name__)


def _in_quiet_hours(pref: Preference | None, now: dt.datetime) -> dt.datetime | None:
    """When the quiet time ends, if `now` is inside it; None when a message may go now."""
    if pref is None or pref.quiet_start is None or pref.quiet_end is None:
        return None
    if pref.quiet_start == pref.quiet_end:
        return None
    local = timezone.localtime(now, practice_zone())
    t, start, end = local.time(), pref.quiet_start, pref.quiet_end
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(end_day, end, tzinfo=practice_zone())


@dataclass(frozen=True)
class Outcome:
    sent: bool
    reason: str = ""


def _still_relevant(job: Job, now: dt.datetime) -> str:
    """Why the job should not be sent any more (the appointment moved, the exercise is done), or ''."""
    if job.object_id is None:
        return "nothing to remind of"
    if job.kind == JobKind.MESSAGE_NOTICE:
        # The portal withdraws a notice when its message is read (message_notice_withdraw); this catches
        # one withdrawn after the claim.
        withdrawn = Job.objects.filter(pk=job.pk).exclude(skipped="").exists()
        return "message already read" if withdrawn else ""
    if job.kind == JobKind.BOOKINGS_CANCELLED:
        return ""  # what happened stays true; the message names nothing clinical
    if job.kind == JobKind.APPOINTMENT_REMINDER:
        appointment = Appointment.objects.filter(pk=job.object_id).first()
        if appointment is None or appointment.status != AppointmentStatus.BOOKED:
            return "appointment no longer booked"
        if not appointment.attendees.filter(user=job.user_id).exists():
            return "no longer attending"
        if not job.key.endswith(f":{appointment.starts_at.timestamp():.0f}") or appointment.starts_at <= now:
            return "appointment moved or past"
        return ""
    assignment = Assignment.objects.filter(pk=job.object_id).select_related("case").first()
    if assignment is None or not assignment.is_active:
        return "assignment closed"
    done = AssignmentLog.objects.filter(assignment=assignment, client__user=job.user_id, done=True).count()
    return "already done" if done >= assignment.expected else ""


def _wanted(job: Job, pref: Preference | None) -> bool:
    if pref is None:
        return True
    if job.kind == JobKind.APPOINTMENT_REMINDER:
        return pref.appointment_reminders
    if job.kind == JobKind.HOMEWORK_NUDGE:
        return pref.homework_nudges
    return True


def _phone(user: Any) -> str:
    client = Client.objects.filter(user=user).only("phone").first()
    return (client.phone if client is not None else "").strip()


def _channels(user: Any, pref: Preference | None) -> list[str]:
    """Where this client wants to be told: e-mail (the default) and, where offered, text messages."""
    channels = []
    if (pref is None or pref.email) and user.email:
        channels.append("email")
    if sms.sms_enabled() and pref is not None and pref.sms and _phone(user):
        channels.append("sms")
    return channels


_TEMPLATES = {
    JobKind.APPOINTMENT_REMINDER: "appointment_reminder",
    JobKind.HOMEWORK_NUDGE: "homework_nudge",
    JobKind.MESSAGE_NOTICE: "message_notice",
    JobKind.BOOKINGS_CANCELLED: "bookings_cancelled",
}


def _send(job: Job, channels: list[str]) -> None:
    template = _TEMPLATES[JobKind(job.kind)]
    context = {"link": _portal_link()}
    assert job.user is not None  # reminders always name their client (_reminder_plan checked)
    if "email" in channels:
        to = job.user.email or ""
        mail.message(job, 0, template=f"notify/email/{template}", context=context, to=to).send()
    if "sms" in channels:
        context["practice"] = settings.PRACTICE_NAME
        sms.send_text(to=_phone(job.user), body=render_to_string(f"notify/sms/{template}.txt", context))


# Why not (or ''), what sends it, and until when it waits (quiet hours).
Plan = tuple[str, Callable[[], None] | None, dt.datetime | None]


def _reminder_plan(job: Job, now: dt.datetime) -> Plan:
    user = job.user
    if user is None or not user.is_active:
        return "no active account", None, None
    pref = Preference.objects.filter(user=user).first()
    channels = _channels(user, pref)
    if not channels:
        off = pref is not None and not pref.email
        why = "switched off by the client" if off else "no e-mail address or text channel to use"
        return why, None, None
    if not _wanted(job, pref):
        return "switched off by the client", None, None
    reason = _still_relevant(job, now)
    if reason:
        return reason, None, None
    quiet_until = _in_quiet_hours(pref, now)
    if quiet_until is not None:
        return "", None, quiet_until
    return "", lambda: _send(job, channels), None


def _mail_plan(job: Job, now: dt.datetime) -> Plan:
    reason, messages = mail.prepare(job, now)

    def send() -> None:
        for each in messages:
            each.send()

    return reason, (send if messages else None), None


def process(job: Job, *, now: dt.datetime, worker: str | None = None) -> Outcome:
    """Send one claimed job (or skip or postpone it) and record the outcome on the row.

    Every change is conditional on `worker` still holding the claim, so a worker that lost its lease
    changes nothing and sends nothing.
    """
    worker = worker or job.claimed_by
    plan = _mail_plan if job.kind in mail.HANDLERS else _reminder_plan
    reason, send, postpone_until = plan(job, now)
    if reason or (send is None and postpone_until is None):
        reason = reason or "nothing to send"
        _held(job, worker).update(state=JobState.SKIPPED, skipped=reason[:100], secret=None)
        return Outcome(False, reason)
    if postpone_until is not None:
        _held(job, worker).update(due_at=postpone_until, claimed_at=None, claimed_by="")
        return Outcome(False, "quiet hours")
    assert send is not None
    if not _mark_sending(job, worker):
        return Outcome(False, "claimed by another worker")
    try:
        send()
    except Exception as error:  # the mail server's errors are many; each one is retried a few times
        _mark_failed(job, worker, error, now)
        return Outcome(False, "error")
    _mark_sent(job, worker)
    return Outcome(True)


def run_once(*, worker: str, now: dt.datetime | None = None) -> int:
    """One worker pass: schedule what is due, then claim and send. Returns the number sent.

    Without a fixed `now` (tests pass one) every claim and send reads the clock afresh.
    """
    schedule_due(now=now or timezone.now())
    mark_uncertain()
    sent = 0
    while True:
        jobs = claim(worker=worker, now=now or timezone.now())
        if not jobs:
            return sent
        for job in jobs:
            renew(worker=worker)
            sent += process(job, now=now or timezone.now(), worker=worker).sent


def uncertain_jobs() -> list[Job]:
    return list(Job.objects.filter(state=JobState.UNCERTAIN).order_by("sending_at", "pk"))


def uncertain_retry(*, job_ids: list[int]) -> list[int]:
    """An operator found no trace of these in the mail server's log: let a worker send them once more."""
    with transaction.atomic():
        ids = list(
            Job.objects.select_for_update()
            .filter(pk__in=job_ids, state=JobState.UNCERTAIN)
            .values_list("pk", flat=True)
        )
        Job.objects.filter(pk__in=ids).update(
            state=JobState.PENDING, claimed_at=None, claimed_by="", sending_at=None, due_at=timezone.now()
        )
        for pk in ids:
            audit_record(actor="operator", action="notify.retry_uncertain", detail={"job": pk})
    return sorted(ids)


def message_notice_schedule(*, user: Any, message_id: int, now: dt.datetime) -> None:
    """Tell a client there is a new message (never what it says); inside the sender's transaction."""
    if user is None or not user.is_active:
        return
    Job.objects.get_or_create(
        key=f"message:{message_id}:{user.pk}",
        defaults={"kind": JobKind.MESSAGE_NOTICE, "user": user, "object_id": message_id, "due_at": now},
    )


def message_notice_withdraw(*, message_ids: list[int]) -> int:
    """The messages were read: their notices not yet sent are skipped. The portal, which owns the messages,
    calls this, so the reminder worker never reads another app's rows to decide."""
    return Job.objects.filter(
        kind=JobKind.MESSAGE_NOTICE, object_id__in=message_ids, state=JobState.PENDING
    ).update(state=JobState.SKIPPED, skipped="message already read")


def preference_set(
    *,
    actor: Any,
    email: bool,
    appointment_reminders: bool,
    homework_nudges: bool,
    sms: bool = False,  # the text-message channel (the name shadows the module only in here)
    quiet_start: dt.time | None,
    quiet_end: dt.time | None,
) -> Preference:
    """A client chooses which reminders they get and when not to be disturbed."""
    if (quiet_start is None) != (quiet_end is None):
        raise ValueError("Give both the start and the end of the quiet hours, or neither.")
    with transaction.atomic():
        pref, _ = Preference.objects.update_or_create(
            user=actor,
            defaults={
                "email": email,
                "sms": sms,
                "appointment_reminders": appointment_reminders,
                "homework_nudges": homework_nudges,
                "quiet_start": quiet_start,
                "quiet_end": quiet_end,
            },
        )
        audit_record(
            actor=actor, action="notify.preferences", target=pref, detail={"email": email, "sms": sms}
        )
    return pref
