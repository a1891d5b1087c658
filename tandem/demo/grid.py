"""The half-hour slot grid the seed books into, so the generated calendar never double-books anyone."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from tandem.demo.data import FULL_DAY, GRID_START, SLOT, SLOTS
from tandem.scheduling.models import (
    INDIVIDUAL_KINDS,
    Appointment,
    AppointmentStatus,
    Occupancy,
    ResourceKind,
)


def bits(start: int, length: int) -> int:
    return ((1 << length) - 1) << start


def slots_for(minutes: int) -> int:
    return math.ceil(minutes / SLOT)


@dataclass(frozen=True)
class Shift:
    start: int  # first slot
    end: int  # slot after the last
    location_id: int


class Calendar:
    """Half-hour occupancy per person and per room per day, as bit masks."""

    def __init__(
        self,
        shifts: dict[int, dict[int, Shift]],
        rooms: dict[int, list[int]],
        closed: frozenset[dt.date] = frozenset(),
    ) -> None:
        self.shifts = shifts
        self.rooms = rooms
        self.closed = closed
        self._people: dict[tuple[int, dt.date], int] = {}
        self._rooms: dict[tuple[int, dt.date], int] = {}
        self._orders: dict[tuple[int, int], list[int]] = {}

    def shift(self, user_id: int, day: dt.date) -> Shift | None:
        # Nobody works on a day the practice is closed (a public holiday).
        if day in self.closed:
            return None
        return self.shifts.get(user_id, {}).get(day.weekday())

    def _person(self, user_id: int, day: dt.date) -> int:
        key = (user_id, day)
        mask = self._people.get(key)
        if mask is None:
            shift = self.shift(user_id, day)
            # Slots outside working hours start out taken.
            mask = FULL_DAY if shift is None else FULL_DAY & ~bits(shift.start, shift.end - shift.start)
            self._people[key] = mask
        return mask

    def occupy(
        self, user_ids: Sequence[int], room_id: int | None, day: dt.date, start: int, length: int
    ) -> None:
        end = min(start + length, SLOTS)
        start = max(start, 0)
        length = end - start
        if length <= 0:
            return
        block = bits(start, length)
        for user_id in user_ids:
            self._people[(user_id, day)] = self._person(user_id, day) | block
        if room_id is not None:
            self._rooms[(room_id, day)] = self._rooms.get((room_id, day), 0) | block

    def _order(self, preferred: int, length: int) -> list[int]:
        key = (preferred, length)
        order = self._orders.get(key)
        if order is None:
            order = sorted(range(SLOTS - length + 1), key=lambda s: (abs(s - preferred), s))
            self._orders[key] = order
        return order

    def place(
        self, user_ids: Sequence[int], day: dt.date, length: int, preferred: int, want_room: bool
    ) -> tuple[int, int | None] | None:
        """Book the free start nearest `preferred` for everyone, with a room when one is free.

        Returns (start slot, room id or None), or None when the people have no common free time that day.
        """
        busy = 0
        for user_id in user_ids:
            busy |= self._person(user_id, day)
        shift = self.shift(user_ids[0], day)
        rooms = self.rooms.get(shift.location_id, []) if want_room and shift is not None else []
        fallback: int | None = None
        for start in self._order(preferred, length):
            block = bits(start, length)
            if busy & block:
                continue
            if not want_room:
                self.occupy(user_ids, None, day, start, length)
                return start, None
            for room_id in rooms:
                if not self._rooms.get((room_id, day), 0) & block:
                    self.occupy(user_ids, room_id, day, start, length)
                    return start, room_id
            if fallback is None:
                fallback = start
        if fallback is None:
            return None
        # Every room is taken whenever these people are free: the session goes to video instead.
        self.occupy(user_ids, None, day, fallback, length)
        return fallback, None


def slot_time(day: dt.date, slot: int, zone: ZoneInfo) -> dt.datetime:
    minutes = GRID_START + slot * SLOT
    return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=zone)


def slot_of(moment: dt.datetime, zone: ZoneInfo) -> int:
    local = moment.astimezone(zone)
    return (local.hour * 60 + local.minute - GRID_START) // SLOT


def slots_between(starts: dt.datetime, ends: dt.datetime) -> int:
    # +1 covers a session that starts off the half-hour grid (booked by hand in the app).
    return math.ceil((ends - starts).total_seconds() / 60 / SLOT) + 1


def attending(kind: str, partners: Sequence[int | None], nth: int) -> list[int]:
    """Who attends, as the booking services would have it: both partners of a joint kind; for a couple's
    `nth` individual session of a kind, partner A, then B, then A... (the individual case's one client)."""
    present = [pk for pk in partners if pk is not None]
    if kind in INDIVIDUAL_KINDS and len(present) == 2:
        return [present[nth % 2]]
    return present


def occupancies(
    appointment: Appointment, clinicians: Sequence[int], partners: Sequence[int | None]
) -> list[Occupancy]:
    """The occupancy rows the booking services would write for these attendees (none for a cancelled
    appointment)."""
    if appointment.status == AppointmentStatus.CANCELLED:
        return []
    held = [(ResourceKind.THERAPIST, pk) for pk in clinicians]
    held += [(ResourceKind.CLIENT, pk) for pk in partners if pk is not None]
    if appointment.room_id is not None:
        held.append((ResourceKind.ROOM, appointment.room_id))
    return [
        Occupancy(
            appointment=appointment,
            resource_kind=kind,
            resource_id=pk,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
        )
        for kind, pk in held
    ]
