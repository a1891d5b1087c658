"""Reading an intensive-planning instance and precomputing what every planner needs.

Pure Python, no Django: the same code serves the management command, the benchmark and, later, an
adapter that builds the instance from the database. The format is in ``docs/intensive-planning.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
TEAM_RULES = ("mixed_gender", "pair", "single")
T = TypeVar("T")


class InstanceError(ValueError):
    """The instance cannot be planned because it is malformed; the message says where."""


@dataclass
class Therapist:
    id: str
    gender: str
    cap: int
    # free[s][i]: the therapist can give a session at slot s on clinic day i.
    free: list[list[bool]] = field(default_factory=list)
    # block[s][d]: free at slot s on every clinic day of a block starting on clinic day d.
    block: list[list[bool]] = field(default_factory=list)


@dataclass
class Room:
    id: str
    accessible: bool
    block: list[list[bool]] = field(default_factory=list)


@dataclass
class Couple:
    id: str
    weight: int
    earliest: date
    excluded: frozenset[str]
    needs_accessible: bool
    # Clinic-day indexes on which a block may start as far as the couple's own dates go.
    starts: list[int] = field(default_factory=list)


@dataclass
class Candidate:
    """A start day and slot for one couple, with who and what could serve the whole block there."""

    day: int
    slot: int
    # One list per team role: for mixed_gender [females, males]; for pair/single [everyone].
    pools: list[list[int]]
    rooms: list[int]
    wait: int


@dataclass
class Problem:
    tz: ZoneInfo
    days: list[date]
    block_days: int
    session: timedelta
    slots: list[time]
    # For each point in time at which some slot starts: the slots that cover it. Sessions at slots in
    # one group overlap; two slots that share no group never do (the cliques of an interval graph).
    slot_groups: list[list[int]]
    team: str
    therapists: list[Therapist]
    rooms: list[Room]
    couples: list[Couple]
    last_day: date

    @property
    def n_starts(self) -> int:
        return max(0, len(self.days) - self.block_days + 1)

    def role_sizes(self) -> list[int]:
        return {"mixed_gender": [1, 1], "pair": [2], "single": [1]}[self.team]

    def role_pools(self) -> list[list[int]]:
        everyone = list(range(len(self.therapists)))
        if self.team == "mixed_gender":
            return [
                [k for k, t in enumerate(self.therapists) if t.gender == "female"],
                [k for k, t in enumerate(self.therapists) if t.gender == "male"],
            ]
        return [everyone]

    def candidates(self, c: Couple) -> list[Candidate]:
        pools = self.role_pools()
        sizes = self.role_sizes()
        excluded = {k for k, t in enumerate(self.therapists) if t.id in c.excluded}
        usable_rooms = [k for k, r in enumerate(self.rooms) if r.accessible or not c.needs_accessible]
        out = []
        for d in c.starts:
            wait = (self.days[d] - c.earliest).days
            for s in range(len(self.slots)):
                rooms = [k for k in usable_rooms if self.rooms[k].block[s][d]]
                if not rooms:
                    continue
                avail = [
                    [k for k in pool if k not in excluded and self.therapists[k].block[s][d]]
                    for pool in pools
                ]
                if all(len(a) >= n for a, n in zip(avail, sizes, strict=True)):
                    out.append(Candidate(d, s, avail, rooms, wait))
        return out

    def session_times(self, day: int, slot: int) -> tuple[datetime, datetime]:
        """Aware start and end; zoneinfo gives each date the UTC offset in force then (DST-correct)."""
        start = datetime.combine(self.days[day], self.slots[slot], tzinfo=self.tz)
        return start, start + self.session


def _date(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InstanceError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def _datetime(value: Any, where: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InstanceError(f"{where}: {value!r} is not a local date-time (YYYY-MM-DDTHH:MM)") from None
    return dt.replace(tzinfo=None)


def _time(value: Any, where: str) -> time:
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError):
        raise InstanceError(f"{where}: {value!r} is not a time (HH:MM)") from None


def _get(obj: Any, key: str, where: str) -> Any:
    if not isinstance(obj, dict):
        raise InstanceError(f"{where}: expected an object, got {type(obj).__name__}")
    if key not in obj:
        raise InstanceError(f"{where}: missing key {key!r}")
    return obj[key]


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InstanceError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _date_ranges(value: Any, where: str) -> list[tuple[date, date]]:
    out = []
    for k, pair in enumerate(_list(value, where)):
        if not isinstance(pair, list) or len(pair) != 2:
            raise InstanceError(f"{where}[{k}]: expected [first, last]")
        out.append((_date(pair[0], f"{where}[{k}]"), _date(pair[1], f"{where}[{k}]")))
    return out


def _busy(value: Any, where: str) -> dict[date, list[tuple[datetime, datetime]]]:
    by_date: dict[date, list[tuple[datetime, datetime]]] = {}
    for k, pair in enumerate(_list(value, where)):
        if not isinstance(pair, list) or len(pair) != 2:
            raise InstanceError(f"{where}[{k}]: expected [start, end]")
        a, z = _datetime(pair[0], f"{where}[{k}]"), _datetime(pair[1], f"{where}[{k}]")
        d = a.date()
        # Index by every date the interval touches so that a lookup by session date finds it.
        while d <= z.date():
            by_date.setdefault(d, []).append((a, z))
            d += timedelta(days=1)
    return by_date


def _in_ranges(d: date, ranges: list[tuple[date, date]]) -> bool:
    return any(a <= d <= z for a, z in ranges)


def _blocks(free: list[list[bool]], n_starts: int, length: int) -> list[list[bool]]:
    """block[s][d] is true when free[s][d .. d+length-1] all are (a sliding window count)."""
    out = []
    for row in free:
        prefix = [0]
        for ok in row:
            prefix.append(prefix[-1] + (0 if ok else 1))
        out.append([prefix[d + length] - prefix[d] == 0 for d in range(n_starts)])
    return out


@dataclass(frozen=True)
class _Calendar:
    """The clinic days of the horizon and the session slots on each, shared by every resource's parse."""

    days: list[date]
    slots: list[time]
    session: timedelta
    block_days: int
    # day_sessions[i][s]: the (naive local) start and end of slot s on clinic day i.
    day_sessions: list[list[tuple[datetime, datetime]]]

    @property
    def n_starts(self) -> int:
        return max(0, len(self.days) - self.block_days + 1)

    def blocks(self, free: list[list[bool]]) -> list[list[bool]]:
        return _blocks(free, self.n_starts, self.block_days)


