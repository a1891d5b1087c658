"""Check an intensive plan against its instance: every rule of ``docs/intensive-planning.md``.

Pure Python, no Django. ``instance.parse`` only validates the instance's shape here; the rules are
checked from the instance as written, independently of how the planner precomputes availability, so
that a mistake there shows up here instead of being repeated.

``check_plan(instance, plan)`` returns the violations (empty when the plan is valid); ``check`` also
returns the plan's figures. Every message starts with its rule's name in brackets, e.g. ``[daily-cap]``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tandem.planning.instance import WEEKDAYS, parse

RULES: dict[str, str] = {
    "plan-shape": "the plan has lists blocks and unscheduled, each item in the documented shape",
    "each-couple-once": "every couple appears exactly once, in blocks or in unscheduled, and no other couple",
    "block-length": "a block has exactly block_days sessions",
    "clinic-days": "every session falls on a clinic day of the horizon",
    "consecutive": "the sessions fall on consecutive clinic days",
    "earliest-start": "the first session is on or after the couple's earliest_start",
    "utc-offset": "every time carries the UTC offset in force in the instance's time zone at that moment",
    "slot-time": "every session of a block starts at the same local time, one of slot_starts",
    "session-length": "every session lasts session_minutes",
    "team": "the therapists are known, distinct and fit policy.team",
    "excluded-therapist": "no therapist of the block is one of the couple's excluded_therapists",
    "room": "the room is known, and accessible when the couple needs an accessible room",
    "working-hours": "every session lies inside one working interval of each therapist for that weekday",
    "time-off": "no session falls on a date of a therapist's time_off",
    "therapist-busy": "no session overlaps one of a therapist's busy intervals",
    "room-busy": "no session overlaps one of the room's busy intervals",
    "couple-unavailable": "no session falls on one of the couple's unavailable dates",
    "double-booking": "no therapist and no room is in two overlapping sessions of the plan",
    "daily-cap": "no therapist has more than max_sessions_per_day sessions on one date",
}


@dataclass(frozen=True)
class Figures:
    couples: int
    scheduled: int
    weight_total: int
    weight_scheduled: int
    # Sum over scheduled couples of weight x days from earliest_start to the first session.
    weighted_wait: int


@dataclass
class Verdict:
    violations: list[str]
    figures: Figures

    @property
    def ok(self) -> bool:
        return not self.violations


Interval = tuple[datetime, datetime]


@dataclass
class _Context:
    """The instance as the rules need it, plus what the plan's blocks take up so far."""

    tz: ZoneInfo
    first_day: date
    clinic_index: dict[date, int]
    block_days: int
    session: timedelta
    slots: set[time]
    team: str
    therapists: dict[str, dict[str, Any]]
    rooms: dict[str, dict[str, Any]]
    couples: dict[str, dict[str, Any]]
    # resource ("therapist t1" / "room r1") -> (aware start, aware end, couple id) of every session
    usage: dict[str, list[tuple[datetime, datetime, str]]] = field(default_factory=dict)
    per_day: Counter[tuple[str, date]] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)

    def broken(self, rule: str, text: str) -> None:
        assert rule in RULES, rule
        self.violations.append(f"[{rule}] {text}")


def _clinic_days(instance: dict[str, Any]) -> list[date]:
    policy = instance["policy"]
    first = date.fromisoformat(instance["horizon"]["first_day"])
    last = date.fromisoformat(instance["horizon"]["last_day"])
    closures = {date.fromisoformat(d) for d in policy.get("closures", [])}
    out, d = [], first
    while d <= last:
        if WEEKDAYS[d.weekday()] in policy["clinic_days"] and d not in closures:
            out.append(d)
        d += timedelta(days=1)
    return out


