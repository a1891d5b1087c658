"""Availability search: which times could be booked, read in a few queries and searched in memory.

Nothing here writes or reserves anything. Every option offered is booked through scheduling.services,
which checks every rule again inside the booking transaction, so an option someone took meanwhile is
refused there with the clash named.

Busy time is kept per resource as sorted, merged half-open intervals of instants; working hours are
wall-clock blocks on the practice's local day, turned into instants per day (DST-correct).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connection
from django.db.models import BigIntegerField, Func, Q
from django.db.models.expressions import Combinable
from django.utils import timezone

from tandem.accounts.models import CLINICAL_ROLES, CoTherapyTeam, User, WorkingHours
from tandem.cases.models import Case, Client
from tandem.lib.time import local_day_bounds, practice_zone
from tandem.practice.models import PracticePolicy, Room
from tandem.scheduling.errors import BookingInvalid
from tandem.scheduling.models import (
    LONGEST_APPOINTMENT,
    AppointmentKind,
    AppointmentType,
    Mode,
    Occupancy,
    ResourceKind,
    TimeOff,
    earliest_start,
)
from tandem.scheduling.rules import (
    CONSULTATION_NOTICE,
    Blocks,
    check_attendees,
    closures_between,
    default_minutes,
    is_clinic_day,
    local_start,
    series_dates,
    team_rule_problem,
    working_blocks,
)

Interval = tuple[dt.datetime, dt.datetime]
# Epoch seconds, start and end, of a busy period.
Seconds = tuple[int, int]
# Days of busy time read per query in the intensive search.
CHUNK_DAYS = 42
R = TypeVar("R")


class Busy:
    """Sorted, merged busy intervals of one resource; `free(start, end)` by binary search."""

    __slots__ = ("ends", "starts")

    def __init__(self, intervals: Iterable[Interval] = ()) -> None:
        merged: list[list[dt.datetime]] = []
        for start, end in sorted(intervals):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.starts = [m[0] for m in merged]
        self.ends = [m[1] for m in merged]

    def free(self, start: dt.datetime, end: dt.datetime) -> bool:
        # The last interval starting before `end` is the only one that can overlap [start, end).
        i = bisect.bisect_left(self.starts, end) - 1
        return i < 0 or self.ends[i] <= start


_NOBODY_BUSY = Busy()


def _display_name(user: User) -> str:
    if user.first_name and user.last_name:
        return f"{user.first_name} {user.last_name[0]}."
    return user.get_full_name() or user.get_username()


def _days(first_day: dt.date, count: int) -> list[dt.date]:
    return [first_day + dt.timedelta(days=i) for i in range(count)]


def _busy(
    window: Interval,
    *,
    therapists: Sequence[int] = (),
    rooms: Sequence[int] = (),
    clients: Sequence[int] = (),
) -> dict[tuple[str, int], Busy]:
    """Busy intervals in `window` per resource: occupancy for everyone, plus time off for therapists."""
    wanted = Q(pk__in=[])
    kind: str
    for kind, ids in (
        (ResourceKind.THERAPIST, therapists),
        (ResourceKind.ROOM, rooms),
        (ResourceKind.CLIENT, clients),
    ):
        if ids:
            wanted |= Q(resource_kind=kind, resource_id__in=list(ids))
    start, end = window
    intervals: dict[tuple[str, int], list[Interval]] = defaultdict(list)
    for kind, pk, starts_at, ends_at in (
        Occupancy.objects.filter(wanted, starts_at__lt=end, ends_at__gt=start)
        .values_list("resource_kind", "resource_id", "starts_at", "ends_at")
        .iterator(chunk_size=5000)
    ):
        intervals[(kind, pk)].append((starts_at, ends_at))
    if therapists:
        for pk, starts_at, ends_at in TimeOff.objects.filter(
            therapist_id__in=list(therapists), starts_at__lt=end, ends_at__gt=start
        ).values_list("therapist_id", "starts_at", "ends_at"):
            intervals[(ResourceKind.THERAPIST, pk)].append((starts_at, ends_at))
    return {key: Busy(value) for key, value in intervals.items()}


def _instant(day: dt.date, at: dt.time) -> dt.datetime | None:
    try:
        return local_start(day, at)
    except BookingInvalid:  # a wall-clock time the clocks skip
        return None


def _ends_by(end: dt.datetime, day: dt.date, finish: dt.time) -> bool:
    local = end.astimezone(practice_zone())
    return local.date() == day and local.time() <= finish


# --- Free consultation ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ConsultationSlot:
    starts_at: dt.datetime
    ends_at: dt.datetime
    therapist_id: int
    therapist_name: str
    modes: tuple[str, ...]


def consultation_slots(*, first_day: dt.date, days: int, mode: str | None = None) -> list[ConsultationSlot]:
    """Open free-consultation slots on `days` local days from `first_day`, earliest first.

    A slot is the consultation's default length, starts a whole number of slot lengths after the start
    of a working block of a therapist who offers consultations, lies within that block, is not on a
    closure, in the therapist's time off or against any booking, and leaves CONSULTATION_NOTICE.
    consultation_book accepts exactly these slots.
    """
    kind_type = AppointmentType.for_kind(AppointmentKind.CONSULTATION)
    remote = tuple(m for m in kind_type.modes if m in (Mode.PHONE, Mode.VIDEO))
    modes = remote if mode is None else tuple(m for m in remote if m == mode)
    if not modes or days < 1:
        return []
    minutes = default_minutes(AppointmentKind.CONSULTATION)
    length = dt.timedelta(minutes=minutes)
    therapists = {
        user.pk: user
        for user in User.objects.filter(
            is_active=True, role__in=CLINICAL_ROLES, therapist_profile__offers_consultation=True
        )
    }
    if not therapists:
        return []
    dates = _days(first_day, days)
    window = (local_day_bounds(dates[0])[0], local_day_bounds(dates[-1])[1])
    closed = set(closures_between(dates[0], dates[-1]))
    blocks = working_blocks(list(therapists))
    busy = _busy(window, therapists=list(therapists))
    earliest = timezone.now() + CONSULTATION_NOTICE
    slots: list[ConsultationSlot] = []
    for day in dates:
        if day in closed:
            continue
        for pk, user in therapists.items():
            taken = busy.get((ResourceKind.THERAPIST, pk), _NOBODY_BUSY)
            for begin, finish, _ in blocks.get((pk, day.weekday()), []):
                wall = dt.datetime.combine(day, begin)
                while True:
                    if wall.date() != day:
                        break
                    start = _instant(day, wall.time())
                    if start is None:
                        wall += length
                        continue
                    end = start + length
                    if not _ends_by(end, day, finish):
                        break
                    if start >= earliest and taken.free(start, end):
                        slots.append(ConsultationSlot(start, end, pk, _display_name(user), modes))
                    wall += length
    slots.sort(key=lambda slot: (slot.starts_at, slot.therapist_id))
    return slots


# --- Day grids and busy time: both searches ------------------------------------------------------
class _DayGrid:
    """Candidate start times on one local day, every `step` minutes of wall-clock time from midnight.

    Bit k of a mask stands for the start at k * step minutes; it is set when a period of `length`
    starting then is possible. Wall-clock times the clocks skip are never possible. Instants are whole
    seconds since the epoch: comparing ints is much cheaper than comparing aware datetimes.
    """

    __slots__ = ("day", "ends_wall", "length", "positions", "prefix", "secs", "valid", "walls")

    def __init__(self, day: dt.date, step: int, length: dt.timedelta) -> None:
        zone = practice_zone()
        self.day = day
        self.length = int(length.total_seconds())
        self.positions: list[int] = []
        self.secs: list[int] = []
        ends_wall: list[int] = []
        midnight, next_midnight = local_day_bounds(day)
        # Most days keep one UTC offset: then each start is plain arithmetic from midnight, which is
        # much cheaper than asking the zone; only the two clock-change days take the careful path.
        regular = midnight.utcoffset() == next_midnight.utcoffset()
        base = int(midnight.timestamp())
        for k in range(24 * 60 // step):
            minutes = k * step
            if regular:
                wall_end = minutes + self.length // 60
                self.positions.append(k)
                self.secs.append(base + minutes * 60)
                ends_wall.append(wall_end if wall_end <= 24 * 60 else 24 * 60 + 1)
                continue
            start = _instant(day, dt.time(minutes // 60, minutes % 60))
            if start is None:
                continue
            end = (start + length).astimezone(zone)
            self.positions.append(k)
            self.secs.append(int(start.timestamp()))
            # Minutes after local midnight at which the period ends; past midnight never fits a block.
            ends_wall.append(end.hour * 60 + end.minute if end.date() == day else 24 * 60 + 1)
        self.walls = tuple(k * step for k in self.positions)
        self.ends_wall = tuple(ends_wall)
        self.prefix = [0]
        for k in self.positions:
            self.prefix.append(self.prefix[-1] | (1 << k))
        self.valid = self.prefix[-1]

    def overlapping(self, start: int, end: int) -> int:
        """Bits of the starts whose period would overlap [start, end) (epoch seconds)."""
        lo = bisect.bisect_right(self.secs, start - self.length)
        hi = bisect.bisect_left(self.secs, end)
        return self.prefix[hi] ^ self.prefix[lo] if hi > lo else 0

    def from_instant(self, earliest: int) -> int:
        lo = bisect.bisect_left(self.secs, earliest)
        return self.valid ^ self.prefix[lo]

    def within(self, begin: dt.time, finish: dt.time) -> int:
        b, e = begin.hour * 60 + begin.minute, finish.hour * 60 + finish.minute
        bits = 0
        for k, wall, end in zip(self.positions, self.walls, self.ends_wall, strict=True):
            if wall >= b and end <= e:
                bits |= 1 << k
        return bits


class _EpochSeconds(Func):
    """A stored instant as whole seconds since the epoch, rounded down, or up with `up=True` (so a
    busy period is never read shorter than it is). Ints cross the driver far cheaper than datetimes."""

    output_field = BigIntegerField()

    def __init__(self, expression: str | Combinable, *, up: bool = False) -> None:
        super().__init__(expression)
        self.up = up
        # PostgreSQL (and the SQL standard): EXTRACT(EPOCH …) gives fractional seconds.
        rounding = "CEIL" if up else "FLOOR"
        self.template = f"{rounding}(EXTRACT(EPOCH FROM %(expressions)s))::bigint"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # SQLite keeps naive UTC text. julianday() is exact to the millisecond (it counts whole
        # milliseconds internally) and about twice as fast as strftime('%s'); integer division of
        # the milliseconds rounds down, adding 999 first rounds up.
        millis = "CAST(ROUND((julianday(%(expressions)s) - 2440587.5) * 86400000) AS INTEGER)"
        template = f"(({millis} + 999) / 1000)" if self.up else f"({millis} / 1000)"
        return super().as_sql(compiler, connection, template=template, **extra)


def _seconds(value: dt.datetime, *, up: bool = False) -> int:
    stamp = value.timestamp()
    whole = int(stamp // 1)
    return whole + 1 if up and stamp > whole else whole


def _busy_by_day(
    first: dt.date,
    last: dt.date,
    length: dt.timedelta,
    *,
    therapists: Sequence[int],
    rooms: Sequence[int],
    clients: Sequence[int],
) -> dict[tuple[str, int, dt.date], list[Seconds]]:
    """Busy intervals (epoch seconds) per (resource kind, id, local day from `first` to `last` whose
    starts they block)."""
    days = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
    # Local midnights as epoch seconds: a bisect finds an instant's local day without asking the zone.
    midnights = [int(local_day_bounds(day)[0].timestamp()) for day in days]
    start = local_day_bounds(first)[0] - length
    end = local_day_bounds(last)[1] + length
    wanted = Q(pk__in=[])
    kind: str
    for kind, ids in (
        (ResourceKind.THERAPIST, therapists),
        (ResourceKind.ROOM, rooms),
        (ResourceKind.CLIENT, clients),
    ):
        if ids:
            wanted |= Q(resource_kind=kind, resource_id__in=list(ids))
    # No appointment is longer than LONGEST_APPOINTMENT: the lower bound on starts_at lets the
    # (resource, starts_at) index skip the years of history instead of reading them.
    occupied = (
        Occupancy.objects.filter(
            wanted, starts_at__gte=earliest_start(start), starts_at__lt=end, ends_at__gt=start
        )
        .annotate(s=_EpochSeconds("starts_at"), e=_EpochSeconds("ends_at", up=True))
        .values_list("resource_kind", "resource_id", "s", "e")
    )
    # Thousands of rows: read them raw (the SQL is the ORM's own), skipping per-value converters.
    sql, params = occupied.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[str, int, int, int]] = cursor.fetchall()
    if therapists:
        rows.extend(
            (ResourceKind.THERAPIST, pk, _seconds(s), _seconds(e, up=True))
            for pk, s, e in TimeOff.objects.filter(
                therapist_id__in=list(therapists), starts_at__lt=end, ends_at__gt=start
            ).values_list("therapist_id", "starts_at", "ends_at")
        )
    span = int(length.total_seconds())
    by_day: dict[tuple[str, int, dt.date], list[Seconds]] = defaultdict(list)
    after, before = bisect.bisect_right, bisect.bisect_left
    for kind, pk, s, e in rows:
        # Every day from the one a start `length` earlier could fall on to the day the interval ends.
        lo = after(midnights, s - span) - 1
        if lo < 0:
            lo = 0
        hi = before(midnights, e, lo)
        if hi == lo + 1:  # the usual case: one day
            by_day[(kind, pk, days[lo])].append((s, e))
            continue
        for index in range(lo, hi):
            by_day[(kind, pk, days[index])].append((s, e))
    return by_day


def _lowest(mask: int) -> int:
    """The position of the lowest set bit: the earliest start a mask allows."""
    return (mask & -mask).bit_length() - 1


class _DayGrids:
    """The busy map of one search and the per-day start grids it is read against.

    Both searches ask a day the same questions: which starts lie inside a therapist's working hours
    (at a location, or anywhere for phone and video) and outside their busy time, which leave a room
    or the clients free. The answers are cached per day, since one day lies in many candidate blocks.
    Busy time is read in growing chunks (`load_through`): the earliest options usually lie near the
    start, so most searches read a small part of the horizon, and a long one needs only a few queries.
    """

    def __init__(
        self,
        *,
        step: int,
        length: dt.timedelta,
        blocks: Blocks,
        first_day: dt.date,
        final_day: dt.date,
        chunk_days: int,
        therapists: Sequence[int],
        rooms: Sequence[int],
        clients: Sequence[int],
    ) -> None:
        self.step, self.length, self.blocks = step, length, blocks
        self.final_day = final_day
        self.therapists, self.rooms, self.clients = list(therapists), list(rooms), list(clients)
        self.busy: dict[tuple[str, int, dt.date], list[Seconds]] = {}
        self._loaded = first_day - dt.timedelta(days=1)
        self._chunk = chunk_days
        self._grids: dict[dt.date, _DayGrid] = {}
        self._within: dict[tuple[tuple[int, ...], dt.time, dt.time], int] = {}
        self._therapist: dict[tuple[int, dt.date, int | None], int] = {}
        self._room: dict[tuple[int, dt.date], int] = {}
        self._clients: dict[dt.date, int] = {}
        self._open: dict[tuple[tuple[int, ...], dt.date, int | None], int] = {}

    def load_through(self, last: dt.date) -> None:
        """Make sure busy time is read up to `last` (a chunk at a time, each twice the last)."""
        if last <= self._loaded:
            return
        begin = self._loaded + dt.timedelta(days=1)
        end = min(max(last, begin + dt.timedelta(days=self._chunk - 1)), self.final_day)
        self.busy.update(
            _busy_by_day(
                begin, end, self.length, therapists=self.therapists, rooms=self.rooms, clients=self.clients
            )
        )
        self._loaded, self._chunk = end, self._chunk * 2

    def grid(self, day: dt.date) -> _DayGrid:
        if day not in self._grids:
            self._grids[day] = _DayGrid(day, self.step, self.length)
        return self._grids[day]

    def start_time(self, k: int) -> dt.time:
        wall = k * self.step
        return dt.time(wall // 60, wall % 60)

    def taken(self, kind: str, pk: int, day: dt.date) -> int:
        g = self.grid(day)
        bits = 0
        for start, end in self.busy.get((kind, pk, day), ()):
            bits |= g.overlapping(start, end)
        return bits

    def therapist_free(self, pk: int, day: dt.date, location: int | None) -> int:
        """Starts in the therapist's hours (at `location`, or anywhere if None), outside their busy time."""
        key = (pk, day, location)
        if key not in self._therapist:
            g = self.grid(day)
            works = 0
            for begin, finish, where in self.blocks.get((pk, day.weekday()), ()):
                if location is None or where == location:
                    # Days with the same offsets share the answer: most days of a search do.
                    wkey = (g.ends_wall, begin, finish)
                    if wkey not in self._within:
                        self._within[wkey] = g.within(begin, finish)
                    works |= self._within[wkey]
            self._therapist[key] = works & ~self.taken(ResourceKind.THERAPIST, pk, day) if works else 0
        return self._therapist[key]

    def room_free(self, pk: int, day: dt.date) -> int:
        key = (pk, day)
        if key not in self._room:
            self._room[key] = self.grid(day).valid & ~self.taken(ResourceKind.ROOM, pk, day)
        return self._room[key]

    def clients_free(self, day: dt.date) -> int:
        if day not in self._clients:
            bits = self.grid(day).valid
            for pk in self.clients:
                bits &= ~self.taken(ResourceKind.CLIENT, pk, day)
            self._clients[day] = bits
        return self._clients[day]

    def open_to(self, members: tuple[int, ...], day: dt.date, location: int | None) -> int:
        """Starts open on `day` to every one of the therapists `members` and to the clients."""
        key = (members, day, location)
        if key not in self._open:
            bits = self.clients_free(day)
            for pk in members:
                if not bits:
                    break
                bits &= self.therapist_free(pk, day, location)
            self._open[key] = bits
        return self._open[key]

    def first_room(
        self, mask: int, dates: Sequence[dt.date], rooms: Sequence[tuple[int, Room]]
    ) -> tuple[int, int, Room] | None:
        """The earliest start in `mask` at which one of `rooms` ((order, room), at one location) is
        free on every one of `dates`: (start bit, room order, room), the lower order winning a tie."""
        best: tuple[int, int, Room] | None = None
        for room_order, room in rooms:
            room_mask = mask
            for date in dates:
                room_mask &= self.room_free(room.pk, date)
                if not room_mask:
                    break
            if room_mask:
                k = _lowest(room_mask)
                if best is None or (k, room_order) < best[:2]:
                    best = (k, room_order, room)
        return best


