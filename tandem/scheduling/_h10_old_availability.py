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
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from tandem.accounts.models import CLINICAL_ROLES, CoTherapyTeam, User, WorkingHours
from tandem.cases.models import Case
from tandem.lib.time import local_day_bounds, practice_zone
from tandem.practice.models import PracticeClosure, PracticePolicy, Room
from tandem.scheduling.models import (
    LONGEST_APPOINTMENT,
    AppointmentKind,
    AppointmentType,
    Mode,
    Occupancy,
    ResourceKind,
    TimeOff,
)
from tandem.scheduling.services import (
    CONSULTATION_NOTICE,
    BookingInvalid,
    check_team_rule,
    default_minutes,
    local_start,
)

Interval = tuple[dt.datetime, dt.datetime]
# Days of busy time read per query in the intensive search.
CHUNK_DAYS = 42


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


def _closed(first: dt.date, last: dt.date) -> set[dt.date]:
    return set(PracticeClosure.objects.filter(date__range=(first, last)).values_list("date", flat=True))


def _hours(user_ids: Sequence[int]) -> dict[tuple[int, int], list[tuple[dt.time, dt.time, int]]]:
    """(user id, weekday) → working blocks (local start, local end, location id), earliest first."""
    blocks: dict[tuple[int, int], list[tuple[dt.time, dt.time, int]]] = defaultdict(list)
    rows = WorkingHours.objects.filter(therapist__user_id__in=list(user_ids)).values_list(
        "therapist__user_id", "weekday", "starts", "ends", "location_id"
    )
    for user_id, weekday, starts, ends, location_id in sorted(rows):
        blocks[(user_id, weekday)].append((starts, ends, location_id))
    return blocks


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
    closed = _closed(dates[0], dates[-1])
    blocks = _hours(list(therapists))
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


