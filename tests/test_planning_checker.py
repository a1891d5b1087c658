"""The plan checker: a valid hand-written plan passes with the right figures, and for every rule of
docs/intensive-planning.md a plan broken in just that way is refused with a message naming the rule.
No database."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tandem.planning.checker import RULES, check, check_plan
from tandem.planning.instance import InstanceError

ZONE = ZoneInfo("Europe/Amsterdam")
CLOSED = date(2027, 3, 31)
LAST = date(2027, 4, 9)
WEEK = ["mon", "tue", "wed", "thu", "fri"]


def hours(*intervals: tuple[str, str]) -> dict[str, list[list[str]]]:
    return {wd: [list(iv) for iv in intervals] for wd in WEEK}


def instance() -> dict[str, Any]:
    """Three weeks around the spring DST change (Sunday 28 March 2027), one closure, three couples."""
    return {
        "timezone": "Europe/Amsterdam",
        "horizon": {"first_day": "2027-03-22", "last_day": str(LAST)},
        "policy": {
            "block_days": 10,
            "clinic_days": WEEK,
            "closures": [str(CLOSED)],
            "session_minutes": 120,
            "slot_starts": ["09:00", "11:30", "14:00", "16:30"],
            "team": "mixed_gender",
        },
        "therapists": [
            {"id": "f1", "gender": "female", "hours": hours(("08:00", "12:00"), ("13:00", "18:00"))},
            {
                "id": "m1",
                "gender": "male",
                "hours": hours(("08:00", "18:00")),
                # The first ends exactly when c1's 09:00 sessions start: half-open, so no overlap.
                "busy": [["2027-03-24T07:00", "2027-03-24T09:00"], ["2027-03-30T15:00", "2027-03-30T16:00"]],
            },
            {
                "id": "f2",
                "gender": "female",
                "hours": hours(("08:00", "19:00")),
                "time_off": [["2027-04-08"] * 2],
            },
            {"id": "m2", "gender": "male", "hours": hours(("08:00", "17:00")), "max_sessions_per_day": 1},
        ],
        "rooms": [
            {"id": "r1"},
            {"id": "r2", "accessible": True},
            {"id": "r3", "accessible": True, "busy": [["2027-03-25T13:00", "2027-03-25T15:00"]]},
        ],
        "couples": [
            {"id": "c1", "weight": 2, "unavailable": [["2027-04-09", "2027-04-09"]]},
            {
                "id": "c2",
                "weight": 3,
                "earliest_start": "2027-03-23",
                "unavailable": [["2027-04-09", "2027-04-09"]],
                "excluded_therapists": ["f1"],
                "needs_accessible_room": True,
            },
            {"id": "c3", "weight": 1},
        ],
    }


def clinic_days(first: date, n: int = 10) -> list[date]:
    out: list[date] = []
    d = first
    while len(out) < n:
        if d.weekday() < 5 and d != CLOSED:
            out.append(d)
        d += timedelta(days=1)
    return out


def sessions(days: list[date], at: str, minutes: int = 120) -> list[dict[str, str]]:
    out = []
    for d in days:
        start = datetime.combine(d, time.fromisoformat(at), tzinfo=ZONE)
        out.append({"start": start.isoformat(), "end": (start + timedelta(minutes=minutes)).isoformat()})
    return out


def block(couple: str, team: list[str], room: str, first: str, at: str) -> dict[str, Any]:
    return {
        "couple": couple,
        "therapists": team,
        "room": room,
        "sessions": sessions(clinic_days(date.fromisoformat(first)), at),
    }


def valid_plan() -> dict[str, Any]:
    return {
        "blocks": [
            block("c1", ["f1", "m1"], "r1", "2027-03-22", "09:00"),
            block("c2", ["f2", "m2"], "r2", "2027-03-24", "14:00"),
        ],
        "unscheduled": [{"couple": "c3", "reason": "no room left at any slot time"}],
        "stats": {"anything": "extra keys are ignored"},
    }


def test_the_valid_plan_passes_with_its_figures():
    plan = valid_plan()
    starts = [s["start"] for s in plan["blocks"][0]["sessions"]]
    assert {s[-6:] for s in starts} == {"+01:00", "+02:00"}  # the block crosses the DST change
    assert "2027-03-31" not in json.dumps(plan)  # and skips the closure
    verdict = check(instance(), plan)
    assert verdict.violations == []
    assert verdict.ok
    f = verdict.figures
    assert (f.couples, f.scheduled, f.weight_total, f.weight_scheduled) == (3, 2, 6, 5)
    assert f.weighted_wait == 3  # c2 (weight 3) starts one day after its earliest_start


Break = Callable[[dict[str, Any]], Any]


def c1(plan: dict[str, Any]) -> dict[str, Any]:
    return plan["blocks"][0]


def c2(plan: dict[str, Any]) -> dict[str, Any]:
    return plan["blocks"][1]


def moved(which: Callable[[dict[str, Any]], dict[str, Any]], first: str, at: str) -> Break:
    """The block's sessions moved to start on first at the given time (the rest of the block unchanged)."""
    return lambda plan: which(plan).update(sessions=block("x", [], "x", first, at)["sessions"])


