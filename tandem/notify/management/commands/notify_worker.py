"""The background worker: schedules and sends reminders. Any number may run; each job is sent once."""

import os
import signal
import socket
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from tandem.notify.services import run_once


class Command(BaseCommand):
    help = "Send due appointment reminders and homework nudges (loops until stopped)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Do one pass and stop.")
        parser.add_argument("--interval", type=float, default=30.0, help="Seconds between passes.")

    def handle(self, *args: Any, **options: Any) -> None:
        worker = f"{socket.gethostname()}:{os.getpid()}"
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True  # finish the current pass, then leave

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while True:
            sent = run_once(worker=worker)
            if sent:
                self.stdout.write(f"{worker}: sent {sent}")
            if options["once"] or stopping:
                return
            slept = 0.0
            while slept < options["interval"] and not stopping:
                time.sleep(0.5)
                slept += 0.5
            if stopping:
                return
            # A long-running process must drop connections the database closed or that grew too old.
            close_old_connections()