def parse(instance: Any) -> Problem:
    """Validate an instance dict and precompute availability; raise InstanceError when malformed."""
    if not isinstance(instance, dict):
        raise InstanceError("the instance must be a JSON object")
    tz_name = _get(instance, "timezone", "instance")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InstanceError(f"timezone: {tz_name!r} is not an IANA time zone") from None
    horizon = _get(instance, "horizon", "instance")
    first = _date(_get(horizon, "first_day", "horizon"), "horizon.first_day")
    last = _date(_get(horizon, "last_day", "horizon"), "horizon.last_day")
    if last < first:
        raise InstanceError(f"horizon: last_day {last} is before first_day {first}")
    cal, team = _parse_policy(_get(instance, "policy", "instance"), first, last)
    anchor = date(2000, 1, 3)
    spans = [(datetime.combine(anchor, s), datetime.combine(anchor, s) + cal.session) for s in cal.slots]
    groups = []
    for p, _ in spans:
        group = [k for k, (a, z) in enumerate(spans) if a <= p < z]
        if group not in groups:
            groups.append(group)
    therapists = _each_unique(
        _get(instance, "therapists", "instance"),
        "therapists",
        "therapist",
        lambda raw, where: _parse_therapist(raw, where, cal),
    )
    rooms = _each_unique(
        _get(instance, "rooms", "instance"), "rooms", "room", lambda raw, where: _parse_room(raw, where, cal)
    )
    couples = _each_unique(
        _get(instance, "couples", "instance"),
        "couples",
        "couple",
        lambda raw, where: _parse_couple(raw, where, cal, first),
    )
    return Problem(
        tz, cal.days, cal.block_days, cal.session, cal.slots, groups, team, therapists, rooms, couples, last
    )