def session_on(
    which: Callable[[dict[str, Any]], dict[str, Any]], k: int, day: str, at: str = "09:00"
) -> Break:
    """The block's k-th session moved to another day (or time)."""
    return lambda plan: which(plan)["sessions"].__setitem__(k, sessions([date.fromisoformat(day)], at)[0])


def session_field(k: int, **fields: str) -> Break:
    """c1's k-th session with a start or end rewritten."""
    return lambda plan: c1(plan)["sessions"][k].update(fields)


def both(*breaks: Break) -> Break:
    return lambda plan: [b(plan) for b in breaks]


def give(which: Callable[[dict[str, Any]], dict[str, Any]], **fields: Any) -> Break:
    return lambda plan: which(plan).update(fields)


def also_unscheduled(couple: str) -> Break:
    return lambda plan: plan["unscheduled"].append({"couple": couple, "reason": "listed again"})


BROKEN: list[tuple[str, str, Break]] = [
    ("plan-shape", "blocks not a list", lambda plan: plan.update(blocks="none")),
    ("plan-shape", "a session without end", lambda plan: c1(plan)["sessions"][0].pop("end")),
    ("plan-shape", "an unreadable time", session_field(0, start="tomorrow")),
    ("plan-shape", "a reason left empty", lambda plan: plan["unscheduled"][0].update(reason="")),
    ("each-couple-once", "a couple left out", lambda plan: plan.update(unscheduled=[])),
    ("each-couple-once", "a couple twice", also_unscheduled("c1")),
    ("each-couple-once", "an unknown couple", also_unscheduled("c9")),
    ("block-length", "one session short", lambda plan: c1(plan)["sessions"].pop()),
    ("clinic-days", "a session on the closure", session_on(c1, 9, "2027-03-31")),
    ("clinic-days", "a session on a Saturday", session_on(c1, 9, "2027-03-27")),
    ("clinic-days", "past the horizon", moved(c1, "2027-03-29", "09:00")),
    ("consecutive", "a clinic day skipped", session_on(c1, 9, "2027-04-06")),
    ("earliest-start", "before earliest_start", moved(c2, "2027-03-22", "14:00")),
    ("utc-offset", "the right instant in UTC", session_field(0, start="2027-03-22T08:00:00+00:00")),
    ("utc-offset", "winter offset in summer", session_field(9, end="2027-04-05T10:00:00+01:00")),
    ("slot-time", "not a slot start", moved(c1, "2027-03-22", "09:30")),
    ("slot-time", "one session at another slot", session_on(c1, 1, "2027-03-23", "14:00")),
    ("session-length", "a long session", session_field(2, end="2027-03-24T11:30:00+01:00")),
    ("team", "two women", give(c1, therapists=["f1", "f2"])),
    ("team", "one therapist", give(c1, therapists=["f1"])),
    ("team", "an unknown therapist", give(c1, therapists=["f1", "m9"])),
    ("excluded-therapist", "the excluded therapist", give(c2, therapists=["f1", "m2"])),
    ("room", "not accessible", give(c2, room="r1")),
    ("room", "an unknown room", give(c1, room="r9")),
    ("working-hours", "past m2's end of day", moved(c2, "2027-03-24", "16:30")),
    ("working-hours", "across f1's lunch break", moved(c1, "2027-03-22", "11:30")),
    ("time-off", "on f2's day off", moved(c2, "2027-03-25", "14:00")),
    ("therapist-busy", "m1's appointment", give(c2, therapists=["f2", "m1"])),
    ("room-busy", "r3's booking", give(c2, room="r3")),
    ("couple-unavailable", "c1's unavailable date", moved(c1, "2027-03-26", "09:00")),
    (
        "double-booking",
        "m1 in two blocks",
        both(give(c2, therapists=["f2", "m1"]), moved(c2, "2027-03-24", "09:00")),
    ),
    ("double-booking", "r2 in two blocks", both(give(c1, room="r2"), moved(c2, "2027-03-24", "09:00"))),
    ("daily-cap", "m2 twice a day", give(c1, therapists=["f1", "m2"])),
]