def _rooms_by_location(rooms: Sequence[Room]) -> dict[int, list[tuple[int, Room]]]:
    """Location id → the rooms there with their place in `rooms` (the tie-break between rooms)."""
    found: dict[int, list[tuple[int, Room]]] = defaultdict(list)
    for order, room in enumerate(rooms):
        found[room.location_id].append((order, room))
    return dict(sorted(found.items()))


def _earlier(found: tuple[int, int, R] | None, best: tuple[int, int, R] | None) -> tuple[int, int, R] | None:
    """The earlier of two (start bit, room order, room) choices; the lower room order breaks a tie."""
    if found is not None and (best is None or found[:2] < best[:2]):
        return found
    return best


def _check_step(step_minutes: int) -> None:
    if 24 * 60 % step_minutes:
        raise BookingInvalid("The step between start times must divide the day.")


# --- Intensive blocks -----------------------------------------------------------------------------
@dataclass(frozen=True)
class IntensiveOption:
    """A block that could be booked: intensive_book(first_day, start_time, team or therapist, room)."""

    first_day: dt.date
    last_day: dt.date
    start_time: dt.time
    starts_at: dt.datetime
    minutes: int
    team: CoTherapyTeam | None
    therapists: tuple[User, ...]
    room: Room

    @property
    def therapist_names(self) -> str:
        return " and ".join(str(t) for t in self.therapists)


