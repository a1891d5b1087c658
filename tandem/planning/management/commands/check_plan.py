"""`manage.py check_plan INSTANCE.json PLAN.json`: is the plan valid for the instance, and what does it score?

Prints ``OK`` with the plan's figures, or each violated rule; exits 1 when the plan breaks any rule or a
file cannot be read (rules in ``docs/intensive-planning.md``, checks in ``tandem.planning.checker``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tandem.planning.checker import check
from tandem.planning.instance import InstanceError


def _read(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CommandError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CommandError(f"{what} {path} is not valid JSON: {exc}") from None


class Command(BaseCommand):
    help = "Check an intensive plan (JSON) against its instance (JSON) and print its figures."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("instance", help="instance JSON file")
        parser.add_argument("plan", help="plan JSON file")

    def handle(self, *args: Any, **options: Any) -> None:
        instance = _read(Path(options["instance"]), "instance")
        plan = _read(Path(options["plan"]), "plan")
        try:
            verdict = check(instance, plan)
        except InstanceError as exc:
            raise CommandError(f"instance {options['instance']} is not a valid instance: {exc}") from None
        f = verdict.figures
        figures = (
            f"{f.scheduled}/{f.couples} couples scheduled, weight scheduled {f.weight_scheduled}/"
            f"{f.weight_total}, weighted wait {f.weighted_wait} days"
        )
        if verdict.ok:
            self.stdout.write(f"OK: {figures}")
            return
        for violation in verdict.violations:
            self.stdout.write(violation)
        raise CommandError(f"INVALID: the plan breaks {len(verdict.violations)} rule(s) ({figures})")
