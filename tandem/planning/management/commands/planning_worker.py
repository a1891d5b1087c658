"""The planning worker: solves queued planning runs so that no web request waits on the solver.

Any number may run; each run is claimed by one. `run_pending` can also be called from another worker's
loop (see tandem.planning.services).
"""

import os
import signal
import socket
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from tandem.planning.services import run_pending


class Command(BaseCommand):
    help = "Solve queued intensive-planning runs (loops until stopped)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Do one pass and stop.")
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between passes.")

    def handle(self, *args: Any, **options: Any) -> None:
        worker = f"{socket.gethostname()}:{os.getpid()}"
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True  # finish the current run, then leave

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while True:
            solved = run_pending(worker=worker)
            if solved:
                self.stdout.write(f"{worker}: solved {solved} planning run(s)")
            if options["once"] or stopping:
                return
            slept = 0.0
            while slept < options["interval"] and not stopping:
                time.sleep(0.5)
                slept += 0.5
            if stopping:
                return
            close_old_connections()
