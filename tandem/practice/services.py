"""Set-up writes for the practice's own facts: its details, booking policy, locations, rooms, closures.

Each is one transaction with its audit row, and only the clinical director may make them. Values are
checked here (not only in forms), so a bad value changes nothing whichever way it arrives.
"""

import datetime as dt
from typing import Any

import holidays
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from tandem.audit.services import audit_record
from tandem.lib.roles import require_director
from tandem.practice.models import Location, Practice, PracticeClosure, PracticePolicy, Room, TeamRule

MAX_INTENSIVE_DAYS = 31
MAX_INTENSIVE_MINUTES = 12 * 60
MAX_LATE_CANCEL_HOURS = 14 * 24


def current_practice() -> Practice:
    """The practice row, or an unsaved one named after PRACTICE_NAME on a new installation."""
    return Practice.objects.order_by("pk").first() or Practice(name=settings.PRACTICE_NAME)


def practice_save(*, actor: Any, name: str, phone: str = "", email: str = "") -> Practice:
    require_director(actor)
    if not name.strip():
        raise ValidationError("Give the practice's name.")
    with transaction.atomic():
        practice = Practice.objects.select_for_update().order_by("pk").first() or Practice()
        created = practice.pk is None
        practice.name, practice.phone, practice.email = name.strip(), phone.strip(), email.strip()
        practice.save()
        audit_record(actor=actor, action="setup.practice_save", target=practice, detail={"created": created})
    return practice


def policy_save(
    *,
    actor: Any,
    team_rule: str,
    intensive_days: int,
    intensive_minutes: int,
    intensive_weekdays_only: bool,
    late_cancel_hours: int,
) -> PracticePolicy:
    """Save the booking policy (the first save writes the row that `current()` reads from then on)."""
    require_director(actor)
    if team_rule not in TeamRule.values:
        raise ValidationError("Choose one of the team rules.")
    if not 1 <= intensive_days <= MAX_INTENSIVE_DAYS:
        raise ValidationError(f"An intensive block has between 1 and {MAX_INTENSIVE_DAYS} days.")
    if not 15 <= intensive_minutes <= MAX_INTENSIVE_MINUTES:
        raise ValidationError("An intensive day lasts between 15 minutes and 12 hours.")
    if not 0 <= late_cancel_hours <= MAX_LATE_CANCEL_HOURS:
        raise ValidationError("The notice period is between 0 hours and 14 days (336 hours).")
    with transaction.atomic():
        policy = PracticePolicy.objects.select_for_update().order_by("pk").first() or PracticePolicy()
        values = {
            "team_rule": team_rule,
            "intensive_days": intensive_days,
            "intensive_minutes": intensive_minutes,
            "intensive_weekdays_only": intensive_weekdays_only,
            "late_cancel_hours": late_cancel_hours,
        }
        changed = sorted(name for name, value in values.items() if getattr(policy, name) != value)
        for name, value in values.items():
            setattr(policy, name, value)
        policy.save()
        audit_record(actor=actor, action="setup.policy_save", target=policy, detail={"fields": changed})
    return policy


def location_add(*, actor: Any, name: str, address: str = "") -> Location:
    require_director(actor)
    name = name.strip()
    if not name:
        raise ValidationError("Give the location a name.")
    with transaction.atomic():
        practice = current_practice()
        if practice.pk is None:
            raise ValidationError("Save the practice's details first.")
        if Location.objects.filter(practice=practice, name__iexact=name).exists():
            raise ValidationError(f"There is already a location called {name}.")
        location = Location.objects.create(practice=practice, name=name, address=address.strip())
        audit_record(actor=actor, action="setup.location_add", target=location, detail={})
    return location


def room_add(
    *, actor: Any, location: Location, name: str, capacity: int = 4, accessible: bool = False
) -> Room:
    require_director(actor)
    name = name.strip()
    if not name:
        raise ValidationError("Give the room a name.")
    if not 1 <= capacity <= 50:
        raise ValidationError("A room holds between 1 and 50 people.")
    with transaction.atomic():
        if Room.objects.filter(location=location, name__iexact=name).exists():
            raise ValidationError(f"{location} already has a room called {name}.")
        room = Room.objects.create(location=location, name=name, capacity=capacity, accessible=accessible)
        audit_record(actor=actor, action="setup.room_add", target=room, detail={"location": location.pk})
    return room


def room_set_in_use(*, actor: Any, room: Room, in_use: bool) -> Room:
    """Take a room out of use (no new bookings; its history stays) or bring it back."""
    require_director(actor)
    with transaction.atomic():
        room = Room.objects.select_for_update().get(pk=room.pk)
        if room.active != in_use:
            room.active = in_use
            room.save(update_fields=["active"])
            audit_record(actor=actor, action="setup.room_in_use", target=room, detail={"in_use": in_use})
    return room


def closure_add(*, actor: Any, date: dt.date, reason: str) -> PracticeClosure:
    require_director(actor)
    reason = reason.strip()
    if not reason:
        raise ValidationError("Say why the practice is closed (shown on the calendars).")
    with transaction.atomic():
        if PracticeClosure.objects.filter(date=date).exists():
            raise ValidationError(f"The practice is already closed on {date:%d %B %Y}.")
        closure = PracticeClosure.objects.create(date=date, reason=reason[:200])
        audit_record(
            actor=actor, action="setup.closure_add", target=closure, detail={"date": date.isoformat()}
        )
    return closure


def closure_remove(*, actor: Any, closure: PracticeClosure) -> None:
    require_director(actor)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="setup.closure_remove",
            target=closure,
            detail={"date": closure.date.isoformat()},
        )
        closure.delete()


def closures_import_holidays(*, actor: Any, year: int, country: str | None = None) -> list[PracticeClosure]:
    """Close the practice on the country's public holidays of one year; days already closed are kept."""
    require_director(actor)
    country = country or settings.PRACTICE_COUNTRY
    if not 2000 <= year <= 2100:
        raise ValidationError("Choose a year between 2000 and 2100.")
    try:
        calendar = holidays.country_holidays(country, years=year)
    except NotImplementedError as problem:
        raise ValidationError(f"No public holiday calendar is known for the country {country}.") from problem
    with transaction.atomic():
        taken = set(PracticeClosure.objects.filter(date__year=year).values_list("date", flat=True))
        rows = [
            PracticeClosure(date=day, reason=f"Public holiday: {name}"[:200])
            for day, name in sorted(calendar.items())
            if day not in taken
        ]
        created = PracticeClosure.objects.bulk_create(rows)
        audit_record(
            actor=actor,
            action="setup.closures_import",
            detail={"country": country, "year": year, "added": len(created)},
        )
    return created