def _candidates(
    case: Case, policy: PracticePolicy, team: CoTherapyTeam | None, refused: list[str] | None = None
) -> list[tuple[CoTherapyTeam | None, tuple[User, ...]]]:
    """Who may hold the case's intensive: its own team (or therapist), else every team that keeps the rule.

    Why each one left out may not, in words, is added to `refused` when given (the "nothing fits" text).
    """
    found: list[tuple[CoTherapyTeam | None, tuple[User, ...]]] = []
    if case.team_id is not None and case.team is not None:
        teams: list[CoTherapyTeam] = [case.team]
    elif case.therapist_id is not None and case.therapist is not None:
        teams = []
        found.append((None, (case.therapist,)))
    else:
        teams = list(
            CoTherapyTeam.objects.filter(active=True)
            .select_related("first__therapist_profile", "second__therapist_profile")
            .order_by("pk")
        )
    found.extend((each, each.members) for each in teams)
    usable: list[tuple[CoTherapyTeam | None, tuple[User, ...]]] = []
    for candidate, members in found:
        if team is not None and (candidate is None or candidate.pk != team.pk):
            continue
        problem = _left_out(candidate, members, policy)
        if problem is not None:
            if refused is not None:
                refused.append(problem)
            continue
        usable.append((candidate, members))
    return usable