@pytest.mark.parametrize(("rule", "how", "breaks"), BROKEN, ids=[f"{r}: {h}" for r, h, _ in BROKEN])
def test_a_plan_breaking_one_rule_is_refused_naming_it(rule, how, breaks):
    plan = valid_plan()
    breaks(plan)
    violations = check_plan(instance(), plan)
    assert violations, how
    assert any(v.startswith(f"[{rule}] ") for v in violations), violations


def test_every_rule_has_a_broken_plan_above():
    assert {rule for rule, _, _ in BROKEN} == set(RULES)


def test_the_message_says_where():
    plan = valid_plan()
    moved(c2, "2027-03-25", "14:00")(plan)
    assert check_plan(instance(), plan) == ["[time-off] block of c2: f2 has time off on 2027-04-08"]


def test_a_malformed_instance_is_an_instance_error_not_a_verdict():
    bad = instance()
    bad["therapists"][0]["hours"]["funday"] = []
    with pytest.raises(InstanceError, match="funday"):
        check_plan(bad, valid_plan())


def write(tmp_path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_the_command_prints_ok_and_the_figures(tmp_path):
    out = StringIO()
    call_command(
        "check_plan",
        write(tmp_path, "i.json", instance()),
        write(tmp_path, "p.json", valid_plan()),
        stdout=out,
    )
    assert out.getvalue().strip() == ("OK: 2/3 couples scheduled, weight scheduled 5/6, weighted wait 3 days")


def test_the_command_lists_the_violations_and_fails(tmp_path):
    plan = copy.deepcopy(valid_plan())
    c1(plan).update(therapists=["f1", "m2"])
    out = StringIO()
    with pytest.raises(CommandError, match=r"INVALID: the plan breaks \d+ rule") as caught:
        call_command(
            "check_plan", write(tmp_path, "i.json", instance()), write(tmp_path, "p.json", plan), stdout=out
        )
    assert caught.value.returncode == 1
    assert "[daily-cap] therapist m2 has 2 sessions on 2027-03-24, more than 1" in out.getvalue()


@pytest.mark.parametrize(
    ("files", "words"),
    [
        (("missing.json", None), "cannot read instance"),
        (("i.json", "{ not json"), "is not valid JSON"),
        (("i.json", json.dumps({"timezone": "Mars/Olympus"})), "not a valid instance"),
    ],
)
def test_the_command_refuses_unreadable_files(tmp_path, files, words):
    name, text = files
    if text is not None:
        (tmp_path / name).write_text(text)
    with pytest.raises(CommandError, match=words):
        call_command(
            "check_plan", str(tmp_path / name), write(tmp_path, "p.json", valid_plan()), stdout=StringIO()
        )
