"""`manage.py seed_demo`: the synthetic demo practice (or, with --cases N, a large one for benchmarks)."""

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tandem.demo import build as demo
from tandem.demo.data import DEFAULT_SEED
from tandem.demo.logins import login_lines


class Command(BaseCommand):
    help = "Create the synthetic demo practice once (later runs change nothing) and print the demo log-ins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--cases",
            type=int,
            default=None,
            help="Build a large synthetic practice with this many cases and years of history (benchmarks).",
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="Random seed (default %(default)s)."
        )

    def _progress(self, message: str) -> None:
        self.stdout.write(f"  ... {time.monotonic() - self._started:6.1f} s  {message}")
        self.stdout.flush()

    def handle(self, *args: Any, cases: int | None, seed: int, **options: Any) -> None:
        if cases is not None and cases < 1:
            raise CommandError("--cases must be at least 1")
        # The large build takes minutes: say how far it got.
        self._started = time.monotonic()
        report = demo.seed(
            cases=cases, seed=seed, progress=self._progress if cases is not None else demo.quiet
        )
        if report.created:
            self.stdout.write(
                f"Created the demo practice: {report.cases:,} cases, {report.appointments:,} appointments "
                f"in {report.seconds:.1f} s."
            )
            if options["verbosity"] > 1:
                for name, count in demo.counts().items():
                    self.stdout.write(f"  {name:<24} {count:>10,}")
        else:
            self.stdout.write(
                f"The demo practice already exists ({report.cases:,} cases); nothing rebuilt"
                + (f", {report.added_today} sessions added for today." if report.added_today else ".")
            )
            if cases is not None and cases != report.cases:
                self.stderr.write(
                    f"Asked for {cases:,} cases but the database holds {report.cases:,}: "
                    "use a fresh database to build a practice of another size."
                )
        for line in login_lines():
            self.stdout.write(line)
        if settings.TANDEM_STAFF_MFA_REQUIRED:
            self.stdout.write("Staff second factor is required: staff log-ins will be asked to set one up.")