def _parse_policy(pol: Any, first: date, last: date) -> tuple[_Calendar, str]:
    """The policy: the clinic days of the horizon with their session slots, and the team rule."""
    block_days = _get(pol, "block_days", "policy")
    if not isinstance(block_days, int) or block_days < 1:
        raise InstanceError("policy.block_days: must be a positive integer")
    clinic_wd = _list(_get(pol, "clinic_days", "policy"), "policy.clinic_days")
    for wd in clinic_wd:
        if wd not in WEEKDAYS:
            raise InstanceError(f"policy.clinic_days: {wd!r} is not one of {WEEKDAYS}")
    closures = {_date(c, "policy.closures") for c in _list(pol.get("closures", []), "policy.closures")}
    minutes = _get(pol, "session_minutes", "policy")
    if not isinstance(minutes, int) or minutes < 1:
        raise InstanceError("policy.session_minutes: must be a positive integer")
    session = timedelta(minutes=minutes)
    slots = sorted(
        {
            _time(s, "policy.slot_starts")
            for s in _list(_get(pol, "slot_starts", "policy"), "policy.slot_starts")
        }
    )
    team = _get(pol, "team", "policy")
    if team not in TEAM_RULES:
        raise InstanceError(f"policy.team: {team!r} is not one of {list(TEAM_RULES)}")
    days = []
    d = first
    while d <= last:
        if WEEKDAYS[d.weekday()] in clinic_wd and d not in closures:
            days.append(d)
        d += timedelta(days=1)
    day_sessions = [
        [(datetime.combine(day, s), datetime.combine(day, s) + session) for s in slots] for day in days
    ]
    return _Calendar(days, slots, session, block_days, day_sessions), team


def _each_unique(value: Any, where: str, noun: str, parse_one: Callable[[Any, str], T]) -> list[T]:
    """Parse each entry of the list at `where` in turn, refusing an id seen before."""
    out: list[T] = []
    seen: set[str] = set()
    for k, raw in enumerate(_list(value, where)):
        item_id = str(_get(raw, "id", f"{where}[{k}]"))
        if item_id in seen:
            raise InstanceError(f"{where}[{k}]: duplicate {noun} id {item_id!r}")
        seen.add(item_id)
        out.append(parse_one(raw, f"{where}[{k}]"))
    return out


def _parse_hours(hours_raw: Any, where: str) -> dict[str, list[tuple[time, time]]]:
    if not isinstance(hours_raw, dict):
        raise InstanceError(f"{where}.hours: expected an object keyed by weekday")
    hours: dict[str, list[tuple[time, time]]] = {}
    for wd, intervals in hours_raw.items():
        if wd not in WEEKDAYS:
            raise InstanceError(f"{where}.hours: {wd!r} is not a weekday")
        hours[wd] = []
        for j, iv in enumerate(_list(intervals, f"{where}.hours.{wd}")):
            if not isinstance(iv, list) or len(iv) != 2:
                raise InstanceError(f"{where}.hours.{wd}[{j}]: expected [start, end]")
            hours[wd].append((_time(iv[0], f"{where}.hours.{wd}"), _time(iv[1], f"{where}.hours.{wd}")))
    return hours


def _parse_therapist(raw: Any, where: str, cal: _Calendar) -> Therapist:
    tid = str(_get(raw, "id", where))
    gender = _get(raw, "gender", where)
    cap = raw.get("max_sessions_per_day", 2)
    if not isinstance(cap, int) or cap < 0:
        raise InstanceError(f"{where}.max_sessions_per_day: must be a non-negative integer")
    hours = _parse_hours(_get(raw, "hours", where), where)
    time_off = _date_ranges(raw.get("time_off", []), f"{where}.time_off")
    busy = _busy(raw.get("busy", []), f"{where}.busy")
    free = [[False] * len(cal.days) for _ in cal.slots]
    for i, day in enumerate(cal.days):
        if _in_ranges(day, time_off):
            continue
        for s, (a, z) in enumerate(cal.day_sessions[i]):
            works = z.date() == a.date() and any(
                h0 <= a.time() and z.time() <= h1 for h0, h1 in hours.get(WEEKDAYS[day.weekday()], [])
            )
            if works and not any(a < bz and ba < z for ba, bz in busy.get(day, [])):
                free[s][i] = True
    if cap == 0:
        return Therapist(tid, str(gender), cap, free, [[False] * cal.n_starts for _ in cal.slots])
    return Therapist(tid, str(gender), cap, free, cal.blocks(free))