def _left_out(
    candidate: CoTherapyTeam | None, members: tuple[User, ...], policy: PracticePolicy
) -> str | None:
    if candidate is not None and not candidate.active:
        return f"The case's team, {candidate}, is no longer active: assign another team."
    for member in members:
        if not (member.is_active and member.role in CLINICAL_ROLES):
            return f"{member} is no longer an active therapist: assign someone else to the case."
    return team_rule_problem(list(members), policy)


def intensive_nothing_fits(*, case: Case) -> str:
    """Why the intensive search offers no block, naming the first rule that rules every option out (as
    the planner's explanations do): the team rule and who breaks it, no team at all, no room, no
    working hours. Only when every rule leaves someone is the answer the calendars themselves."""
    policy = PracticePolicy.current()
    refused: list[str] = []
    usable = _candidates(case, policy, None, refused)
    if not usable:
        if refused:
            return " ".join(refused)
        return "There is no active co-therapy team: the director forms teams on the set-up page (Staff)."
    if not Room.objects.filter(active=True).exists():
        return "No room is in use: add a room on the set-up page (Locations and rooms)."
    people = {m.pk for _, members in usable for m in members}
    working = set(
        WorkingHours.objects.filter(therapist__user__in=people).values_list("therapist__user_id", flat=True)
    )
    if not any(all(m.pk in working for m in members) for _, members in usable):
        idle = next(m for _, members in usable for m in members if m.pk not in working)
        return f"{idle} has no working hours: add them on the set-up page (Working hours)."
    return (
        "The team rule, the rooms and the working hours allow a block, but bookings, time off or "
        "closures leave none: check the team's calendars and time off, or start later."
    )


