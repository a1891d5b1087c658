"""`manage.py score_measure CODE V1 … Vn`: the interface outside checks run, so its output is fixed.

stdout carries exactly one JSON object; anything else (missing items, errors) goes to stderr. Wrong input
exits 2. The shipped definition files are read directly, so scoring needs no database.
"""

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tandem.measures import engine

USAGE_ERROR = 2


class Command(BaseCommand):
    help = "Score one questionnaire: CODE then each item's scored value in item order ('-' if missing)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help=" ".join(engine.instrument_codes()))
        # Values are taken as strings so that "-" and non-numbers reach our own, item-naming checks.
        parser.add_argument("values", nargs="*")

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["code"]
        try:
            definition = engine.load_definition(code)
            answers = engine.parse_values(definition, options["values"])
        except engine.InvalidAnswers as exc:
            self.stderr.write(f"score_measure: {exc}")
            sys.exit(USAGE_ERROR)
        result = engine.score(definition, answers)
        if result.missing:
            self.stderr.write(
                f"{code}: missing item(s) {', '.join(result.missing)}; scores that need them are null"
            )
        self.stdout.write(json.dumps(result.as_json(definition)))
