from typing import Any

from django.core.management.base import BaseCommand

from tandem.measures.loader import load_instruments


class Command(BaseCommand):
    help = "Load (or update) the shipped instrument definitions into the library. Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        for code, outcome in load_instruments():
            self.stdout.write(f"{code}: {outcome}")
