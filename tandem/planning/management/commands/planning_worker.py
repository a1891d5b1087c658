"""The planning worker: solves queued planning runs so that no web request waits on the solver.

Any number may run; each run is claimed by one. `run_pending` can also be called from another worker's
loop (see tandem.planning.services).
"""

from typing import Any

from django.core.management.base import BaseCommand

from tandem.lib.worker import run_worker_loop, worker_name
from tandem.planning.services import run_pending


class Command(BaseCommand):
    help = "Solve queued intensive-planning runs (loops until stopped)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Do one pass and stop.")
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between passes.")

    def handle(self, *args: Any, **options: Any) -> None:
        worker = worker_name()

        def one_pass() -> None:
            n = run_pending(worker=worker)
            if n:
                self.stdout.write(f"{worker}: solved {n} planning run(s)")

        run_worker_loop(
            one_pass=one_pass, interval=options["interval"], once=options["once"], kind="planning"
        )