def _context(instance: dict[str, Any]) -> _Context:
    parse(instance)  # raises InstanceError, with a pointer, when the instance itself is malformed
    policy = instance["policy"]
    return _Context(
        tz=ZoneInfo(instance["timezone"]),
        first_day=date.fromisoformat(instance["horizon"]["first_day"]),
        clinic_index={d: i for i, d in enumerate(_clinic_days(instance))},
        block_days=policy["block_days"],
        session=timedelta(minutes=policy["session_minutes"]),
        slots={time.fromisoformat(s) for s in policy["slot_starts"]},
        team=policy["team"],
        therapists={str(t["id"]): t for t in instance["therapists"]},
        rooms={str(r["id"]): r for r in instance["rooms"]},
        couples={str(c["id"]): c for c in instance["couples"]},
    )


def _in_ranges(day: date, ranges: list[list[str]]) -> bool:
    return any(date.fromisoformat(a) <= day <= date.fromisoformat(z) for a, z in ranges)


def _naive(value: str) -> datetime:
    # As instance.parse reads busy intervals: local wall-clock, any offset written is ignored.
    return datetime.fromisoformat(value).replace(tzinfo=None)


def _overlaps_busy(start: datetime, end: datetime, busy: list[list[str]]) -> list[str]:
    """The busy intervals (local, half-open) that the local session [start, end) overlaps."""
    return [f"{a} to {z}" for a, z in busy if start < _naive(z) and _naive(a) < end]


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _shape_ok(ctx: _Context, plan: Any) -> bool:
    """The plan's structure; the rules below can only be checked on a well-formed plan."""
    if not isinstance(plan, dict):
        ctx.broken("plan-shape", f"the plan must be a JSON object, got {type(plan).__name__}")
        return False
    ok = True
    for key in ("blocks", "unscheduled"):
        if not isinstance(plan.get(key), list):
            ctx.broken("plan-shape", f"the plan needs a list {key!r}")
            ok = False
    if not ok:
        return False
    for k, block in enumerate(plan["blocks"]):
        sessions = block.get("sessions") if isinstance(block, dict) else None
        if not (
            isinstance(block, dict)
            and isinstance(block.get("couple"), str)
            and _is_str_list(block.get("therapists"))
            and isinstance(block.get("room"), str)
            and isinstance(sessions, list)
            and all(isinstance(s, dict) and _is_str_list([s.get("start"), s.get("end")]) for s in sessions)
        ):
            ctx.broken(
                "plan-shape", f"blocks[{k}] must have couple, therapists, room and sessions (start, end)"
            )
            ok = False
    for k, item in enumerate(plan["unscheduled"]):
        if not (isinstance(item, dict) and isinstance(item.get("couple"), str) and item.get("reason")):
            ctx.broken("plan-shape", f"unscheduled[{k}] must have a couple and a non-empty reason")
            ok = False
    return ok


def _each_couple_once(ctx: _Context, plan: dict[str, Any]) -> None:
    seen = Counter(item["couple"] for item in plan["blocks"] + plan["unscheduled"])
    for cid in ctx.couples:
        if seen[cid] != 1:
            ctx.broken("each-couple-once", f"couple {cid} appears {seen[cid]} times in the plan")
    for cid in seen:
        if cid not in ctx.couples:
            ctx.broken("each-couple-once", f"couple {cid!r} is not in the instance")


def _team_and_room(ctx: _Context, tag: str, couple: dict[str, Any], block: dict[str, Any]) -> list[str]:
    """The team and room rules; returns the block's therapists that the instance knows."""
    team: list[str] = block["therapists"]
    known = [t for t in team if t in ctx.therapists]
    if len(known) < len(team):
        ctx.broken("team", f"{tag}: unknown therapist(s) {sorted(set(team) - set(known))}")
    if len(set(team)) < len(team):
        ctx.broken("team", f"{tag}: a therapist is named twice in {team}")
    genders = sorted(str(ctx.therapists[t]["gender"]) for t in known)
    fits = {
        "mixed_gender": len(team) == 2 and genders == ["female", "male"],
        "pair": len(team) == 2,
        "single": len(team) == 1,
    }[ctx.team]
    if not fits:
        ctx.broken("team", f"{tag}: therapists {team} do not fit the team rule {ctx.team!r}")
    excluded = sorted({str(t) for t in couple.get("excluded_therapists", [])} & set(team))
    if excluded:
        ctx.broken("excluded-therapist", f"{tag}: the couple excludes {excluded}")
    room = ctx.rooms.get(block["room"])
    if room is None:
        ctx.broken("room", f"{tag}: unknown room {block['room']!r}")
    elif couple.get("needs_accessible_room", False) and not room.get("accessible", False):
        ctx.broken("room", f"{tag}: room {block['room']} is not accessible, and the couple needs one")
    return known


