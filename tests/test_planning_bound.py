"""The LP bound of the planner: a proven upper bound on the weight, tighter than "every couple that has
some feasible block" when therapists are the bottleneck."""

from __future__ import annotations

from tandem.planning import baseline, core
from tandem.planning.instance import parse

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def crowded(couples: int) -> dict:
    """Ten clinic days, one session time, one team: room for exactly one block."""
    hours = {d: [["09:00", "12:00"]] for d in WEEKDAYS}
    return {
        "timezone": "Europe/Amsterdam",
        "horizon": {"first_day": "2027-03-01", "last_day": "2027-03-12"},
        "policy": {
            "block_days": 10,
            "clinic_days": WEEKDAYS,
            "session_minutes": 120,
            "slot_starts": ["09:00"],
            "team": "mixed_gender",
        },
        "therapists": [
            {"id": "f", "gender": "female", "hours": hours},
            {"id": "m", "gender": "male", "hours": hours},
        ],
        "rooms": [{"id": "r1"}, {"id": "r2"}],
        "couples": [{"id": f"c{k}", "weight": 2 if k == 0 else 1} for k in range(couples)],
    }


def test_the_lp_bound_sees_the_one_team_bottleneck():
    p = parse(crowded(4))
    _, cands = baseline.solve(p)
    assert all(cands)  # each couple alone has a block: the simple bound would be 5
    assert core._lp_bound(p, cands, 10) == 2


def test_windows_only_planning_reports_the_lp_bound_and_proves_optimality(monkeypatch):
    monkeypatch.setattr(core, "FULL_MODEL_LIMIT", 0)  # force the large-instance path
    plan, stats = core.plan_with_stats(crowded(4), time_limit=4)
    assert stats.status == "LNS"
    assert stats.weight == 2 and stats.weight_bound == 2
    assert [b["couple"] for b in plan["blocks"]] == ["c0"]
    assert all("proven optimal" in u["reason"] for u in plan["unscheduled"])
