"""Occupancy: the rows that hold a therapist, room or client for a half-open period.

The overlap check reads them; the writes insert them in a fixed order. On PostgreSQL the exclusion
constraint on occupancy is the guarantee: when two transactions race past the check, the second insert
fails, and `guarded` answers it with the clash. On SQLite every write transaction takes the write lock
at BEGIN (IMMEDIATE), so the check inside the transaction cannot race at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q

from tandem.accounts.models import User
from tandem.cases.models import Case, Client
from tandem.practice.models import Room
from tandem.scheduling.errors import BookingConflict
from tandem.scheduling.models import Appointment, AppointmentSeries, Occupancy, ResourceKind
from tandem.scheduling.rules import Period, period_text

# SQLSTATEs of a lost race on PostgreSQL: the exclusion constraint fired, or two bookings waiting on
# each other's rows were broken up by the deadlock detector. Either way another booking won.
_RACE_SQLSTATES = {"23P01", "40P01"}
_RACE_MESSAGE = "Another booking for the same time was made at the same moment. Please try again."

Resource = tuple[str, int]
T = TypeVar("T")


@dataclass
class Claim:
    """What one call wants to hold: filled in before inserting, read again to name a lost race."""

    resources: list[Resource] = field(default_factory=list)
    labels: dict[Resource, str] = field(default_factory=dict)
    periods: list[Period] = field(default_factory=list)
    exclude_appointment: int | None = None

    def hold(self, kind: str, pk: int, label: str) -> None:
        key = (kind, pk)
        if key not in self.labels:
            self.resources.append(key)
            self.labels[key] = label


# --- Clashes --------------------------------------------------------------------------------------
_KIND_ORDER: dict[str, int] = {ResourceKind.THERAPIST: 0, ResourceKind.ROOM: 1, ResourceKind.CLIENT: 2}


def _clash_message(label: str, kind: str, starts_at: dt.datetime, ends_at: dt.datetime) -> str:
    when = period_text(starts_at, ends_at)
    if kind == ResourceKind.ROOM:
        return f"{label} is taken on {when} by another appointment."
    if kind == ResourceKind.THERAPIST:
        return f"{label} already has a session on {when}."
    return f"{label} already has an appointment on {when}."


def find_clash(claim: Claim) -> str | None:
    """The first clash of what `claim` wants with occupancy already written, named plainly; or None.

    Only the resource and the time are named, never the other appointment's case or clients: the person
    booking may not be allowed to see them.
    """
    if not claim.resources or not claim.periods:
        return None
    wanted = Q()
    for kind in ResourceKind.values:
        ids = [pk for k, pk in claim.resources if k == kind]
        if ids:
            wanted |= Q(resource_kind=kind, resource_id__in=ids)
    lo = min(start for start, _ in claim.periods)
    hi = max(end for _, end in claim.periods)
    rows = Occupancy.objects.filter(wanted, starts_at__lt=hi, ends_at__gt=lo)
    if claim.exclude_appointment is not None:
        rows = rows.exclude(appointment_id=claim.exclude_appointment)
    found: list[tuple[dt.datetime, int, str, str, dt.datetime, dt.datetime]] = []
    periods = sorted(claim.periods)
    for kind, pk, starts_at, ends_at in rows.values_list(
        "resource_kind", "resource_id", "starts_at", "ends_at"
    ):
        for start, end in periods:
            if starts_at < end and ends_at > start:
                found.append((start, _KIND_ORDER[kind], kind, claim.labels[(kind, pk)], starts_at, ends_at))
                break
    if not found:
        return None
    _, _, kind, label, starts_at, ends_at = min(found)
    return _clash_message(label, kind, starts_at, ends_at)


def _is_race(exc: Exception) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) in _RACE_SQLSTATES


def guarded(work: Callable[[Claim], T]) -> T:
    """Run `work` in one transaction; a lost race on PostgreSQL becomes a BookingConflict naming the clash."""
    claim = Claim()
    try:
        with transaction.atomic():
            return work(claim)
    except (IntegrityError, OperationalError) as exc:
        if not _is_race(exc):
            raise
        # The transaction (or savepoint) is rolled back; the booking that won is committed and visible.
        raise BookingConflict(find_clash(claim) or _RACE_MESSAGE) from exc


def claim_people(
    claim: Claim, therapists: Iterable[User], room: Room | None, clients: Iterable[Client]
) -> None:
    for therapist in therapists:
        claim.hold(ResourceKind.THERAPIST, therapist.pk, str(therapist))
    if room is not None:
        claim.hold(ResourceKind.ROOM, room.pk, room.name)
    for client in clients:
        claim.hold(ResourceKind.CLIENT, client.pk, client.full_name)


def occupy(claim: Claim, appointments: Sequence[Appointment]) -> None:
    # A fixed order (resource, then time) for every booking keeps two racing blocks from deadlocking.
    rows = sorted(
        (
            Occupancy(
                appointment=appointment,
                resource_kind=kind,
                resource_id=pk,
                starts_at=appointment.starts_at,
                ends_at=appointment.ends_at,
            )
            for appointment in appointments
            for kind, pk in claim.resources
        ),
        key=lambda o: (o.resource_kind, o.resource_id, o.starts_at),
    )
    Occupancy.objects.bulk_create(rows)


def write_appointments(
    claim: Claim,
    *,
    case: Case,
    kind: str,
    mode: str,
    room: Room | None,
    therapists: Sequence[User],
    attendees: Sequence[Client],
    series: AppointmentSeries | None = None,
) -> list[Appointment]:
    """Check the claim against what is held, then write the appointments, who attends and their occupancy."""
    clash = find_clash(claim)
    if clash is not None:
        raise BookingConflict(clash)
    appointments = Appointment.objects.bulk_create(
        Appointment(case=case, kind=kind, mode=mode, starts_at=start, ends_at=end, room=room, series=series)
        for start, end in sorted(claim.periods)
    )
    through = Appointment.therapists.through
    through.objects.bulk_create(
        through(appointment_id=appointment.pk, user_id=therapist.pk)
        for appointment in appointments
        for therapist in therapists
    )
    attending = Appointment.attendees.through
    attending.objects.bulk_create(
        attending(appointment_id=appointment.pk, client_id=client.pk)
        for appointment in appointments
        for client in attendees
    )
    occupy(claim, appointments)
    return appointments
