"""Builders for the planner tests: a practice with working hours, and couples waiting for an intensive."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

from tandem.accounts.models import User, WorkingHours
from tandem.cases.models import Case, Client, Phase
from tandem.pathway.models import TreatmentFormat, TreatmentPlan
from tandem.planning.waiting import waiting_refresh
from tandem.scheduling.models import Appointment, AppointmentKind, Occupancy, ResourceKind
from tests.cast import Cast

ZONE = ZoneInfo("Europe/Amsterdam")
NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
FIRST = dt.date(2027, 3, 1)
LAST = dt.date(2027, 4, 30)


def at(day: dt.date, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=ZONE)


def work_week(user: User, location_id: int, weekdays: range = range(5), start="08:30", end="17:30") -> None:
    for weekday in weekdays:
        WorkingHours.objects.create(
            therapist=user.therapist_profile,
            location_id=location_id,
            weekday=weekday,
            starts=dt.time.fromisoformat(start),
            ends=dt.time.fromisoformat(end),
        )


def staff_hours(cast: Cast) -> None:
    """Weekdays 08:30-17:30 instead of the cast's every day from 07:00 (to see them in the instance)."""
    location = cast.room.location_id
    for user in (cast.therapist_a, cast.therapist_b, cast.cotherapist):
        WorkingHours.objects.filter(therapist__user=user).delete()
        work_week(user, location)


def plan_for(case: Case, author: User, fmt: str = TreatmentFormat.INTENSIVE, *, version: int = 1) -> None:
    TreatmentPlan.objects.create(
        case=case,
        version=version,
        format=fmt,
        sessions_per_week=1 if fmt == TreatmentFormat.STANDARD else None,
        goals="Synthetic goals for the planner tests.",
        created_at=timezone.now() - dt.timedelta(days=60),
        created_by=author,
    )
    # Written directly, so the kept waiting list is brought up to date as plan_save's commit would.
    waiting_refresh(case_ids=[case.pk])


def waiting_couple(cast: Cast, first: str, *, therapist: User | None = None, phase=Phase.TREATMENT) -> Case:
    a = Client.objects.create(first_name=first, last_name="Waiting")
    b = Client.objects.create(first_name=f"{first}-partner", last_name="Waiting")
    case = Case.objects.create(
        reference=f"T-W-{a.pk}",
        partner_a=a,
        partner_b=b,
        phase=phase,
        therapist=therapist,
        opened_on=dt.date(2026, 10, 1),
    )
    plan_for(case, cast.director)
    return case


def hold(case: Case, kind: str, resource_id: int, start: dt.datetime, end: dt.datetime) -> Appointment:
    """An appointment holding one resource, written directly (booking rules are not under test here)."""
    appointment = Appointment.objects.create(
        case=case, kind=AppointmentKind.STANDARD, starts_at=start, ends_at=end
    )
    Occupancy.objects.create(
        appointment=appointment, resource_kind=kind, resource_id=resource_id, starts_at=start, ends_at=end
    )
    return appointment


def hold_client(case: Case, client: Client, start: dt.datetime, end: dt.datetime) -> Appointment:
    return hold(case, ResourceKind.CLIENT, client.pk, start, end)