def _block_days(first_day: dt.date, last_start: dt.date, n: int, *, weekdays_only: bool) -> list[dt.date]:
    """Every clinic day a block starting by `last_start` could use: clinic days from `first_day` until
    `n` of them lie past `last_start` (closures and, by policy, weekends skipped, as intensive_book
    skips them), looking no further than the closures read."""
    horizon_end = last_start + dt.timedelta(days=n * 3 + 60)
    closed = set(closures_between(first_day, horizon_end))
    clinic: list[dt.date] = []
    day = first_day
    while (len(clinic) < n or clinic[-n] <= last_start) and day <= horizon_end:
        if is_clinic_day(day, weekdays_only=weekdays_only, closed=closed):
            clinic.append(day)
        day += dt.timedelta(days=1)
    return clinic


class _BlockSearch:
    """The earliest start and room of an n-day block starting on a given clinic day, for one team.

    Per team and location it keeps the first clinic day a block may still start on: a day with nothing
    open to the team rules out every block that contains it, so later starts skip it at once.
    """

    def __init__(
        self, grids: _DayGrids, clinic: list[dt.date], n: int, rooms_at: dict[int, list[tuple[int, Room]]]
    ) -> None:
        self.grids, self.clinic, self.n, self.rooms_at = grids, clinic, n, rooms_at
        self.next_start: dict[tuple[int, int], int] = defaultdict(int)

    def best(self, i: int, order: int, members: tuple[int, ...], future: int) -> tuple[int, int, Room] | None:
        days = self.clinic[i : i + self.n]
        best: tuple[int, int, Room] | None = None
        for location, rooms in self.rooms_at.items():
            if self.next_start[(order, location)] > i:
                continue
            self.grids.load_through(days[-1])
            mask = self._team_mask(i, order, members, location, future)
            if mask:
                best = _earlier(self.grids.first_room(mask, days, rooms), best)
        return best

    def _team_mask(self, i: int, order: int, members: tuple[int, ...], location: int, mask: int) -> int:
        # Last day first: a closed-off day late in the block skips the most blocks at once.
        for index in range(i + self.n - 1, i - 1, -1):
            day_bits = self.grids.open_to(members, self.clinic[index], location)
            if not day_bits:
                self.next_start[(order, location)] = index + 1
                return 0
            mask &= day_bits
            if not mask:
                return 0
        return mask


