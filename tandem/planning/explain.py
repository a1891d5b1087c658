"""Why a couple stayed unscheduled, in words a coordinator can act on. Pure Python, no Django.

Each couple is tested alone against the instance, one family of rules at a time, in the order a
coordinator would check by hand: the horizon and the couple's own dates, then the team (first with the
couple's therapist restrictions, then without, to tell "their assigned therapists" from "nobody"),
then rooms. A couple that could have had a block on its own lost it to the other couples in the plan:
every one of its options needs a therapist or room the plan gives to someone else.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from tandem.planning.instance import TEAM_WORDS, Couple, Problem, parse


def _day(d: date) -> str:
    return f"{d:%a} {d.day} {d:%B %Y}"


def _team_free(p: Problem, c: Couple, day: int, slot: int, *, restricted: bool) -> bool:
    excluded = {k for k, t in enumerate(p.therapists) if restricted and t.id in c.excluded}
    return all(
        sum(1 for k in pool if k not in excluded and p.therapists[k].block[slot][day]) >= n
        for pool, n in zip(p.role_pools(), p.role_sizes(), strict=True)
    )


def _missing_role(p: Problem, c: Couple) -> str | None:
    """The kind of therapist nobody can supply at any start (mixed_gender), if only one kind is short."""
    if p.team != "mixed_gender":
        return None
    names = ["female", "male"]
    for role, pool in enumerate(p.role_pools()):
        if not any(
            p.therapists[k].block[s][d] and p.therapists[k].id not in c.excluded
            for k in pool
            for d in c.starts
            for s in range(len(p.slots))
        ):
            return names[role]
    return None


RULE_WORDS = {
    "mixed_gender": "one female and one male therapist",
    "pair": "any two therapists",
    "single": "one or two therapists",
}


def _assignment_breaks_rule(p: Problem, c: Couple) -> str | None:
    """The case's own therapists (everyone else excluded) cannot make a team the rule allows, at any time:
    the team rule, not the calendars, rules out every block."""
    if not c.excluded:
        return None
    for pool, n in zip(p.role_pools(), p.role_sizes(), strict=True):
        if sum(1 for k in pool if p.therapists[k].id not in c.excluded) < n:
            return (
                f"The practice's team rule ({RULE_WORDS[p.team]}): the case's assigned therapists cannot "
                f"form a {TEAM_WORDS[p.team]}. Assign a team that keeps the rule."
            )
    return None


def explain_couple(p: Problem, ci: int, plan_blocks: list[dict[str, Any]]) -> str:
    c = p.couples[ci]
    b = p.block_days
    team = TEAM_WORDS[p.team]
    if p.n_starts == 0:
        return f"The horizon has only {len(p.days)} clinic days; an intensive block needs {b}."
    if not any(p.days[d] >= c.earliest for d in range(p.n_starts)):
        return f"There are no {b} consecutive clinic days between {_day(c.earliest)} and {_day(p.last_day)}."
    span = f"{b} consecutive clinic days between {_day(c.earliest)} and {_day(p.last_day)}"
    if not c.starts:
        return (
            f"Their own calendar: one partner or the other already has an appointment on at least one "
            f"day of every run of {span}."
        )
    if c.needs_accessible and not any(r.accessible for r in p.rooms):
        return "They need an accessible room and no room at this location is accessible."
    if not p.rooms:
        return "There are no rooms in use at this location."
    broken = _assignment_breaks_rule(p, c)
    if broken is not None:
        return broken
    options = [(d, s) for d in c.starts for s in range(len(p.slots))]
    if not any(_team_free(p, c, d, s, restricted=True) for d, s in options):
        if c.excluded and any(_team_free(p, c, d, s, restricted=False) for d, s in options):
            return (
                f"Their assigned therapists are not free together at one session time for {span} "
                "(another team could be, if the case were reassigned)."
            )
        missing = _missing_role(p, c)
        if missing is not None:
            return (
                f"No {missing} therapist is free at one session time for {span}, so no {team} can be formed."
            )
        return f"No {team} is free at the same session time for {span}."
    if not p.candidates(c):
        kind = "accessible room" if c.needs_accessible else "room"
        return f"Whenever a {team} is free for {span}, no {kind} is free at that time too."
    first = min(p.candidates(c), key=lambda k: (k.day, k.slot))
    heavier = sum(1 for blk in plan_blocks if _weight(p, blk["couple"]) >= c.weight)
    return (
        f"They could have had a block on their own (earliest option: {_day(p.days[first.day])} at "
        f"{p.slots[first.slot]:%H:%M}), but every option needs a therapist or room that this plan gives to "
        f"other couples ({heavier} scheduled couples have weight {c.weight} or more). Scheduling them would "
        "leave out more total weight or make couples wait longer."
    )


def _weight(p: Problem, couple: str) -> int:
    for c in p.couples:
        if c.id == couple:
            return c.weight
    return 0


def explain_unscheduled(instance: dict[str, Any], plan: dict[str, Any]) -> dict[str, str]:
    """Couple id -> why it is not in the plan, for every couple the plan leaves out."""
    p = parse(instance)
    given = {blk["couple"] for blk in plan.get("blocks", [])}
    return {
        c.id: explain_couple(p, ci, plan.get("blocks", []))
        for ci, c in enumerate(p.couples)
        if c.id not in given
    }
