"""The intensive planner: choose start day, slot, team and room for as much couple weight as possible.

Pure function from an instance dict to a plan dict (formats in ``docs/intensive-planning.md``), no
Django. Inside is one CP-SAT model solved twice: first for the largest total weight, then, with that
weight fixed, for the smallest weighted wait; time left over goes to a large-neighbourhood search that
re-solves the same model on windows of the plan. Instances too big for the whole model within a minute
go to that search directly, starting from the first-come-first-served baseline; their proven weight
bound then comes from the model's LP relaxation (a quarter of the time at most).

The model has one boolean per couple and feasible (start day, slot) and one per (therapist or room,
start day, slot) saying "this resource serves a block starting here"; see _Model for how the two meet.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ortools.linear_solver import pywraplp
from ortools.sat.python import cp_model

from tandem.planning import baseline
from tandem.planning.baseline import Assignment, Occupancy
from tandem.planning.instance import Candidate, Problem, parse


@dataclass
class Stats:
    weight: int
    weighted_wait: int
    weight_bound: int
    status: str
    seconds: float
    baseline_weight: int
    baseline_wait: int
    baseline_seconds: float
    wait_bound: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": "cp-sat",
            "weight": self.weight,
            "weighted_wait": self.weighted_wait,
            "weight_bound": self.weight_bound,
            "weighted_wait_bound": self.wait_bound,
            "status": self.status,
            "seconds": round(self.seconds, 2),
            "baseline": {
                "weight": self.baseline_weight,
                "weighted_wait": self.baseline_wait,
                "seconds": round(self.baseline_seconds, 2),
            },
        }


def _matching(demand: dict[int, int], allowed: dict[int, list[int]]) -> dict[int, list[int]] | None:
    """Give each left node demand[c] distinct right nodes from allowed[c] (augmenting paths)."""
    owner: dict[int, int] = {}

    def augment(c: int, seen: set[int]) -> bool:
        for r in allowed[c]:
            if r in seen:
                continue
            seen.add(r)
            if r not in owner or augment(owner[r], seen):
                owner[r] = c
                return True
        return False

    for c, n in demand.items():
        for _ in range(n):
            if not augment(c, set()):
                return None
    out: dict[int, list[int]] = {c: [] for c in demand}
    for r, c in owner.items():
        out[c].append(r)
    return out


def _closure(sets: list[frozenset[int]]) -> set[frozenset[int]]:
    """All non-empty intersections of some of the given sets (the Hall sets that can be tight)."""
    out = {x for x in sets if x}
    frontier = set(out)
    while frontier:
        new = {a & b for a in frontier for b in out} - out - {frozenset()}
        out |= new
        frontier = new
    return out


class _Model:
    """Couples choose (start day, slot); therapists and rooms choose the (day, slot) blocks they serve.

    The two sides meet per (day, slot): as many therapist blocks per team role and room blocks as couples
    start there, plus Hall's condition for the couple-specific restrictions (excluded therapists,
    accessible rooms). Hall's condition is exactly what makes the per-(day, slot) assignment of people
    and rooms to couples possible, so the model stays exact while having no couple-by-therapist-by-day
    variables; the assignment itself is recovered by bipartite matching after solving.
    """

    def __init__(self, p: Problem, cands: list[list[Candidate]], fixed: Occupancy | None = None) -> None:
        # fixed: blocks kept as they are (large-neighbourhood search); cands must already avoid them.
        self.p = p
        self.cands = cands
        self.fixed = fixed
        m = self.m = cp_model.CpModel()
        sizes = p.role_sizes()
        self.x: list[list[cp_model.IntVar]] = []
        self.y: list[cp_model.IntVar] = []
        at: dict[tuple[int, int], list[tuple[int, Candidate, cp_model.IntVar]]] = {}
        for ci, cs in enumerate(cands):
            xs = [m.new_bool_var(f"x{ci}_{k}") for k in range(len(cs))]
            # An explicit "scheduled" literal keeps the objective's domain at the total weight, which
            # the solver's bound otherwise starts far above.
            y = m.new_bool_var(f"y{ci}")
            m.add(sum(xs) == y)
            self.y.append(y)
            self.x.append(xs)
            for cand, x in zip(cs, xs, strict=True):
                at.setdefault((cand.day, cand.slot), []).append((ci, cand, x))

        self.t_start: dict[tuple[int, int, int], cp_model.IntVar] = {}
        self.r_start: dict[tuple[int, int, int], cp_model.IntVar] = {}
        for (d, s), here in at.items():
            for role, n in enumerate(sizes):
                pool = sorted({t for _, cand, _ in here for t in cand.pools[role]})
                occ = {t: self._start(self.t_start, (t, d, s)) for t in pool}
                m.add(sum(occ.values()) == n * sum(x for _, _, x in here))
                # Hall: couples whose options all avoid the therapists outside a set T get served only by T.
                barred = {ci: frozenset(pool) - frozenset(cand.pools[role]) for ci, cand, _ in here}
                for t_set in _closure(list(barred.values())):
                    who = [x for ci, _, x in here if t_set <= barred[ci]]
                    m.add(n * sum(who) <= sum(v for t, v in occ.items() if t not in t_set))
            rooms = sorted({r for _, cand, _ in here for r in cand.rooms})
            rocc = {r: self._start(self.r_start, (r, d, s)) for r in rooms}
            m.add(sum(rocc.values()) == sum(x for _, _, x in here))
            needy = [x for ci, _, x in here if p.couples[ci].needs_accessible]
            if needy:
                m.add(sum(needy) <= sum(v for r, v in rocc.items() if p.rooms[r].accessible))

        by_t: dict[int, dict[tuple[int, int], cp_model.IntVar]] = {}
        for (t, d, s), v in self.t_start.items():
            by_t.setdefault(t, {})[(d, s)] = v
        for t, starts in by_t.items():
            self._no_clash(
                starts, cap=p.therapists[t].cap, used=self.fixed.therapist[t] if self.fixed else None
            )
        by_r: dict[int, dict[tuple[int, int], cp_model.IntVar]] = {}
        for (r, d, s), v in self.r_start.items():
            by_r.setdefault(r, {})[(d, s)] = v
        for starts in by_r.values():
            self._no_clash(starts, cap=None)

        self.weight_expr = sum(p.couples[ci].weight * y for ci, y in enumerate(self.y))
        self.wait_expr = sum(
            p.couples[ci].weight * cands[ci][k].wait * x
            for ci, xs in enumerate(self.x)
            for k, x in enumerate(xs)
            if cands[ci][k].wait
        )

    def _start(
        self, table: dict[tuple[int, int, int], cp_model.IntVar], key: tuple[int, int, int]
    ) -> cp_model.IntVar:
        if key not in table:
            table[key] = self.m.new_bool_var("")
        return table[key]

    def _no_clash(
        self,
        starts: dict[tuple[int, int], cp_model.IntVar],
        cap: int | None,
        used: list[list[int]] | None = None,
    ) -> None:
        """A resource is in at most one session per moment and, with cap, in at most cap per date."""
        p = self.p
        b = p.block_days
        first = min(d for d, _ in starts)
        last = min(len(p.days) - 1, max(d for d, _ in starts) + b - 1)
        for i in range(first, last + 1):
            window = [(d, s) for d in range(max(0, i - b + 1), i + 1) for s in range(len(p.slots))]
            active = {ds: starts[ds] for ds in window if ds in starts}
            if not active:
                continue
            for group in p.slot_groups:
                lits = [v for (_, s), v in active.items() if s in group]
                if len(lits) > 1:
                    self.m.add_at_most_one(lits)
            left = None if cap is None else cap - (len(used[i]) if used else 0)
            if left is not None and len(active) > left and left < len(p.slots):
                self.m.add(sum(active.values()) <= left)

    def hint(self, assignments: list[Assignment]) -> None:
        m = self.m
        m.clear_hints()
        chosen = {(ci, d, s) for ci, d, s, _, _ in assignments}
        t_on = {(t, d, s) for _, d, s, team, _ in assignments for t in team}
        r_on = {(r, d, s) for _, d, s, _, r in assignments}
        for ci, cs in enumerate(self.cands):
            for cand, x in zip(cs, self.x[ci], strict=True):
                m.add_hint(x, (ci, cand.day, cand.slot) in chosen)
            m.add_hint(self.y[ci], any(a[0] == ci for a in assignments))
        for key, v in self.t_start.items():
            m.add_hint(v, key in t_on)
        for key, v in self.r_start.items():
            m.add_hint(v, key in r_on)

    def solution(self, solver: cp_model.CpSolver) -> list[Assignment]:
        p = self.p
        starting: dict[tuple[int, int], list[tuple[int, Candidate]]] = {}
        for ci, xs in enumerate(self.x):
            for cand, x in zip(self.cands[ci], xs, strict=True):
                if solver.boolean_value(x):
                    starting.setdefault((cand.day, cand.slot), []).append((ci, cand))
        t_on = {k for k, v in self.t_start.items() if solver.boolean_value(v)}
        r_on = {k for k, v in self.r_start.items() if solver.boolean_value(v)}
        out = []
        for (d, s), here in starting.items():
            teams: dict[int, list[int]] = {ci: [] for ci, _ in here}
            for role, n in enumerate(p.role_sizes()):
                got = _matching(
                    {ci: n for ci, _ in here},
                    {ci: [t for t in cand.pools[role] if (t, d, s) in t_on] for ci, cand in here},
                )
                if got is None:
                    raise RuntimeError(f"no therapist matching at day {d} slot {s}: Hall constraints broken")
                for ci, ts in got.items():
                    teams[ci].extend(ts)
            rooms = _matching(
                {ci: 1 for ci, _ in here},
                {ci: [r for r in cand.rooms if (r, d, s) in r_on] for ci, cand in here},
            )
            if rooms is None:
                raise RuntimeError(f"no room matching at day {d} slot {s}: Hall constraints broken")
            for ci, _ in here:
                out.append((ci, d, s, teams[ci], rooms[ci][0]))
        return out


def _better(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Score a (weight, wait) beats b: more weight, then less wait."""
    return (a[0], -a[1]) > (b[0], -b[1])


