"""The intensive planner's pure core: valid plans (by tandem.planning.checker), at least the baseline's
weight, DST-correct offsets and honest reasons for couples left out. No database."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tandem.planning import baseline, core
from tandem.planning.checker import Figures, check
from tandem.planning.instance import InstanceError, parse

EXAMPLES = Path(__file__).resolve().parent.parent / "tandem" / "planning" / "examples"
WEEK = ["mon", "tue", "wed", "thu", "fri"]


def checked(instance: dict[str, Any], plan: dict[str, Any]) -> Figures:
    """Fail with the checker's complaints unless the plan keeps every rule; else return its figures.

    The plan goes through JSON first, as a plan file would."""
    verdict = check(instance, json.loads(json.dumps(plan)))
    assert verdict.violations == []
    return verdict.figures


def therapist(
    tid: str, gender: str, start: str = "08:00", end: str = "19:00", **extra: Any
) -> dict[str, Any]:
    return {"id": tid, "gender": gender, "hours": {wd: [[start, end]] for wd in WEEK}, **extra}


def tiny(**policy: Any) -> dict[str, Any]:
    """Two weeks and a day around the 2027 spring DST change (Sunday 28 March) in Amsterdam."""
    return {
        "timezone": "Europe/Amsterdam",
        "horizon": {"first_day": "2027-03-22", "last_day": "2027-04-05"},
        "policy": {
            "block_days": 10,
            "clinic_days": WEEK,
            "closures": [],
            "session_minutes": 120,
            "slot_starts": ["09:00", "14:00"],
            "team": "mixed_gender",
            **policy,
        },
        "therapists": [therapist("f1", "female"), therapist("m1", "male")],
        "rooms": [{"id": "r1", "accessible": False}],
        "couples": [{"id": "c1", "weight": 2, "earliest_start": "2027-03-22"}],
    }


@pytest.fixture(scope="module")
def example_plans() -> dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    out = {}
    for name, limit in [("small", 5.0), ("medium", 15.0), ("large", 15.0)]:
        instance = json.loads((EXAMPLES / f"{name}.json").read_text())
        out[name] = (instance, core.plan(instance, time_limit=limit), baseline.plan(instance))
    return out


@pytest.mark.parametrize("name", ["small", "medium", "large"])
def test_example_plans_are_valid_and_beat_or_match_the_baseline(example_plans, name):
    instance, plan, base = example_plans[name]
    score = checked(instance, plan)
    base_score = checked(instance, base)
    assert score.weight_scheduled >= base_score.weight_scheduled
    if score.weight_scheduled == base_score.weight_scheduled:
        assert score.weighted_wait <= base_score.weighted_wait
    stats = plan["stats"]
    assert stats["weight"] == score.weight_scheduled
    assert stats["weighted_wait"] == score.weighted_wait
    assert stats["weight"] <= stats["weight_bound"] <= score.weight_total
    assert stats["baseline"]["weight"] == base_score.weight_scheduled


def test_medium_gains_clearly_over_the_baseline(example_plans):
    _, plan, _ = example_plans["medium"]
    assert plan["stats"]["weight"] >= plan["stats"]["baseline"]["weight"] * 1.05


@pytest.mark.parametrize("name", ["small", "medium", "large"])
def test_every_unscheduled_couple_has_a_specific_reason(example_plans, name):
    _, plan, base = example_plans[name]
    for p in (plan, base):
        for item in p["unscheduled"]:
            assert len(item["reason"]) > 20, item


def test_a_block_across_the_dst_change_shows_both_offsets():
    instance = tiny()
    plan = core.plan(instance, time_limit=5)
    checked(instance, plan)
    (block,) = plan["blocks"]
    starts = [s["start"] for s in block["sessions"]]
    assert starts[0] == "2027-03-22T09:00:00+01:00"
    assert starts[4] == "2027-03-26T09:00:00+01:00"
    assert starts[5] == "2027-03-29T09:00:00+02:00"
    assert block["sessions"][-1]["end"] == "2027-04-02T11:00:00+02:00"
    assert {s[-6:] for s in starts} == {"+01:00", "+02:00"}


def test_autumn_dst_change_too():
    instance = tiny()
    instance["horizon"] = {"first_day": "2027-10-25", "last_day": "2027-11-05"}
    instance["couples"][0]["earliest_start"] = "2027-10-25"
    plan = core.plan(instance, time_limit=5)
    checked(instance, plan)
    starts = [s["start"] for s in plan["blocks"][0]["sessions"]]
    # Summer time ends on Sunday 31 October 2027: the offset goes back from +02:00 to +01:00.
    assert starts[4] == "2027-10-29T09:00:00+02:00"
    assert starts[5] == "2027-11-01T09:00:00+01:00"


def test_solver_beats_first_come_first_served_where_greedy_blocks_itself():
    # f2 only works mornings and c2 excludes f1, so c2 can only have the 09:00 slot with f2 and m1;
    # the baseline gives c1 (heavier) the 09:00 slot with f1 and m1 and so shuts c2 out.
    instance = tiny()
    instance["horizon"]["last_day"] = "2027-04-02"
    instance["therapists"] = [
        therapist("f1", "female"),
        therapist("f2", "female", "08:00", "12:00"),
        therapist("m1", "male"),
    ]
    instance["rooms"] = [{"id": "r1"}]
    instance["couples"] = [
        {"id": "c1", "weight": 2, "earliest_start": "2027-03-22"},
        {"id": "c2", "weight": 1, "earliest_start": "2027-03-22", "excluded_therapists": ["f1"]},
    ]
    base = baseline.plan(instance)
    assert checked(instance, base).weight_scheduled == 2
    plan = core.plan(instance, time_limit=5)
    assert checked(instance, plan).weight_scheduled == 3
    assert plan["stats"]["weight_bound"] == 3
    assert plan["stats"]["status"].startswith("OPTIMAL")
    assert plan["unscheduled"] == []


def test_higher_weight_wins_contested_capacity_and_the_other_is_told_why():
    instance = tiny()
    instance["horizon"]["last_day"] = "2027-04-02"
    instance["policy"]["slot_starts"] = ["09:00"]
    instance["couples"] = [
        {"id": "light", "weight": 1, "earliest_start": "2027-03-22"},
        {"id": "heavy", "weight": 3, "earliest_start": "2027-03-22"},
    ]
    plan = core.plan(instance, time_limit=5)
    checked(instance, plan)
    assert [b["couple"] for b in plan["blocks"]] == ["heavy"]
    (left,) = plan["unscheduled"]
    assert left["couple"] == "light"
    assert "not chosen" in left["reason"]
    assert "proven optimal" in left["reason"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda i: i["couples"][0].update(needs_accessible_room=True), "no room is accessible"),
        (lambda i: i["couples"][0].update(excluded_therapists=["m1"]), "no male therapist"),
        (lambda i: i["couples"][0].update(earliest_start="2027-03-30"), "no 10 consecutive clinic days"),
        (lambda i: i["couples"][0].update(unavailable=[["2027-03-25", "2027-03-25"]]), "unavailable dates"),
        (lambda i: i["therapists"][0].update(time_off=[["2027-03-31", "2027-03-31"]]), "mixed-gender team"),
        (lambda i: i["rooms"][0].update(busy=[["2027-03-24T08:00", "2027-03-24T18:00"]]), "no room free"),
    ],
)
def test_impossible_couples_are_unscheduled_with_the_rule_that_stops_them(change, words):
    instance = tiny()
    change(instance)
    for plan in (core.plan(instance, time_limit=5), baseline.plan(instance)):
        checked(instance, plan)
        assert plan["blocks"] == []
        (item,) = plan["unscheduled"]
        assert item["couple"] == "c1"
        assert words in item["reason"], item["reason"]


def test_accessible_room_is_given_to_the_couple_that_needs_it():
    instance = tiny()
    instance["therapists"] += [therapist("f2", "female"), therapist("m2", "male")]
    instance["policy"]["slot_starts"] = ["09:00"]
    instance["rooms"] = [{"id": "plain"}, {"id": "ramp", "accessible": True}]
    instance["couples"] = [
        {"id": "a", "weight": 1, "earliest_start": "2027-03-22"},
        {"id": "b", "weight": 1, "earliest_start": "2027-03-22", "needs_accessible_room": True},
    ]
    plan = core.plan(instance, time_limit=5)
    checked(instance, plan)
    rooms = {b["couple"]: b["room"] for b in plan["blocks"]}
    assert rooms == {"a": "plain", "b": "ramp"}


@pytest.mark.parametrize("team", ["pair", "single"])
def test_other_team_rules(team):
    instance = tiny(team=team)
    instance["therapists"] = [therapist("a", "female"), therapist("b", "female"), therapist("c", "female")]
    instance["couples"].append({"id": "c2", "weight": 1, "earliest_start": "2027-03-22"})
    plan = core.plan(instance, time_limit=5)
    checked(instance, plan)
    assert len(plan["blocks"]) == 2
    assert all(len(b["therapists"]) == (2 if team == "pair" else 1) for b in plan["blocks"])


def test_large_neighbourhood_search_path_gives_valid_plans(monkeypatch):
    # The search used above FULL_MODEL_LIMIT options, exercised on the small example for speed.
    monkeypatch.setattr(core, "FULL_MODEL_LIMIT", 0)
    instance = json.loads((EXAMPLES / "small.json").read_text())
    plan = core.plan(instance, time_limit=4)
    assert plan["stats"]["status"] == "LNS"
    score = checked(instance, plan)
    assert score.weight_scheduled >= plan["stats"]["baseline"]["weight"]


def test_missing_optional_fields_take_their_defaults():
    instance = tiny()
    instance["couples"] = [{"id": "c1", "weight": 1}]  # no earliest_start: the horizon's first day
    plan = core.plan(instance, time_limit=5)
    checked(instance, plan)
    assert plan["blocks"][0]["sessions"][0]["start"].startswith("2027-03-22T09:00")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda i: i.pop("horizon"), "missing key 'horizon'"),
        (lambda i: i["horizon"].update(first_day="2027-02-30"), "horizon.first_day"),
        (lambda i: i.update(timezone="Mars/Olympus"), "timezone"),
        (lambda i: i["policy"].update(team="trio"), "policy.team"),
        (lambda i: i["couples"][0].update(weight=0), "weight"),
        (lambda i: i["therapists"][0].update(busy=[["2027-03-22T25:00", "2027-03-22T26:00"]]), "busy"),
        (lambda i: i["couples"].append(copy.deepcopy(i["couples"][0])), "duplicate couple"),
    ],
)
def test_malformed_instances_are_refused_with_a_pointer(change, words):
    instance = tiny()
    change(instance)
    with pytest.raises(InstanceError, match=words.replace("(", r"\(")):
        parse(instance)
