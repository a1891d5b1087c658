"""Reads for scheduling, always scoped through the permission layer."""

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection

from tandem.access.services import deny, staff_cases_visible_to
from tandem.cases.models import Case, Client
from tandem.lib.time import local_day_bounds
from tandem.scheduling.models import Appointment, AppointmentStatus


def appointment_for(user: Any, appointment_id: Any) -> Appointment:
    """The appointment if its case is visible to this staff user; otherwise 404 (audited)."""
    try:
        pk = int(appointment_id)
    except (TypeError, ValueError):
        raise deny(user, what="appointment", object_id=appointment_id) from None
    appointment = (
        Appointment.objects.filter(pk=pk, case__in=staff_cases_visible_to(user))
        .select_related("case__team", "room")
        .first()
    )
    if appointment is None:
        raise deny(user, what="appointment", object_id=pk)
    return appointment


def overlapping_occupancy() -> list[tuple[int, int]]:
    """Pairs of occupancy row ids that hold one resource over overlapping time: always empty."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.id, b.id FROM scheduling_occupancy a JOIN scheduling_occupancy b"
            " ON a.resource_kind = b.resource_kind AND a.resource_id = b.resource_id AND a.id < b.id"
            " AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at"
        )
        return [(a, b) for a, b in cursor.fetchall()]


def booked_on(day: dt.date) -> int:
    """How many appointments are still booked on a local day (closing it does not cancel them); for the
    director's set-up pages, which check the reader."""
    start, end = local_day_bounds(day)
    return Appointment.objects.between(start, end).filter(status=AppointmentStatus.BOOKED).count()


# --- Who attends (for other apps: billing's 90847/90846, video's who may join, portals, reminders) ------
# These take appointments the caller has already reached through its own scoped read.
def attendees_of(appointment: Appointment) -> list[Client]:
    """Who attends, ordered by id; no query when read from `Appointment.objects.with_attendees()`."""
    return list(appointment.attendees.all())


def appointment_attendees(appointments: Iterable[Appointment]) -> dict[int, list[Client]]:
    """Who attends each of these appointments, in one query however many there are."""
    ids = [a.pk for a in appointments]
    found: dict[int, list[Client]] = {pk: [] for pk in ids}
    through = Appointment.attendees.through
    for row in through.objects.filter(appointment_id__in=ids).select_related("client").order_by("client_id"):
        found[row.appointment_id].append(row.client)
    return found


def is_attendee(appointment: Appointment, client: Client) -> bool:
    return any(c.pk == client.pk for c in attendees_of(appointment))


def future_bookings(
    case: Case, *, now: dt.datetime, clients: Sequence[Client] | None = None
) -> list[Appointment]:
    """The case's appointments still booked to start after `now` (of these clients, if named), in order.
    For a caller that has already reached the case through its access check."""
    rows = Appointment.objects.with_attendees().filter(
        case=case, status=AppointmentStatus.BOOKED, starts_at__gt=now
    )
    if clients is not None:
        rows = rows.filter(attendees__in=clients).distinct()
    return list(rows.order_by("starts_at", "pk"))