def intensive_options(
    *,
    case: Case,
    first_day: dt.date,
    daily_minutes: int | None = None,
    horizon_days: int = 183,
    limit: int = 10,
    step_minutes: int = 30,
    team: CoTherapyTeam | None = None,
) -> list[IntensiveOption]:
    """The earliest intensive blocks for the case, at most `limit`: for each first day (within
    `horizon_days` of `first_day`) and each possible team, its earliest start time and room.

    Each option keeps every rule intensive_book checks: all of the policy's clinic days (closures and,
    by policy, weekends skipped) at the same local time, inside both therapists' working hours at the
    room's location, outside their time off, with therapists, room and the case's clients free.
    Queries: policy, rooms, teams, closures and working hours once; then busy time (occupancy and
    leave) per CHUNK_DAYS read, only as far as the search gets, searched in memory as bitsets.
    """
    policy = PracticePolicy.current()
    minutes = policy.intensive_minutes if daily_minutes is None else daily_minutes
    if not 1 <= minutes <= policy.intensive_minutes:
        raise BookingInvalid(f"An intensive day lasts between 1 and {policy.intensive_minutes} minutes.")
    _check_step(step_minutes)
    candidates = _candidates(case, policy, team)
    rooms = [r for r in Room.objects.filter(active=True).select_related("location")]
    if not candidates or not rooms or limit < 1:
        return []
    n = policy.intensive_days
    last_start = first_day + dt.timedelta(days=horizon_days - 1)
    clinic = _block_days(first_day, last_start, n, weekdays_only=policy.intensive_weekdays_only)
    starts = [i for i in range(len(clinic) - n + 1) if clinic[i] <= last_start]
    if not starts:
        return []
    people = sorted({m.pk for _, members in candidates for m in members})
    grids = _DayGrids(
        step=step_minutes,
        length=dt.timedelta(minutes=minutes),
        blocks=working_blocks(people),
        first_day=clinic[0],
        final_day=clinic[starts[-1] + n - 1],
        chunk_days=CHUNK_DAYS,
        therapists=people,
        rooms=[r.pk for r in rooms],
        clients=[c.pk for c in case.partners],
    )
    search = _BlockSearch(grids, clinic, n, _rooms_by_location(rooms))
    earliest = int(timezone.now().timestamp())
    options: list[tuple[int, int, IntensiveOption]] = []
    for i in starts:
        future = grids.grid(clinic[i]).from_instant(earliest)
        if not future:
            continue
        for order, (candidate, members) in enumerate(candidates):
            best = search.best(i, order, tuple(m.pk for m in members), future)
            if best is None:
                continue
            k, _, room = best
            at = grids.start_time(k)
            option = IntensiveOption(
                first_day=clinic[i],
                last_day=clinic[i + n - 1],
                start_time=at,
                starts_at=local_start(clinic[i], at),
                minutes=minutes,
                team=candidate,
                therapists=members,
                room=room,
            )
            options.append((k, order, option))
        if len(options) >= limit:
            break
    options.sort(key=lambda item: (item[2].first_day, item[0], item[1]))
    return [option for _, _, option in options[:limit]]


