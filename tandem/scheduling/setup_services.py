"""Set-up writes that scheduling owns: appointment types, therapists' working hours and time off.

Kept apart from the booking services (scheduling.services); each is one transaction with its audit row,
for the clinical director only.
"""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from tandem.accounts.models import TherapistProfile, User, WorkingHours
from tandem.audit.services import audit_record
from tandem.lib.roles import require_director
from tandem.practice.models import Location, PracticePolicy
from tandem.scheduling.models import AppointmentKind, AppointmentType, TimeOff

MAX_TYPE_MINUTES = 12 * 60


def appointment_type_save(
    *,
    actor: Any,
    kind: str,
    default_minutes: int,
    max_minutes: int,
    in_person: bool,
    phone: bool,
    video: bool,
) -> AppointmentType:
    """The usual and longest length of one kind of appointment and how it may be held."""
    require_director(actor)
    if kind not in AppointmentKind.values:
        raise ValidationError("Choose a kind of appointment.")
    if not 5 <= default_minutes <= max_minutes <= MAX_TYPE_MINUTES:
        raise ValidationError(
            "The usual length is at least 5 minutes and no longer than the longest (12 hours at most)."
        )
    if kind == AppointmentKind.INTENSIVE and max_minutes > PracticePolicy.current().intensive_minutes:
        raise ValidationError(
            "An intensive day cannot be longer than the practice policy's longest intensive day."
        )
    if not (in_person or phone or video):
        raise ValidationError("Allow at least one way of holding it: in person, phone or video.")
    with transaction.atomic():
        row = AppointmentType.objects.select_for_update().filter(kind=kind).first() or AppointmentType(
            kind=kind
        )
        row.default_minutes, row.max_minutes = default_minutes, max_minutes
        row.in_person, row.phone, row.video = in_person, phone, video
        row.save()
        audit_record(actor=actor, action="setup.appointment_type_save", target=row, detail={"kind": kind})
    return row


def time_off_add(
    *, actor: Any, therapist: User, starts_at: dt.datetime, ends_at: dt.datetime, reason: str = ""
) -> TimeOff:
    """Leave or another absence: bookings in it are refused from now on (what is booked stays)."""
    require_director(actor)
    if not therapist.is_active or therapist.role not in ("therapist", "director"):
        raise ValidationError(f"{therapist} is not an active clinician.")
    if ends_at <= starts_at:
        raise ValidationError("The time off must end after it starts.")
    with transaction.atomic():
        block = TimeOff.objects.create(
            therapist=therapist, starts_at=starts_at, ends_at=ends_at, reason=reason.strip()[:200]
        )
        # The reason stays private: only that there is time off, and whose, goes into the trail.
        audit_record(
            actor=actor, action="setup.time_off_add", target=block, detail={"therapist": therapist.pk}
        )
    return block


def time_off_remove(*, actor: Any, block: TimeOff) -> None:
    require_director(actor)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="setup.time_off_remove",
            target=block,
            detail={"therapist": block.therapist_id},
        )
        block.delete()


# --- Working hours ---------------------------------------------------------------------------------


def working_hours_add(
    *, actor: User, therapist: User, location: Location, weekday: int, starts: dt.time, ends: dt.time
) -> WorkingHours:
    """A weekly block in which the therapist sees clients at one location; no overlap with their others."""
    require_director(actor)
    profile = TherapistProfile.objects.filter(user=therapist).first()
    if profile is None or not therapist.is_active:
        raise ValidationError(f"{therapist} is not an active therapist.")
    if not 0 <= weekday <= 6:
        raise ValidationError("Choose a day of the week.")
    if ends <= starts:
        raise ValidationError("The block must end after it starts.")
    with transaction.atomic():
        clash = WorkingHours.objects.select_for_update().filter(
            therapist=profile, weekday=weekday, starts__lt=ends, ends__gt=starts
        )
        if clash.exists():
            raise ValidationError(f"{therapist} already works part of that time on that day.")
        block = WorkingHours.objects.create(
            therapist=profile, location=location, weekday=weekday, starts=starts, ends=ends
        )
        audit_record(
            actor=actor, action="setup.working_hours_add", target=block, detail={"therapist": therapist.pk}
        )
    return block


def working_hours_remove(*, actor: User, block: WorkingHours) -> None:
    require_director(actor)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="setup.working_hours_remove",
            target=block,
            detail={"therapist": block.therapist.user_id},
        )
        block.delete()