def _solver(seconds: float, workers: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.5, seconds)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 1
    return solver


# Above this many (couple, start day, slot) options the whole model spends most of a minute in presolve
# and improves slowly; large-neighbourhood search over windows of start days then does far better.
FULL_MODEL_LIMIT = 12_000
WINDOW_DAYS = 12
STEP_SECONDS = 3.0
MAX_SCALE = 6.0
STALL_STEPS = 5


Cache = dict[tuple[int, int, int], bool]


def fits(cache: Cache, test: Callable[[int, int, int], bool], k: int, cand: Candidate) -> bool:
    """test(k, day, slot), remembered: many couples share the same start day and slot."""
    key = (k, cand.day, cand.slot)
    if key not in cache:
        cache[key] = test(k, cand.day, cand.slot)
    return cache[key]


def _restrict(
    p: Problem,
    cands: list[Candidate],
    occ: Occupancy,
    lo: int,
    hi: int,
    cache: Cache,
    room_cache: Cache,
) -> list[Candidate]:
    """The candidates starting in [lo, hi) with only the therapists and rooms that occ leaves free."""
    out = []
    for cand in cands:
        if not lo <= cand.day < hi:
            continue
        pools = [[t for t in pool if fits(cache, occ.therapist_fits, t, cand)] for pool in cand.pools]
        if any(len(pool) < n for pool, n in zip(pools, p.role_sizes(), strict=True)):
            continue
        rooms = [r for r in cand.rooms if fits(room_cache, occ.room_fits, r, cand)]
        if rooms:
            out.append(Candidate(cand.day, cand.slot, pools, rooms, cand.wait))
    return out


