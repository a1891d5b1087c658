"""First come, first served: what a coordinator does by hand, kept as the yardstick for the solver.

Couples are taken by weight (highest first), then earliest_start, and each gets the earliest block that
still fits around the blocks already given: first start day, then first slot, then the first free
therapists and room in instance order. Pure Python, no Django.
"""

from __future__ import annotations

from typing import Any

from tandem.planning.instance import Candidate, Couple, Problem, block_json, no_candidate_reason, parse

# (couple index, start day, slot, therapist indexes, room index)
Assignment = tuple[int, int, int, list[int], int]


class Occupancy:
    """What the blocks given so far take up, to test whether one more block still fits."""

    def __init__(self, p: Problem) -> None:
        self.p = p
        n = len(p.slots)
        start = [p.session_times(0, s)[0].replace(tzinfo=None) for s in range(n)] if p.days else []
        self.clash = [
            [
                bool(p.days) and start[a] < start[b] + p.session and start[b] < start[a] + p.session
                for b in range(n)
            ]
            for a in range(n)
        ]
        self.therapist: list[list[list[int]]] = [[[] for _ in p.days] for _ in p.therapists]
        self.room: list[list[list[int]]] = [[[] for _ in p.days] for _ in p.rooms]

    def therapist_fits(self, t: int, day: int, slot: int) -> bool:
        cap = self.p.therapists[t].cap
        for i in range(day, day + self.p.block_days):
            used = self.therapist[t][i]
            if len(used) >= cap or any(self.clash[slot][u] for u in used):
                return False
        return True

    def room_fits(self, r: int, day: int, slot: int) -> bool:
        return not any(
            self.clash[slot][u] for i in range(day, day + self.p.block_days) for u in self.room[r][i]
        )

    def take(self, day: int, slot: int, team: list[int], room: int) -> None:
        for i in range(day, day + self.p.block_days):
            for t in team:
                self.therapist[t][i].append(slot)
            self.room[room][i].append(slot)

    def fit(self, cand: Candidate) -> tuple[list[int], int] | None:
        """The first team and room (instance order) free for the candidate's whole block, if any."""
        team: list[int] = []
        for pool, n in zip(cand.pools, self.p.role_sizes(), strict=True):
            free = [t for t in pool if t not in team and self.therapist_fits(t, cand.day, cand.slot)]
            if len(free) < n:
                return None
            team.extend(free[:n])
        for r in cand.rooms:
            if self.room_fits(r, cand.day, cand.slot):
                return team, r
        return None


def fill(p: Problem, occ: Occupancy, order: list[int], cands: list[list[Candidate]]) -> list[Assignment]:
    """Give each couple in order its earliest candidate that still fits, updating occ."""
    out = []
    for ci in order:
        for cand in sorted(cands[ci], key=lambda k: (k.day, k.slot)):
            got = occ.fit(cand)
            if got is not None:
                team, room = got
                occ.take(cand.day, cand.slot, team, room)
                out.append((ci, cand.day, cand.slot, team, room))
                break
    return out


def priority_order(couples: list[Couple]) -> list[int]:
    return sorted(range(len(couples)), key=lambda k: (-couples[k].weight, couples[k].earliest, k))


def render(
    p: Problem, assignments: list[Assignment], cands: list[list[Candidate]], not_chosen: str
) -> dict[str, Any]:
    """The plan JSON; couples left out although they had feasible blocks get not_chosen as the why."""
    given = {a[0] for a in assignments}
    blocks = [block_json(p, p.couples[ci], d, s, team, r) for ci, d, s, team, r in sorted(assignments)]
    unscheduled = []
    for ci, c in enumerate(p.couples):
        if ci in given:
            continue
        if not cands[ci]:
            reason = no_candidate_reason(p, c)
        else:
            first = p.days[min(k.day for k in cands[ci])]
            reason = (
                f"not chosen: all {len(cands[ci])} feasible start/slot options (the first on {first}) clash "
                f"with therapists or rooms given to other couples; {not_chosen}"
            )
        unscheduled.append({"couple": c.id, "reason": reason})
    return {"blocks": blocks, "unscheduled": unscheduled}


def score(p: Problem, assignments: list[Assignment]) -> tuple[int, int]:
    """(total weight scheduled, total weighted wait in days)."""
    weight = sum(p.couples[a[0]].weight for a in assignments)
    wait = sum(p.couples[a[0]].weight * (p.days[a[1]] - p.couples[a[0]].earliest).days for a in assignments)
    return weight, wait


def solve(p: Problem) -> tuple[list[Assignment], list[list[Candidate]]]:
    cands = [p.candidates(c) for c in p.couples]
    return fill(p, Occupancy(p), priority_order(p.couples), cands), cands


def plan(instance: dict[str, Any]) -> dict[str, Any]:
    p = parse(instance)
    assignments, cands = solve(p)
    return render(
        p,
        assignments,
        cands,
        "first come, first served takes couples by weight, then earliest start",
    )