def _read_sessions(ctx: _Context, tag: str, sessions: list[dict[str, str]]) -> list[Interval] | None:
    """Aware (start, end) of each session in time order, after the utc-offset rule; None if unreadable."""
    out = []
    for s in sessions:
        try:
            start, end = datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])
        except ValueError:
            ctx.broken("plan-shape", f"{tag}: {s['start']!r} to {s['end']!r} is not an ISO 8601 date-time")
            return None
        for value in (start, end):
            if value.utcoffset() is None:
                ctx.broken("utc-offset", f"{tag}: {value.isoformat()} has no UTC offset")
                return None
            in_force = value.astimezone(ctx.tz).utcoffset()
            if value.utcoffset() != in_force:
                ctx.broken(
                    "utc-offset",
                    f"{tag}: {value.isoformat()} carries {value.utcoffset()}, the zone is at {in_force} then",
                )
        out.append((start, end))
    return sorted(out)


def _local(ctx: _Context, value: datetime) -> datetime:
    return value.astimezone(ctx.tz).replace(tzinfo=None)


def _dates(ctx: _Context, tag: str, couple: dict[str, Any], local: list[Interval]) -> date | None:
    """The calendar rules of a block; returns its first date when every session is on a clinic day."""
    dates = [a.date() for a, _ in local]
    outside = [str(d) for d in dates if d not in ctx.clinic_index]
    if outside:
        ctx.broken("clinic-days", f"{tag}: sessions on {outside}, not clinic days of the horizon")
        return None
    index = [ctx.clinic_index[d] for d in dates]
    if index != list(range(index[0], index[0] + len(index))):
        ctx.broken("consecutive", f"{tag}: {[str(d) for d in dates]} are not consecutive clinic days")
    earliest = date.fromisoformat(couple.get("earliest_start", str(ctx.first_day)))
    if dates[0] < earliest:
        ctx.broken("earliest-start", f"{tag}: starts {dates[0]}, before earliest_start {earliest}")
    starts = sorted({a.time() for a, _ in local})
    if len(starts) > 1:
        ctx.broken("slot-time", f"{tag}: sessions start at different times {[str(t) for t in starts]}")
    elif starts[0] not in ctx.slots:
        ctx.broken("slot-time", f"{tag}: start time {starts[0]} is not one of slot_starts")
    for a, z in local:
        if z - a != ctx.session:
            ctx.broken("session-length", f"{tag}: the session of {a:%Y-%m-%d %H:%M} lasts {z - a}")
        if _in_ranges(a.date(), couple.get("unavailable", [])):
            ctx.broken("couple-unavailable", f"{tag}: session on {a.date()}, when the couple is unavailable")
    return dates[0]


def _works(therapist: dict[str, Any], a: datetime, z: datetime) -> bool:
    intervals = therapist["hours"].get(WEEKDAYS[a.weekday()], [])
    return a.date() == z.date() and any(
        time.fromisoformat(h0) <= a.time() and z.time() <= time.fromisoformat(h1) for h0, h1 in intervals
    )