# --- Weekly series ---------------------------------------------------------------------------------
SERIES_KINDS = (
    AppointmentKind.STANDARD,
    AppointmentKind.CONJUNCTIVE,
    AppointmentKind.FOLLOW_UP_VISIT,
    AppointmentKind.FOLLOW_UP_CALL,
)


@dataclass(frozen=True)
class StandardOption:
    """A weekly series that could be booked: series_book(first_day, start_time, weekdays, until, …)."""

    first_day: dt.date
    until: dt.date
    weekdays: tuple[int, ...]
    start_time: dt.time
    starts_at: dt.datetime
    minutes: int
    sessions: int
    team: CoTherapyTeam | None
    therapists: tuple[User, ...]
    room: Room | None
    mode: str
    kind: str

    @property
    def therapist_names(self) -> str:
        return " and ".join(str(t) for t in self.therapists)

    @property
    def mode_label(self) -> str:
        return str(Mode(self.mode).label)

    @property
    def weekday_names(self) -> str:
        names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
        return " and ".join(names[d] for d in self.weekdays)


def _weekday_sets(weekdays: Sequence[int] | None, per_week: int) -> list[tuple[int, ...]]:
    if per_week not in (1, 2):
        raise BookingInvalid("A weekly series has one or two sessions a week.")
    if weekdays is None:
        return list(itertools.combinations(range(7), per_week))
    chosen = tuple(sorted(set(weekdays)))
    if len(chosen) != per_week or not set(chosen) <= set(range(7)):
        raise BookingInvalid(f"Choose {per_week} different weekday{'s' if per_week > 1 else ''}.")
    return [chosen]


