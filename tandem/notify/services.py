"""Reminders and nudges: scheduled as job rows, claimed atomically, sent once, never with clinical detail.

A worker pass (`run_once`) first schedules whatever is due (idempotent: one job per key), then claims due
jobs and sends them. Scheduling looks at the clock, not at what happened while the worker was down, so a
reminder that fell due during an outage is still sent once when a worker starts.

Claiming is one transaction: on PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED`, so workers never take the
same row; on SQLite the IMMEDIATE transaction takes the write lock first, so claims are serialized. A
claim older than CLAIM_TIMEOUT (a worker that died mid-send) may be taken again.
"""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.models import Role
from tandem.audit.services import audit_record
from tandem.cases.models import Client
from tandem.homework.models import Assignment, AssignmentLog
from tandem.lib.time import practice_zone
from tandem.notify import sms
from tandem.notify.models import Job, JobKind, Preference
from tandem.scheduling.models import Appointment, AppointmentStatus

log = logging.getLogger(__name__)

REMINDER_BEFORE = dt.timedelta(hours=24)
NUDGE_AT = dt.time(9, 0)  # local time, the day before an exercise is due
CLAIM_TIMEOUT = dt.timedelta(minutes=10)
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
    ).select_related("case__partner_a__user", "case__partner_b__user")
    for appointment in appointments:
        for user in _client_users(appointment.case.partners):
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
    if not jobs:
        return 0
    before = Job.objects.count()
    Job.objects.bulk_create(jobs, ignore_conflicts=True)
    return Job.objects.count() - before


# --- Claiming and sending ------------------------------------------------------------------------------


def claim(*, worker: str, now: dt.datetime, limit: int = 50) -> list[Job]:
    """Take up to `limit` due jobs for this worker; no other worker gets the same ones."""
    with transaction.atomic():
        pending = Job.objects.filter(sent_at__isnull=True, skipped="", due_at__lte=now).filter(
            Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_TIMEOUT)
        )
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True)
        jobs = list(pending.order_by("due_at", "id")[:limit])
        if jobs:
            Job.objects.filter(pk__in=[j.pk for j in jobs]).update(claimed_at=now, claimed_by=worker)
    return jobs


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
    if job.kind == JobKind.MESSAGE_NOTICE:
        # The portal withdraws a notice when its message is read (message_notice_withdraw); this catches
        # one withdrawn after the claim.
        withdrawn = Job.objects.filter(pk=job.pk).exclude(skipped="").exists()
        return "message already read" if withdrawn else ""
    if job.kind == JobKind.APPOINTMENT_REMINDER:
        appointment = Appointment.objects.filter(pk=job.object_id).first()
        if appointment is None or appointment.status != AppointmentStatus.BOOKED:
            return "appointment no longer booked"
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
}


def _send(job: Job, channels: list[str]) -> None:
    template = _TEMPLATES[JobKind(job.kind)]
    context = {"link": _portal_link(), "practice": settings.PRACTICE_NAME}
    if "email" in channels:
        subject = render_to_string(f"notify/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"notify/email/{template}.txt", context)
        send_mail(subject, body, None, [job.user.email or ""])
    if "sms" in channels:
        sms.send_text(to=_phone(job.user), body=render_to_string(f"notify/sms/{template}.txt", context))


def process(job: Job, *, now: dt.datetime) -> Outcome:
    """Send one claimed job (or skip or postpone it) and record the outcome on the row."""
    user = job.user
    pref = Preference.objects.filter(user=user).first()
    reason = ""
    channels = _channels(user, pref) if user.is_active else []
    if not user.is_active:
        reason = "no active account"
    elif not channels:
        reason = (
            "no e-mail address or text channel to use"
            if pref is None or pref.email
            else "switched off by the client"
        )
    elif not _wanted(job, pref):
        reason = "switched off by the client"
    else:
        reason = _still_relevant(job, now)
    if reason:
        Job.objects.filter(pk=job.pk).update(skipped=reason[:100])
        return Outcome(False, reason)
    quiet_until = _in_quiet_hours(pref, now)
    if quiet_until is not None:
        Job.objects.filter(pk=job.pk).update(due_at=quiet_until, claimed_at=None, claimed_by="")
        return Outcome(False, "quiet hours")
    try:
        _send(job, channels)
    except Exception as error:  # the mail server's errors are many; each one is retried a few times
        attempts = job.attempts + 1
        Job.objects.filter(pk=job.pk).update(
            attempts=attempts,
            claimed_at=None,
            claimed_by="",
            due_at=now + dt.timedelta(minutes=5 * attempts),
            last_error=type(error).__name__,
            skipped="gave up after repeated errors" if attempts >= MAX_ATTEMPTS else "",
        )
        log.warning("notification job %s failed (%s)", job.pk, type(error).__name__)
        return Outcome(False, "error")
    Job.objects.filter(pk=job.pk).update(sent_at=timezone.now(), attempts=job.attempts + 1)
    return Outcome(True)


def run_once(*, worker: str, now: dt.datetime | None = None) -> int:
    """One worker pass: schedule what is due, then claim and send. Returns the number sent."""
    now = now or timezone.now()
    schedule_due(now=now)
    sent = 0
    while True:
        jobs = claim(worker=worker, now=now)
        if not jobs:
            return sent
        users = {j.pk: j for j in Job.objects.filter(pk__in=[j.pk for j in jobs]).select_related("user")}
        for job in jobs:
            sent += process(users[job.pk], now=now).sent


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
        kind=JobKind.MESSAGE_NOTICE, object_id__in=message_ids, sent_at__isnull=True, skipped=""
    ).update(skipped="message already read")


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