def _parse_room(raw: Any, where: str, cal: _Calendar) -> Room:
    busy = _busy(raw.get("busy", []), f"{where}.busy")
    free = [[True] * len(cal.days) for _ in cal.slots]
    for i, day in enumerate(cal.days):
        for s, (a, z) in enumerate(cal.day_sessions[i]):
            free[s][i] = not any(a < bz and ba < z for ba, bz in busy.get(day, []))
    return Room(str(_get(raw, "id", where)), bool(raw.get("accessible", False)), cal.blocks(free))


def _parse_couple(raw: Any, where: str, cal: _Calendar, first: date) -> Couple:
    weight = raw.get("weight", 1)
    if not isinstance(weight, int) or isinstance(weight, bool) or weight < 1:
        raise InstanceError(f"{where}.weight: must be a positive integer")
    earliest = _date(raw.get("earliest_start", str(first)), f"{where}.earliest_start")
    unavailable = _date_ranges(raw.get("unavailable", []), f"{where}.unavailable")
    excluded = frozenset(str(t) for t in _list(raw.get("excluded_therapists", []), f"{where}.excluded"))
    blocked = [1 if _in_ranges(day, unavailable) else 0 for day in cal.days]
    prefix = [0]
    for b in blocked:
        prefix.append(prefix[-1] + b)
    starts = [
        d
        for d in range(cal.n_starts)
        if cal.days[d] >= earliest and prefix[d + cal.block_days] - prefix[d] == 0
    ]
    return Couple(
        str(_get(raw, "id", where)),
        weight,
        earliest,
        excluded,
        bool(raw.get("needs_accessible_room", False)),
        starts,
    )


TEAM_WORDS = {"mixed_gender": "mixed-gender team", "pair": "pair of therapists", "single": "therapist"}


def no_candidate_reason(p: Problem, c: Couple) -> str:
    """Why a couple has no feasible block at all, naming the first rule that rules every block out."""
    b = p.block_days
    if p.n_starts == 0:
        return f"the horizon has {len(p.days)} clinic days, fewer than the {b} a block needs"
    if not c.starts:
        if not any(p.days[d] >= c.earliest for d in range(p.n_starts)):
            return f"no {b} consecutive clinic days between earliest_start {c.earliest} and {p.last_day}"
        return (
            f"its unavailable dates leave no {b} consecutive clinic days between earliest_start "
            f"{c.earliest} and {p.last_day}"
        )
    if c.needs_accessible and not any(r.accessible for r in p.rooms):
        return "needs an accessible room, but no room is accessible"
    if not p.rooms:
        return "there are no rooms"
    sizes = p.role_sizes()
    names = ["female therapist", "male therapist"] if p.team == "mixed_gender" else ["therapists"]
    for pool, n, name in zip(p.role_pools(), sizes, names, strict=True):
        allowed = [k for k in pool if p.therapists[k].id not in c.excluded]
        if len(allowed) < n:
            what = "excluded therapists leave" if len(allowed) < len(pool) else "there is"
            return (
                f"{what} no {name} for the {TEAM_WORDS[p.team]}"
                if n == 1
                else f"{what} fewer than {n} {name}"
            )
    excluded = {k for k, t in enumerate(p.therapists) if t.id in c.excluded}
    team_ok = False
    for d in c.starts:
        for s in range(len(p.slots)):
            if all(
                sum(1 for k in pool if k not in excluded and p.therapists[k].block[s][d]) >= n
                for pool, n in zip(p.role_pools(), sizes, strict=True)
            ):
                team_ok = True
                break
        if team_ok:
            break
    span = f"{b} consecutive clinic days between {p.days[c.starts[0]]} and {p.last_day}"
    if not team_ok:
        return f"no {TEAM_WORDS[p.team]} free at the same slot time for {b} consecutive clinic days ({span})"
    kind = "accessible room" if c.needs_accessible else "room"
    return f"no {kind} free at the same slot time as a free {TEAM_WORDS[p.team]} for {span}"


def block_json(p: Problem, c: Couple, day: int, slot: int, team: list[int], room: int) -> dict[str, Any]:
    sessions = []
    for i in range(day, day + p.block_days):
        start, end = p.session_times(i, slot)
        sessions.append({"start": start.isoformat(), "end": end.isoformat()})
    return {
        "couple": c.id,
        "therapists": [p.therapists[k].id for k in team],
        "room": p.rooms[room].id,
        "sessions": sessions,
    }
