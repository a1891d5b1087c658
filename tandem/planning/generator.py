"""Synthetic intensive-planning instances (format in ``docs/intensive-planning.md``), for tests and the bench.

Pure Python, no Django. The same size and seed always give the same instance, byte for byte once
written with ``dumps``; the committed examples in ``tandem/planning/examples/`` are
``make_instance(size, EXAMPLE_SEED)`` and a test keeps them so.

The practice it draws is a plausible one with more couples waiting than it can serve in the horizon,
so that choosing who goes where matters: therapists work full or part time (some with a lunch break),
see standing weekly clients, take a holiday week; rooms host a weekly group; couples have a date they
can start from, a week away, and sometimes a therapist they will not see or a need for step-free access.
All names are ids ("t3", "r1", "c17"); nothing in it is about real people.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

WORKDAYS = ["mon", "tue", "wed", "thu", "fri"]
SLOT_STARTS = ["09:00", "11:30", "14:00", "16:30"]
SESSION_MINUTES = 120
BLOCK_DAYS = 10
EXAMPLE_SEED = 2027
DEFAULT_START = date(2027, 3, 1)  # spans the spring daylight-saving change in Europe/Amsterdam

# Working-day patterns: one interval, or two around a lunch break (the 11:30 slot does not fit those).
DAY_PATTERNS = [
    [["08:30", "17:00"]],
    [["09:00", "17:30"]],
    [["09:00", "19:00"]],
    [["10:00", "19:00"]],
    [["08:30", "13:00"], ["14:00", "18:30"]],
]


@dataclass(frozen=True)
class Size:
    therapists: int
    rooms: int
    couples: int
    weeks: int


SIZES = {
    "small": Size(therapists=6, rooms=3, couples=12, weeks=8),
    "medium": Size(therapists=12, rooms=4, couples=40, weeks=13),
    "large": Size(therapists=30, rooms=10, couples=150, weeks=26),
}


def _stamp(day: date, at: time, minutes: int = 0) -> str:
    return (datetime.combine(day, at) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M")


def _range(first: date, days: int) -> list[str]:
    return [str(first), str(first + timedelta(days=days - 1))]


def _weekly_busy(rng: random.Random, dates: list[date], hours: dict[str, list[list[str]]]) -> list[list[str]]:
    """Standing weekly clients (50 or 80 minutes, some weeks skipped) and a few one-off meetings."""
    busy = []
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
        weekday = rng.choice(sorted(hours))
        h0, h1 = hours[weekday][rng.randrange(len(hours[weekday]))]
        start = datetime.combine(DEFAULT_START, time.fromisoformat(h0))
        latest = datetime.combine(DEFAULT_START, time.fromisoformat(h1)) - timedelta(minutes=90)
        steps = max(1, int((latest - start).total_seconds() // 1800))
        at = (start + timedelta(minutes=30 * rng.randrange(steps))).time()
        minutes = rng.choice([50, 50, 80])
        for day in dates:
            if WORKDAYS[day.weekday()] == weekday and rng.random() < 0.85:
                busy.append([_stamp(day, at), _stamp(day, at, minutes)])
    for _ in range(rng.randint(1, 4)):
        day = rng.choice(dates)
        at = time(rng.choice([8, 10, 12, 13, 15, 17]), rng.choice([0, 30]))
        busy.append([_stamp(day, at), _stamp(day, at, rng.choice([30, 60, 120]))])
    return sorted(busy)


def _therapist(rng: random.Random, k: int, dates: list[date]) -> dict[str, Any]:
    days = list(WORKDAYS)
    for _ in range(rng.choice([0] * 8 + [1, 2])):  # part time: one or two days off a week
        days.remove(rng.choice(days))
    pattern = rng.choice(DAY_PATTERNS)
    hours = {wd: [list(iv) for iv in pattern] for wd in days}
    time_off = []
    if rng.random() < 0.6:  # a holiday week, Monday to Friday or Monday to Sunday
        monday = rng.choice([d for d in dates if d.weekday() == 0])
        time_off.append(_range(monday, rng.choice([5, 7])))
    for _ in range(rng.randrange(3)):
        time_off.append(_range(rng.choice(dates), 1))
    return {
        "id": f"t{k + 1}",
        # Alternating, so that a mixed-gender team can always be formed in principle.
        "gender": "female" if k % 2 == 0 else "male",
        "hours": hours,
        "time_off": sorted(time_off),
        "busy": _weekly_busy(rng, dates, hours),
        "max_sessions_per_day": rng.choice([1, 2, 2, 2, 3]),
    }


def _room(rng: random.Random, k: int, dates: list[date]) -> dict[str, Any]:
    busy = []
    if rng.random() < 0.5:  # a weekly group evening or afternoon
        weekday = rng.randrange(5)
        at = time(rng.choice([14, 16, 18]), 0)
        busy += [[_stamp(d, at), _stamp(d, at, 120)] for d in dates if d.weekday() == weekday]
    for _ in range(rng.randrange(len(dates) // 10 + 1)):
        day = rng.choice(dates)
        at = time(rng.choice([9, 11, 13, 15]), 0)
        busy.append([_stamp(day, at), _stamp(day, at, rng.choice([60, 120, 180]))])
    return {"id": f"r{k + 1}", "accessible": k == 0 or rng.random() < 0.25, "busy": sorted(busy)}


def _couple(rng: random.Random, k: int, dates: list[date], therapists: list[str]) -> dict[str, Any]:
    unavailable = []
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        unavailable.append(_range(rng.choice(dates), rng.choice([1, 2, 3, 7])))
    excluded = rng.sample(therapists, k=rng.choice([0, 0, 0, 0, 1, 1, 2]))
    return {
        "id": f"c{k + 1}",
        "weight": rng.choice([1, 1, 1, 2, 2, 3]),
        "earliest_start": str(rng.choice(dates[: max(1, len(dates) // 3)])),
        "unavailable": sorted(unavailable),
        "excluded_therapists": sorted(excluded, key=lambda t: int(t[1:])),
        "needs_accessible_room": rng.random() < 0.1,
    }


def make_instance(size: str, seed: int, start: date = DEFAULT_START) -> dict[str, Any]:
    """An instance of the named size (see SIZES), the same for the same arguments."""
    shape = SIZES[size]
    rng = random.Random(f"{size}-{seed}")  # noqa: S311 - synthetic test data, not security
    first = start - timedelta(days=start.weekday())  # the Monday of start's week
    last = first + timedelta(days=7 * shape.weeks - 3)  # the Friday of the last week
    weekdays = [first + timedelta(days=i) for i in range(7 * shape.weeks) if i % 7 < 5]
    closures = sorted({str(rng.choice(weekdays)) for _ in range(max(1, shape.weeks // 6))})
    therapists = [_therapist(rng, k, weekdays) for k in range(shape.therapists)]
    rooms = [_room(rng, k, weekdays) for k in range(shape.rooms)]
    ids = [t["id"] for t in therapists]
    couples = [_couple(rng, k, weekdays, ids) for k in range(shape.couples)]
    return {
        "timezone": "Europe/Amsterdam",
        "horizon": {"first_day": str(first), "last_day": str(last)},
        "policy": {
            "block_days": BLOCK_DAYS,
            "clinic_days": list(WORKDAYS),
            "closures": closures,
            "session_minutes": SESSION_MINUTES,
            "slot_starts": list(SLOT_STARTS),
            "team": "mixed_gender",
        },
        "therapists": therapists,
        "rooms": rooms,
        "couples": couples,
    }


def dumps(instance: dict[str, Any]) -> str:
    """The instance as committed: one item of a list per line, so that diffs stay readable."""
    return json.dumps(instance, indent=1, ensure_ascii=False) + "\n"
