"""Rewrite the kept intensive waiting list from its definition (after an import, a restore, or a refresh
that failed after its commit: the services keep it up to date case by case)."""

from typing import Any

from django.core.management.base import BaseCommand

from tandem.planning.waiting import waiting_refresh


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        waiting = waiting_refresh()
        cases = "1 case" if waiting == 1 else f"{waiting} cases"
        self.stdout.write(f"Rebuilt the intensive waiting list: {cases} waiting.")