def _series_length(kind: str, mode: str, minutes: int | None) -> int:
    """The session length asked for (the kind's default if None), checked against the kind's settings."""
    if kind not in SERIES_KINDS:
        raise BookingInvalid("Weekly series are for standard, conjunctive and follow-up sessions.")
    if mode not in Mode.values:
        raise BookingInvalid(f"Unknown mode {mode!r}: use in_person, phone or video.")
    kind_type = AppointmentType.for_kind(kind)
    if mode not in kind_type.modes:
        raise BookingInvalid(
            f"A {kind_type.get_kind_display().lower()} is not held {Mode(mode).label.lower()}."
        )
    longest = min(kind_type.max_minutes, int(LONGEST_APPOINTMENT.total_seconds()) // 60)
    minutes = default_minutes(kind) if minutes is None else minutes
    if not 1 <= minutes <= longest:
        raise BookingInvalid(
            f"A {kind_type.get_kind_display().lower()} lasts between 1 and {longest} minutes."
        )
    return minutes


def _series_fit(
    grids: _DayGrids,
    members: tuple[int, ...],
    future: int,
    dates: Sequence[dt.date],
    rooms_at: dict[int | None, list[tuple[int, Room]] | None],
) -> tuple[int, int, Room | None] | None:
    """The earliest start in `future` open to the therapists and clients on every one of `dates`, and
    (in person) the room, over every location: (start bit, room order, room or None)."""
    best: tuple[int, int, Room | None] | None = None
    for location, rooms in rooms_at.items():
        mask = future
        for date in dates:
            mask &= grids.open_to(members, date, location)
            if not mask:
                break
        if not mask:
            continue
        if rooms is None:  # phone or video: any location, no room
            best = (_lowest(mask), 0, None)
            continue
        best = _earlier(grids.first_room(mask, dates, rooms), best)
    return best


def _series_team(case: Case) -> tuple[User, ...]:
    """The case's own team (or therapist), if all of them may still hold sessions; else nobody."""
    members: tuple[User, ...] = tuple(case.clinicians)
    if not all(m.is_active and m.role in CLINICAL_ROLES for m in members):
        return ()
    return members


def _series_places(mode: str) -> dict[int | None, list[tuple[int, Room]] | None]:
    """Where the sessions may be held: in person, each location with its active rooms (none if there
    are no rooms); by phone or video, anywhere (location None) and in no room."""
    if mode != Mode.IN_PERSON:
        return {None: None}
    rooms = list(Room.objects.filter(active=True).select_related("location"))
    return {location: at for location, at in _rooms_by_location(rooms).items()}


def _series_grids(
    attending: Sequence[Client],
    people: tuple[int, ...],
    rooms_at: dict[int | None, list[tuple[int, Room]] | None],
    horizon: tuple[dt.date, dt.date],
    *,
    minutes: int,
    step: int,
) -> _DayGrids:
    """The day grids of a series search with the busy time of the whole horizon read at once (a series
    spans most of it anyway): the case's therapists, the attending clients, and the rooms in `rooms_at`."""
    first_day, last_day = horizon
    grids = _DayGrids(
        step=step,
        length=dt.timedelta(minutes=minutes),
        blocks=working_blocks(people),
        first_day=first_day,
        final_day=last_day,
        chunk_days=(last_day - first_day).days + 1,
        therapists=people,
        rooms=[room.pk for at in rooms_at.values() for _, room in at or ()],
        clients=[c.pk for c in attending],
    )
    grids.load_through(last_day)
    return grids


def standard_options(
    *,
    case: Case,
    first_day: dt.date,
    weekdays: Sequence[int] | None,
    per_week: int,
    minutes: int | None = None,
    weeks: int = 12,
    limit: int = 10,
    kind: str = AppointmentKind.STANDARD,
    mode: str = Mode.IN_PERSON,
    horizon_days: int = 56,
    step_minutes: int = 30,
    attendees: Sequence[Client] | None = None,
) -> list[StandardOption]:
    """The earliest weekly series for the case, at most `limit`: a first day within `horizon_days` of
    `first_day` on one of the weekdays (all sets of `per_week` weekdays when `weekdays` is None), and
    the earliest local time at which the case's own team (or therapist), a room (in person) and the
    clients are free on every session day of the next `weeks` weeks, closures skipped.

    Each option is what series_book accepts with until=option.until: the same days (series_dates, as
    series_book lists them), inside every therapist's working hours (at the room's location in
    person), outside leave and every booking. Only the attendees' own bookings count: both partners'
    for a joint kind, the one partner's in `attendees` for a conjunctive series (check_attendees).
    Queries: a handful, whatever the horizon.
    """
    minutes = _series_length(kind, mode, minutes)
    attending = check_attendees(case, kind, attendees)
    if not 1 <= weeks <= 52:
        raise BookingInvalid("A weekly series runs for 1 to 52 weeks.")
    _check_step(step_minutes)
    sets = _weekday_sets(weekdays, per_week)
    members = _series_team(case)
    if limit < 1 or horizon_days < 1 or not members:
        return []
    team = case.team if case.team_id is not None else None
    rooms_at = _series_places(mode)
    if not rooms_at:
        return []
    span = dt.timedelta(days=7 * weeks - 1)
    last_first = first_day + dt.timedelta(days=horizon_days - 1)
    last_day = last_first + span
    closed = set(closures_between(first_day, last_day))
    people = tuple(m.pk for m in members)
    grids = _series_grids(
        attending, people, rooms_at, (first_day, last_day), minutes=minutes, step=step_minutes
    )
    earliest = int(timezone.now().timestamp())
    found: list[tuple[dt.date, int, int, int, StandardOption]] = []
    day = first_day
    while day <= last_first and len(found) < limit:
        future = 0 if day in closed else grids.grid(day).from_instant(earliest)
        for set_order, chosen in enumerate(sets):
            if day.weekday() not in chosen or not future:
                continue
            until = day + span
            dates = series_dates(day, until, chosen, closed)
            best = _series_fit(grids, people, future, dates, rooms_at)
            if best is None:
                continue
            k, room_order, room = best
            at = grids.start_time(k)
            option = StandardOption(
                first_day=day,
                until=until,
                weekdays=chosen,
                start_time=at,
                starts_at=local_start(day, at),
                minutes=minutes,
                sessions=len(dates),
                team=team,
                therapists=members,
                room=room,
                mode=mode,
                kind=kind,
            )
            found.append((day, k, set_order, room_order, option))
        day += dt.timedelta(days=1)
    found.sort(key=lambda item: item[:4])
    return [item[4] for item in found[:limit]]