def _resources(
    ctx: _Context, tag: str, cid: str, team: list[str], block: dict[str, Any], times: list[Interval]
) -> None:
    """Each therapist's and the room's own calendar, then record the sessions for the plan-wide rules."""
    room_id: str = block["room"]
    room = ctx.rooms.get(room_id)
    for start, end in times:
        a, z = _local(ctx, start), _local(ctx, end)
        when = f"{a:%Y-%m-%d %H:%M} to {z:%H:%M}"
        for t in team:
            therapist = ctx.therapists[t]
            if not _works(therapist, a, z):
                ctx.broken("working-hours", f"{tag}: {t} does not work {when}")
            if _in_ranges(a.date(), therapist.get("time_off", [])):
                ctx.broken("time-off", f"{tag}: {t} has time off on {a.date()}")
            for busy in _overlaps_busy(a, z, therapist.get("busy", [])):
                ctx.broken("therapist-busy", f"{tag}: {t} is busy {busy}, overlapping {when}")
            ctx.usage.setdefault(f"therapist {t}", []).append((start, end, cid))
            ctx.per_day[(t, a.date())] += 1
        if room is not None:
            for busy in _overlaps_busy(a, z, room.get("busy", [])):
                ctx.broken("room-busy", f"{tag}: room {room_id} is busy {busy}, overlapping {when}")
            ctx.usage.setdefault(f"room {room_id}", []).append((start, end, cid))


def _check_block(ctx: _Context, block: dict[str, Any]) -> date | None:
    """Every rule about one block; returns the block's first date when it could be read."""
    cid: str = block["couple"]
    couple = ctx.couples.get(cid)
    if couple is None:
        return None  # reported by each-couple-once
    tag = f"block of {cid}"
    team = _team_and_room(ctx, tag, couple, block)
    if len(block["sessions"]) != ctx.block_days:
        ctx.broken("block-length", f"{tag}: {len(block['sessions'])} sessions, not {ctx.block_days}")
        if not block["sessions"]:
            return None
    times = _read_sessions(ctx, tag, block["sessions"])
    if times is None:
        return None
    first = _dates(ctx, tag, couple, [(_local(ctx, a), _local(ctx, z)) for a, z in times])
    _resources(ctx, tag, cid, team, block, times)
    return first


def _plan_wide(ctx: _Context) -> None:
    """No resource in two overlapping sessions; no therapist over the daily cap."""
    for resource, sessions in ctx.usage.items():
        sessions.sort()
        latest = sessions[0]
        for current in sessions[1:]:
            if current[0] < latest[1]:
                ctx.broken(
                    "double-booking",
                    f"{resource} is in two overlapping sessions: {latest[2]} at {_local(ctx, latest[0])} "
                    f"and {current[2]} at {_local(ctx, current[0])}",
                )
            if current[1] > latest[1]:
                latest = current
    for (t, day), n in sorted(ctx.per_day.items()):
        cap = ctx.therapists[t].get("max_sessions_per_day", 2)
        if n > cap:
            ctx.broken("daily-cap", f"therapist {t} has {n} sessions on {day}, more than {cap}")


def check(instance: dict[str, Any], plan: Any) -> Verdict:
    """Every violation of the plan and its figures; raises InstanceError if the instance is malformed."""
    ctx = _context(instance)
    weight_total = sum(c.get("weight", 1) for c in ctx.couples.values())
    if not _shape_ok(ctx, plan):
        return Verdict(ctx.violations, Figures(len(ctx.couples), 0, weight_total, 0, 0))
    _each_couple_once(ctx, plan)
    firsts: dict[str, date] = {}
    for block in plan["blocks"]:
        first = _check_block(ctx, block)
        if first is not None:
            firsts.setdefault(block["couple"], first)
    _plan_wide(ctx)
    weight, wait = 0, 0
    for cid, first in firsts.items():
        couple = ctx.couples[cid]
        earliest = date.fromisoformat(couple.get("earliest_start", str(ctx.first_day)))
        weight += couple.get("weight", 1)
        wait += couple.get("weight", 1) * (first - earliest).days
    return Verdict(ctx.violations, Figures(len(ctx.couples), len(firsts), weight_total, weight, wait))


def check_plan(instance: dict[str, Any], plan: Any) -> list[str]:
    """The plan's violations of the format's rules; an empty list means the plan is valid."""
    return check(instance, plan).violations