# --- Intensive blocks -----------------------------------------------------------------------------
class _DayGrid:
    """Candidate start times on one local day, every `step` minutes of wall-clock time from midnight.

    Bit k of a mask stands for the start at k * step minutes; it is set when a period of `length`
    starting then is possible. Wall-clock times the clocks skip are never possible.
    """

    __slots__ = ("day", "ends_wall", "instants", "positions", "prefix", "valid", "walls")

    def __init__(self, day: dt.date, step: int, length: dt.timedelta) -> None:
        zone = practice_zone()
        self.day = day
        self.positions: list[int] = []
        self.instants: list[dt.datetime] = []
        ends_wall: list[int] = []
        midnight, next_midnight = local_day_bounds(day)
        # Most days keep one UTC offset: then each start is plain arithmetic from midnight, which is
        # much cheaper than asking the zone; only the two clock-change days take the careful path.
        regular = midnight.utcoffset() == next_midnight.utcoffset()
        base = midnight.astimezone(dt.UTC)
        for k in range(24 * 60 // step):
            minutes = k * step
            if regular:
                start: dt.datetime | None = base + dt.timedelta(minutes=minutes)
            else:
                start = _instant(day, dt.time(minutes // 60, minutes % 60))
            if start is None:
                continue
            if regular:
                wall_end = minutes + length.total_seconds() // 60
                self.positions.append(k)
                self.instants.append(start)
                ends_wall.append(int(wall_end) if wall_end <= 24 * 60 else 24 * 60 + 1)
                continue
            end = (start + length).astimezone(zone)
            self.positions.append(k)
            self.instants.append(start)
            # Minutes after local midnight at which the period ends; past midnight never fits a block.
            ends_wall.append(end.hour * 60 + end.minute if end.date() == day else 24 * 60 + 1)
        self.walls = tuple(k * step for k in self.positions)
        self.ends_wall = tuple(ends_wall)
        self.prefix = [0]
        for k in self.positions:
            self.prefix.append(self.prefix[-1] | (1 << k))
        self.valid = self.prefix[-1]

    def overlapping(self, start: dt.datetime, end: dt.datetime, length: dt.timedelta) -> int:
        """Bits of the starts whose period would overlap [start, end)."""
        lo = bisect.bisect_right(self.instants, start - length)
        hi = bisect.bisect_left(self.instants, end)
        return self.prefix[hi] ^ self.prefix[lo] if hi > lo else 0

    def from_instant(self, earliest: dt.datetime) -> int:
        lo = bisect.bisect_left(self.instants, earliest)
        return self.valid ^ self.prefix[lo]

    def within(self, begin: dt.time, finish: dt.time) -> int:
        b, e = begin.hour * 60 + begin.minute, finish.hour * 60 + finish.minute
        bits = 0
        for k, wall, end in zip(self.positions, self.walls, self.ends_wall, strict=True):
            if wall >= b and end <= e:
                bits |= 1 << k
        return bits


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
    case: Case, policy: PracticePolicy, team: CoTherapyTeam | None
) -> list[tuple[CoTherapyTeam | None, tuple[User, ...]]]:
    """Who may hold the case's intensive: its own team (or therapist), else every team that keeps the rule."""
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
        if candidate is not None and not candidate.active:
            continue
        if not all(m.is_active and m.role in CLINICAL_ROLES for m in members):
            continue
        try:
            check_team_rule(list(members), policy)
        except BookingInvalid:
            continue
        usable.append((candidate, members))
    return usable


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
    if 24 * 60 % step_minutes:
        raise BookingInvalid("The step between start times must divide the day.")
    length = dt.timedelta(minutes=minutes)
    candidates = _candidates(case, policy, team)
    rooms = [r for r in Room.objects.filter(active=True).select_related("location")]
    if not candidates or not rooms or limit < 1:
        return []
    n = policy.intensive_days
    last_start = first_day + dt.timedelta(days=horizon_days - 1)
    closed = _closed(first_day, last_start + dt.timedelta(days=n * 3 + 60))
    clinic: list[dt.date] = []
    day = first_day
    while len(clinic) < n or clinic[-n] <= last_start:
        if day not in closed and not (policy.intensive_weekdays_only and day.weekday() >= 5):
            clinic.append(day)
        day += dt.timedelta(days=1)
        if day > last_start + dt.timedelta(days=n * 3 + 60):
            break
    starts = [i for i in range(len(clinic) - n + 1) if clinic[i] <= last_start]
    if not starts:
        return []

    people = sorted({m.pk for _, members in candidates for m in members})
    clients = [c.pk for c in case.partners]
    blocks = _hours(people)
    busy_by_day: dict[tuple[str, int, dt.date], list[Interval]] = {}
    loaded_until: list[dt.date] = [clinic[0] - dt.timedelta(days=1)]

    def load_through(last: dt.date) -> None:
        # Busy time is read a few weeks at a time: the earliest options usually lie near the start,
        # so most searches read a small part of the horizon (one query per chunk, never per day).
        if last <= loaded_until[0]:
            return
        begin = loaded_until[0] + dt.timedelta(days=1)
        end = max(last, begin + dt.timedelta(days=CHUNK_DAYS - 1))
        busy_by_day.update(
            _busy_by_day(begin, end, length, therapists=people, rooms=[r.pk for r in rooms], clients=clients)
        )
        loaded_until[0] = end

    grids: dict[dt.date, _DayGrid] = {}
    within_cache: dict[tuple[tuple[int, ...], dt.time, dt.time], int] = {}
    person_cache: dict[tuple[int, dt.date, int], int] = {}
    room_cache: dict[tuple[int, dt.date], int] = {}
    clients_cache: dict[dt.date, int] = {}

    def grid(day: dt.date) -> _DayGrid:
        if day not in grids:
            grids[day] = _DayGrid(day, step_minutes, length)
        return grids[day]

    def taken(kind: str, pk: int, day: dt.date) -> int:
        g = grid(day)
        bits = 0
        for start, end in busy_by_day.get((kind, pk, day), ()):
            bits |= g.overlapping(start, end, length)
        return bits

    def person(pk: int, day: dt.date, location: int) -> int:
        key = (pk, day, location)
        if key not in person_cache:
            g = grid(day)
            works = 0
            for begin, finish, where in blocks.get((pk, day.weekday()), ()):
                if where == location:
                    wkey = (g.ends_wall, begin, finish)
                    if wkey not in within_cache:
                        within_cache[wkey] = g.within(begin, finish)
                    works |= within_cache[wkey]
            person_cache[key] = works & ~taken(ResourceKind.THERAPIST, pk, day)
        return person_cache[key]

    def room_free(pk: int, day: dt.date) -> int:
        key = (pk, day)
        if key not in room_cache:
            room_cache[key] = grid(day).valid & ~taken(ResourceKind.ROOM, pk, day)
        return room_cache[key]

    def clients_free(day: dt.date) -> int:
        if day not in clients_cache:
            bits = grid(day).valid
            for pk in clients:
                bits &= ~taken(ResourceKind.CLIENT, pk, day)
            clients_cache[day] = bits
        return clients_cache[day]

    locations = sorted({r.location_id for r in rooms})
    earliest = timezone.now()
    options: list[tuple[int, int, IntensiveOption]] = []
    for i in starts:
        days = clinic[i : i + n]
        load_through(days[-1])
        future = grid(days[0]).from_instant(earliest)
        for order, (candidate, members) in enumerate(candidates):
            best: tuple[int, int, Room] | None = None
            for location in locations:
                mask = future
                for day in days:
                    mask &= clients_free(day)
                    for member in members:
                        mask &= person(member.pk, day, location)
                    if not mask:
                        break
                if not mask:
                    continue
                for room_order, room in enumerate(rooms):
                    if room.location_id != location:
                        continue
                    room_mask = mask
                    for day in days:
                        room_mask &= room_free(room.pk, day)
                        if not room_mask:
                            break
                    if room_mask:
                        k = (room_mask & -room_mask).bit_length() - 1
                        if best is None or (k, room_order) < best[:2]:
                            best = (k, room_order, room)
            if best is not None:
                k, _, room = best
                wall = k * step_minutes
                at = dt.time(wall // 60, wall % 60)
                option = IntensiveOption(
                    first_day=days[0],
                    last_day=days[-1],
                    start_time=at,
                    starts_at=local_start(days[0], at),
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


def _utc(value: dt.datetime | str) -> dt.datetime:
    """A stored instant as an aware UTC datetime: SQLite's driver hands back naive UTC (or text),
    PostgreSQL aware datetimes."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value if value.tzinfo is dt.UTC else value.astimezone(dt.UTC)


def _busy_by_day(
    first: dt.date,
    last: dt.date,
    length: dt.timedelta,
    *,
    therapists: Sequence[int],
    rooms: Sequence[int],
    clients: Sequence[int],
) -> dict[tuple[str, int, dt.date], list[Interval]]:
    """Busy intervals per (resource kind, id, local day from `first` to `last` whose starts they block)."""
    days = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
    # Local midnights as instants: a bisect finds an instant's local day without asking the zone.
    # In UTC, like the rows: aware datetimes with one tzinfo compare much faster than across zones.
    midnights = [local_day_bounds(day)[0].astimezone(dt.UTC) for day in days]
    start, end = midnights[0] - length, local_day_bounds(last)[1].astimezone(dt.UTC) + length
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
    occupied = Occupancy.objects.filter(
        wanted, starts_at__gte=start - LONGEST_APPOINTMENT, starts_at__lt=end, ends_at__gt=start
    ).values_list("resource_kind", "resource_id", "starts_at", "ends_at")
    # Thousands of rows: read them raw and parse the instants directly, which is several times
    # cheaper than the ORM's per-value converters (the SQL is the ORM's own).
    sql, params = occupied.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[str, int, dt.datetime, dt.datetime]] = [
            (kind, pk, _utc(s), _utc(e)) for kind, pk, s, e in cursor.fetchall()
        ]
    if therapists:
        rows.extend(
            (ResourceKind.THERAPIST, pk, s, e)
            for pk, s, e in TimeOff.objects.filter(
                therapist_id__in=list(therapists), starts_at__lt=end, ends_at__gt=start
            ).values_list("therapist_id", "starts_at", "ends_at")
        )
    by_day: dict[tuple[str, int, dt.date], list[Interval]] = defaultdict(list)
    for kind, pk, s, e in rows:
        # Every day from the one a start `length` earlier could fall on to the day the interval ends.
        lo = max(bisect.bisect_right(midnights, s - length) - 1, 0)
        hi = bisect.bisect_left(midnights, e)
        for index in range(lo, hi):
            by_day[(kind, pk, days[index])].append((s, e))
    return by_day