def _lns(
    p: Problem,
    cands: list[list[Candidate]],
    start: list[Assignment],
    deadline: float,
    workers: int,
    weight_bound: int,
    wait_floor: int = 0,
) -> list[Assignment]:
    """Repeatedly free some blocks and re-plan them with the same exact model, everything else fixed.

    A step frees either every block starting in a random window of days or, in a window twice as long,
    only the blocks of a random third of the therapists. The freed couples and all unscheduled couples
    then compete for that window (more weight first, then less wait); a result is kept only when it is
    at least as good, so the plan never gets worse.
    """
    rng = random.Random(1)  # noqa: S311 - varies the search windows; not security
    best, best_score = start, baseline.score(p, start)
    n = p.n_starts
    # Small windows are cheap and find the first gains; once several in a row are solved quickly
    # without gaining weight the windows grow, and ones the solver cannot finish in a step shrink them.
    scale, stalled = 1.0, 0
    while time.monotonic() < deadline - 0.3 and (best_score[0] < weight_bound or best_score[1] > wait_floor):
        base_width = max(2, round(WINDOW_DAYS * scale))
        width = min(n, rng.randint(base_width // 2, base_width + base_width // 2))
        left_out = [ci for ci in range(len(p.couples)) if cands[ci] and ci not in {a[0] for a in best}]
        if left_out and rng.random() < 0.3:
            # Centre the window on a place where a left-out couple could go.
            around = rng.choice(cands[rng.choice(left_out)]).day
            lo = max(0, min(n - width, around - rng.randrange(width)))
        else:
            lo = rng.randrange(max(1, n - width + 1))
        hi = lo + width
        if rng.random() < 0.5:
            freed = [a for a in best if lo <= a[1] < hi]
        else:
            # A longer window but only the blocks of some therapists: lets teams be re-paired.
            hi = min(n, lo + 2 * width)
            some = set(rng.sample(range(len(p.therapists)), k=max(2, len(p.therapists) // 3)))
            freed = [a for a in best if lo <= a[1] < hi and some & set(a[3])]
        kept = [a for a in best if a not in freed]
        occ = Occupancy(p)
        for _, d, sl, team, r in kept:
            occ.take(d, sl, team, r)
        kept_couples = {a[0] for a in kept}
        cache: Cache = {}
        room_cache: Cache = {}
        sub = [
            [] if ci in kept_couples else _restrict(p, cands[ci], occ, lo, hi, cache, room_cache)
            for ci in range(len(p.couples))
        ]
        if not any(sub):
            continue
        model = _Model(p, sub, fixed=occ)
        big = (
            sum(p.couples[ci].weight * max((k.wait for k in cs), default=0) for ci, cs in enumerate(sub)) + 1
        )
        model.m.maximize(big * model.weight_expr - model.wait_expr)
        model.hint(freed)
        solver = _solver(min(STEP_SECONDS, deadline - time.monotonic()), workers)
        st = solver.solve(model.m)
        if st != cp_model.OPTIMAL:
            scale = max(0.5, scale / 1.3)
        if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            continue
        found = kept + model.solution(solver)
        found_score = baseline.score(p, found)
        if found_score[0] > best_score[0]:
            stalled = 0
        elif st == cp_model.OPTIMAL and solver.wall_time < STEP_SECONDS / 3:
            stalled += 1
            if stalled >= STALL_STEPS:
                scale, stalled = min(MAX_SCALE, scale * 1.2), 0
        if not _better(best_score, found_score):
            best, best_score = found, found_score
    return best


def _lp_bound(p: Problem, cands: list[list[Candidate]], seconds: float) -> int | None:
    """A proven upper bound on the total weight: the LP relaxation of the model (without the Hall cuts).

    Couples choose fractional (start day, slot) options; each therapist and room covers each (start day,
    slot) fractionally, at most one session per moment and (therapists) at most cap per date; every
    start needs as much role and room cover as couples start there. Every plan is a feasible point, so
    the LP optimum bounds the weight; it is only used when GLOP proves it optimal within `seconds`.
    """
    lp = pywraplp.Solver.CreateSolver("GLOP")
    if lp is None or seconds <= 0:
        return None
    lp.SetTimeLimit(int(seconds * 1000))
    b = p.block_days
    objective = lp.Objective()
    at: dict[tuple[int, int], list[tuple[Candidate, Any]]] = {}
    for ci, cs in enumerate(cands):
        if not cs:
            continue
        one = lp.Constraint(0, 1)
        for cand in cs:
            x = lp.NumVar(0, 1, "")
            one.SetCoefficient(x, 1)
            objective.SetCoefficient(x, p.couples[ci].weight)
            at.setdefault((cand.day, cand.slot), []).append((cand, x))
    cover: dict[tuple[str, int], dict[tuple[int, int], Any]] = {}

    def var(kind: str, k: int, d: int, s: int) -> Any:
        table = cover.setdefault((kind, k), {})
        if (d, s) not in table:
            table[(d, s)] = lp.NumVar(0, 1, "")
        return table[(d, s)]

    for (d, s), here in at.items():
        for role, n in enumerate(p.role_sizes()):
            need = lp.Constraint(0, lp.infinity())
            for t in sorted({t for cand, _ in here for t in cand.pools[role]}):
                need.SetCoefficient(var("t", t, d, s), 1)
            for _, x in here:
                need.SetCoefficient(x, -n)
        need = lp.Constraint(0, lp.infinity())
        for r in sorted({r for cand, _ in here for r in cand.rooms}):
            need.SetCoefficient(var("r", r, d, s), 1)
        for _, x in here:
            need.SetCoefficient(x, -1)

    for (kind, k), table in cover.items():
        cap = p.therapists[k].cap if kind == "t" else None
        by_day: dict[int, list[tuple[int, Any]]] = {}
        for (d, s), v in table.items():
            for i in range(d, d + b):
                by_day.setdefault(i, []).append((s, v))
        for active in by_day.values():
            for group in p.slot_groups:
                vs = [v for s, v in active if s in group]
                if len(vs) > 1:
                    one = lp.Constraint(0, 1)
                    for v in vs:
                        one.SetCoefficient(v, 1)
            if cap is not None and len(active) > cap:
                most = lp.Constraint(0, cap)
                for _, v in active:
                    most.SetCoefficient(v, 1)
    objective.SetMaximization()
    if lp.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    return math.floor(objective.Value() + 1e-6)


# The share of the time limit the LP bound may take on instances planned by windows only.
LP_SHARE = 0.25


@dataclass
class _Progress:
    """The best plan so far, its (weight, wait) score, and what is proven about it."""

    best: list[Assignment]
    score: tuple[int, int]
    status: str
    weight_bound: int
    proven: bool
    wait_bound: int | None = None

    def offer(self, p: Problem, found: list[Assignment]) -> None:
        found_score = baseline.score(p, found)
        if _better(found_score, self.score):
            self.best, self.score = found, found_score

    def take(self, p: Problem, found: list[Assignment]) -> None:
        """Keep `found` whatever its score (the windowed search never returns a worse plan)."""
        self.best, self.score = found, baseline.score(p, found)


def plan_with_stats(
    instance: dict[str, Any], time_limit: float = 60.0, workers: int = 2
) -> tuple[dict[str, Any], Stats]:
    """Plan the instance within about time_limit seconds of wall time; return the plan and its stats.

    The baseline first; then the whole CP-SAT model when the instance is small enough (weight, then
    wait), else an LP bound and the windowed search; finally spare capacity is filled.
    """
    began = time.monotonic()
    deadline = began + time_limit
    p = parse(instance)
    base, cands = baseline.solve(p)
    base_seconds = time.monotonic() - began
    base_score = baseline.score(p, base)
    weight_bound = sum(c.weight for ci, c in enumerate(p.couples) if cands[ci])
    done = _Progress(base, base_score, "BASELINE", weight_bound, proven=weight_bound == base_score[0])
    if any(cands) and sum(map(len, cands)) <= FULL_MODEL_LIMIT:
        _solve_whole(p, cands, done, deadline, workers)
    elif any(cands):
        lp = _lp_bound(p, cands, min(time_limit * LP_SHARE, deadline - time.monotonic() - 1.0))
        if lp is not None:
            done.weight_bound = min(done.weight_bound, lp)
        done.take(p, _lns(p, cands, base, deadline, workers, done.weight_bound))
        done.proven = done.weight_bound == done.score[0]
        done.status = "LNS"
    _fill_spare(p, cands, done)
    if done.proven:
        why = "no plan schedules more total weight (proven optimal)"
    else:
        why = (
            "the solver found no plan with more total weight within the time limit "
            f"(bound {done.weight_bound})"
        )
    result = baseline.render(p, done.best, cands, why)
    stats = Stats(
        weight=done.score[0],
        weighted_wait=done.score[1],
        weight_bound=max(done.weight_bound, done.score[0]),
        status=done.status,
        seconds=time.monotonic() - began,
        baseline_weight=base_score[0],
        baseline_wait=base_score[1],
        baseline_seconds=base_seconds,
        wait_bound=done.wait_bound,
    )
    return result, stats


def _solve_whole(
    p: Problem, cands: list[list[Candidate]], done: _Progress, deadline: float, workers: int
) -> None:
    """The whole model: the most weight first; then, once that is proven, the least wait at that weight,
    or the windowed search when the whole model cannot settle the wait in time."""
    model = _Model(p, cands)
    model.hint(done.best)
    solver = _solver((deadline - time.monotonic()) * 0.75, workers)
    model.m.maximize(model.weight_expr)
    st = solver.solve(model.m)
    if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return
    done.offer(p, model.solution(solver))
    # Integer weights: the bound can be rounded down, with slack for floating-point noise.
    done.weight_bound = min(done.weight_bound, math.floor(solver.best_objective_bound + 1e-6))
    done.proven = st == cp_model.OPTIMAL or done.weight_bound == done.score[0]
    done.status = solver.status_name(st)
    wait_done = False
    # The whole model pays off for the wait only once the weight is settled and time remains.
    if done.proven and deadline - time.monotonic() > 1.0:
        wait_done = _settle_wait(p, model, done, deadline, workers)
    if not wait_done and deadline - time.monotonic() > 1.0:
        done.take(p, _lns(p, cands, done.best, deadline, workers, done.weight_bound, done.wait_bound or 0))
        done.proven = done.proven or done.weight_bound == done.score[0]
        done.status += "+LNS"


def _settle_wait(p: Problem, model: _Model, done: _Progress, deadline: float, workers: int) -> bool:
    """Minimise the wait at the proven best weight; True when that wait is proven optimal."""
    model.m.add(model.weight_expr >= done.score[0])
    model.m.minimize(model.wait_expr)
    model.hint(done.best)
    # Half the rest: if the whole model cannot prove the wait optimal quickly, windows do better.
    solver = _solver((deadline - time.monotonic()) * 0.5, workers)
    st = solver.solve(model.m)
    if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return False
    done.offer(p, model.solution(solver))
    if done.score[0] >= done.weight_bound:  # a wait bound only means something at the best weight
        done.wait_bound = math.ceil(solver.best_objective_bound - 1e-6)
    done.status += "/" + solver.status_name(st)
    return st == cp_model.OPTIMAL


def _fill_spare(p: Problem, cands: list[list[Candidate]], done: _Progress) -> None:
    """Add anything the solver left in spare capacity (only possible when it ran out of time)."""
    occ = Occupancy(p)
    for _, d, s, team, r in done.best:
        occ.take(d, s, team, r)
    given = {a[0] for a in done.best}
    extra = baseline.fill(p, occ, [ci for ci in baseline.priority_order(p.couples) if ci not in given], cands)
    if extra:
        done.take(p, done.best + extra)


def plan(instance: dict[str, Any], time_limit: float = 60.0) -> dict[str, Any]:
    """The plan dict of the format, with an extra "stats" key (the checker ignores unknown keys)."""
    result, stats = plan_with_stats(instance, time_limit)
    result["stats"] = stats.as_dict()
    return result
