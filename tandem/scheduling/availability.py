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
from typing import Any

from django.db import connection
from django.db.models import BigIntegerField, Func, Q
from django.db.models.expressions import Combinable
from django.utils import timezone

from tandem.accounts.models import CLINICAL_ROLES, CoTherapyTeam, User, WorkingHours
from tandem.cases.models import Case
from tandem.lib.time import local_day_bounds, practice_zone
from tandem.practice.models import PracticeClosure, PracticePolicy, Room
from tandem.scheduling.errors import BookingInvalid
from tandem.scheduling.models import (
    LONGEST_APPOINTMENT,
    AppointmentKind,
    AppointmentType,
    Mode,
    Occupancy,
    ResourceKind,
    TimeOff,
)
from tandem.scheduling.rules import CONSULTATION_NOTICE, check_team_rule, default_minutes, local_start

Interval = tuple[dt.datetime, dt.datetime]
# Epoch seconds, start and end, of a busy period.
Seconds = tuple[int, int]
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
    room_ids = [r.pk for r in rooms]
    busy_by_day: dict[tuple[str, int, dt.date], list[Seconds]] = {}
    final_day = clinic[starts[-1] + n - 1]
    loaded: list[dt.date | int] = [clinic[0] - dt.timedelta(days=1), CHUNK_DAYS]

    def load_through(last: dt.date) -> None:
        # Busy time is read in growing chunks: the earliest options usually lie near the start, so
        # most searches read a small part of the horizon, and a long search needs only a few queries.
        until, chunk = loaded
        assert isinstance(until, dt.date) and isinstance(chunk, int)
        if last <= until:
            return
        begin = until + dt.timedelta(days=1)
        end = min(max(last, begin + dt.timedelta(days=chunk - 1)), final_day)
        busy_by_day.update(
            _busy_by_day(begin, end, length, therapists=people, rooms=room_ids, clients=clients)
        )
        loaded[:] = [end, chunk * 2]

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
            bits |= g.overlapping(start, end)
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
            person_cache[key] = works & ~taken(ResourceKind.THERAPIST, pk, day) if works else 0
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

    # Per team and location, the starts open on each clinic day to both therapists and the clients,
    # worked out once per day (not once per block containing it), and the first clinic day a block
    # may still start on: a day with nothing open rules out every block that contains it.
    team_day: dict[tuple[int, int, int], int] = {}
    next_start: dict[tuple[int, int], int] = defaultdict(int)

    def team_free(order: int, members: tuple[User, ...], location: int, index: int) -> int:
        key = (order, location, index)
        if key not in team_day:
            day = clinic[index]
            bits = clients_free(day)
            for member in members:
                if not bits:
                    break
                bits &= person(member.pk, day, location)
            team_day[key] = bits
        return team_day[key]

    locations = sorted({r.location_id for r in rooms})
    rooms_at = {
        location: [(o, r) for o, r in enumerate(rooms) if r.location_id == location] for location in locations
    }
    earliest = int(timezone.now().timestamp())
    options: list[tuple[int, int, IntensiveOption]] = []
    for i in starts:
        days = clinic[i : i + n]
        future = grid(days[0]).from_instant(earliest)
        if not future:
            continue
        for order, (candidate, members) in enumerate(candidates):
            best: tuple[int, int, Room] | None = None
            for location in locations:
                if next_start[(order, location)] > i:
                    continue
                load_through(days[-1])
                mask = future
                # Last day first: a closed-off day late in the block skips the most blocks at once.
                for index in range(i + n - 1, i - 1, -1):
                    day_bits = team_free(order, members, location, index)
                    if not day_bits:
                        next_start[(order, location)] = index + 1
                        mask = 0
                        break
                    mask &= day_bits
                    if not mask:
                        break
                if not mask:
                    continue
                for room_order, room in rooms_at[location]:
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
            wanted, starts_at__gte=start - LONGEST_APPOINTMENT, starts_at__lt=end, ends_at__gt=start
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
) -> list[StandardOption]:
    """The earliest weekly series for the case, at most `limit`: a first day within `horizon_days` of
    `first_day` on one of the weekdays (all sets of `per_week` weekdays when `weekdays` is None), and
    the earliest local time at which the case's own team (or therapist), a room (in person) and the
    clients are free on every session day of the next `weeks` weeks, closures skipped.

    Each option is what series_book accepts with until=option.until: the same days (closures skipped
    as _series_days skips them), inside every therapist's working hours (at the room's location in
    person), outside leave and every booking. Queries: a handful, whatever the horizon.
    """
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
    if not 1 <= weeks <= 52:
        raise BookingInvalid("A weekly series runs for 1 to 52 weeks.")
    if 24 * 60 % step_minutes:
        raise BookingInvalid("The step between start times must divide the day.")
    sets = _weekday_sets(weekdays, per_week)
    members: tuple[User, ...] = tuple(case.clinicians)
    if limit < 1 or horizon_days < 1 or not members:
        return []
    if not all(m.is_active and m.role in CLINICAL_ROLES for m in members):
        return []
    team = case.team if case.team_id is not None else None
    in_person = mode == Mode.IN_PERSON
    rooms = list(Room.objects.filter(active=True).select_related("location")) if in_person else []
    if in_person and not rooms:
        return []
    length = dt.timedelta(minutes=minutes)
    span = dt.timedelta(days=7 * weeks - 1)
    last_first = first_day + dt.timedelta(days=horizon_days - 1)
    last_day = last_first + span
    closed = _closed(first_day, last_day)
    people = [m.pk for m in members]
    clients = [c.pk for c in case.partners]
    blocks = _hours(people)
    busy = _busy_by_day(
        first_day, last_day, length, therapists=people, rooms=[r.pk for r in rooms], clients=clients
    )
    grids: dict[dt.date, _DayGrid] = {}
    day_cache: dict[tuple[dt.date, int | None], int] = {}
    room_cache: dict[tuple[int, dt.date], int] = {}

    def grid(day: dt.date) -> _DayGrid:
        if day not in grids:
            grids[day] = _DayGrid(day, step_minutes, length)
        return grids[day]

    def taken(kind: str, pk: int, day: dt.date) -> int:
        g = grid(day)
        bits = 0
        for start, end in busy.get((kind, pk, day), ()):
            bits |= g.overlapping(start, end)
        return bits

    def open_on(day: dt.date, location: int | None) -> int:
        """Starts open to every therapist (at `location`, or anywhere for phone and video) and the clients."""
        key = (day, location)
        if key not in day_cache:
            g = grid(day)
            bits = g.valid
            for pk in clients:
                bits &= ~taken(ResourceKind.CLIENT, pk, day)
            for pk in people:
                works = 0
                for begin, finish, where in blocks.get((pk, day.weekday()), ()):
                    if location is None or where == location:
                        works |= g.within(begin, finish)
                bits &= works & ~taken(ResourceKind.THERAPIST, pk, day)
            day_cache[key] = bits
        return day_cache[key]

    def room_free(pk: int, day: dt.date) -> int:
        key = (pk, day)
        if key not in room_cache:
            room_cache[key] = grid(day).valid & ~taken(ResourceKind.ROOM, pk, day)
        return room_cache[key]

    locations: list[int | None] = [None]
    if in_person:
        locations = [*sorted({r.location_id for r in rooms})]
    earliest = int(timezone.now().timestamp())
    found: list[tuple[dt.date, int, int, int, StandardOption]] = []
    day = first_day
    while day <= last_first and len(found) < limit:
        if day in closed:
            day += dt.timedelta(days=1)
            continue
        future = grid(day).from_instant(earliest)
        for set_order, chosen in enumerate(sets):
            if day.weekday() not in chosen or not future:
                continue
            until = day + span
            # The session days as series_book's _series_days lists them: chosen weekdays, closures skipped.
            every = (day + dt.timedelta(days=k) for k in range((until - day).days + 1))
            dates = [d for d in every if d.weekday() in chosen and d not in closed]
            best: tuple[int, int, Room | None] | None = None
            for location in locations:
                mask = future
                for date in dates:
                    mask &= open_on(date, location)
                    if not mask:
                        break
                if not mask:
                    continue
                if not in_person:
                    best = ((mask & -mask).bit_length() - 1, 0, None)
                    continue
                for room_order, room in enumerate(rooms):
                    if room.location_id != location:
                        continue
                    room_mask = mask
                    for date in dates:
                        room_mask &= room_free(room.pk, date)
                        if not room_mask:
                            break
                    if room_mask:
                        k = (room_mask & -room_mask).bit_length() - 1
                        if best is None or (k, room_order) < best[:2]:
                            best = (k, room_order, room)
            if best is None:
                continue
            k, room_order, chosen_room = best
            wall = k * step_minutes
            at = dt.time(wall // 60, wall % 60)
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
                room=chosen_room,
                mode=mode,
                kind=kind,
            )
            found.append((day, k, set_order, room_order, option))
        day += dt.timedelta(days=1)
    found.sort(key=lambda item: item[:4])
    return [item[4] for item in found[:limit]]
