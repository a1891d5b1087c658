"""`manage.py plan_intensives INSTANCE.json --out PLAN.json [--time-limit SECONDS]`.

Plans an intensive-planning instance file (format in ``docs/intensive-planning.md``) and writes the
plan file, so that plans can be checked with ``manage.py check_plan`` and benchmarked outside the app.
The plan is only written once it exists: bad input leaves no half-written or stale-looking file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tandem.planning.core import plan_with_stats
from tandem.planning.instance import InstanceError


class Command(BaseCommand):
    help = "Plan intensive blocks for a waiting list (instance JSON) and write the plan JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("instance", help="instance JSON file")
        parser.add_argument("--out", required=True, help="where to write the plan JSON")
        parser.add_argument(
            "--time-limit",
            type=float,
            default=60.0,
            help="seconds the planner may take (default 60); the best plan found by then is written",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["instance"])
        out = Path(options["out"])
        limit = options["time_limit"]
        if not limit > 0:
            raise CommandError("--time-limit must be a positive number of seconds")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot read instance {path}: {exc.strerror or exc}") from None
        try:
            instance = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"instance {path} is not valid JSON: {exc}") from None
        if not out.parent.is_dir():
            raise CommandError(f"cannot write plan: directory {out.parent} does not exist")
        try:
            result, stats = plan_with_stats(instance, time_limit=limit)
        except InstanceError as exc:
            raise CommandError(f"instance {path} is not a valid instance: {exc}") from None

        result["stats"] = stats.as_dict()
        # Write to a temporary file and rename, so a crash or a full disk never leaves a partial plan.
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".plan-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(result, f, indent=1)
                f.write("\n")
            os.replace(tmp, out)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise CommandError(f"cannot write plan {out}: {exc.strerror or exc}") from None

        n = len(result["blocks"]) + len(result["unscheduled"])
        wait_bound = "" if stats.wait_bound is None else f" (bound {stats.wait_bound})"
        self.stdout.write(
            f"solver:   {len(result['blocks'])}/{n} couples, weight {stats.weight} "
            f"(bound {stats.weight_bound}), weighted wait {stats.weighted_wait} days{wait_bound}, "
            f"{stats.seconds:.1f} s, {stats.status}"
        )
        self.stdout.write(
            f"baseline: weight {stats.baseline_weight}, weighted wait {stats.baseline_wait} days, "
            f"{stats.baseline_seconds:.1f} s (first come, first served)"
        )
        self.stdout.write(f"plan written to {out}")
