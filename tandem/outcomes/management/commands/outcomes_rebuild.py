"""Rewrite the whole outcomes registry from the stored records (after an import, a restore, or a
refresh that failed after its commit: the services keep it fresh case by case)."""

import time
from typing import Any

from django.core.management.base import BaseCommand

from tandem.outcomes.services import outcome_rows_refresh


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        written = outcome_rows_refresh()
        self.stdout.write(
            f"Rebuilt the outcomes registry: {written:,} rows in {time.monotonic() - started:.1f} s."
        )
