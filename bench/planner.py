"""Intensive planner benchmark: first-come-first-served baseline against the CP-SAT planner.

    .venv/bin/python bench/planner.py [--time-limit SECONDS] [INSTANCE.json ...]

By default it plans the committed examples tandem/planning/examples/{medium,large}.json (written by
`manage.py make_instance`, format in docs/intensive-planning.md), checks every plan with
tandem.planning.checker and prints one row per instance and method.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

# bench/http.py would shadow the standard library's http package (which Django imports) for every script
# run from this folder, whose own folder Python puts first on the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tandem.planning import baseline, core  # noqa: E402
from tandem.planning.checker import Figures, check  # noqa: E402

EXAMPLES = REPO / "tandem" / "planning" / "examples"


def checked(instance: dict[str, Any], plan: dict[str, Any]) -> tuple[bool, Figures]:
    """Valid or not, and the figures, as the checker computes them from the plan written out as JSON."""
    verdict = check(instance, json.loads(json.dumps(plan)))
    for violation in verdict.violations:
        print(f"  {violation}")
    return verdict.ok, verdict.figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds for the solver (default 60)")
    parser.add_argument(
        "instances", nargs="*", type=Path, default=[EXAMPLES / "medium.json", EXAMPLES / "large.json"]
    )
    args = parser.parse_args()

    header = (
        f"{'instance':<12} {'couples':>7} {'method':<8} {'weight':>9} {'w. wait':>8} {'bound':>6} "
        f"{'seconds':>8} check"
    )
    print(header)
    print("-" * len(header))
    ok_all = True
    for path in args.instances:
        instance = json.loads(path.read_text())
        total = sum(c.get("weight", 1) for c in instance["couples"])
        t0 = time.monotonic()
        base_plan = baseline.plan(instance)
        base_seconds = time.monotonic() - t0
        result, stats = core.plan_with_stats(instance, time_limit=args.time_limit)
        rows = [
            ("baseline", base_plan, "", base_seconds),
            ("cp-sat", result, str(stats.weight_bound), stats.seconds),
        ]
        for method, plan, bound, seconds in rows:
            ok, figures = checked(instance, plan)
            ok_all &= ok
            print(
                f"{path.stem:<12} {len(instance['couples']):>7} {method:<8} "
                f"{figures.weight_scheduled:>4}/{total:<4} {figures.weighted_wait:>8} {bound:>6} "
                f"{seconds:>8.1f} {'OK' if ok else 'INVALID'}"
            )
        gain = 100.0 * (stats.weight - stats.baseline_weight) / max(1, stats.baseline_weight)
        print(f"{'':<12} cp-sat vs baseline: {gain:+.1f}% weight, status {stats.status}")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
