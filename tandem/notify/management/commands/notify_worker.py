"""The background worker: schedules and sends reminders. Any number may run; each job is sent once."""

from typing import Any

from django.core.management.base import BaseCommand

from tandem.lib.worker import run_worker_loop, worker_name
from tandem.notify.services import run_once


class Command(BaseCommand):
    help = "Send due appointment reminders and homework nudges (loops until stopped)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Do one pass and stop.")
        parser.add_argument("--interval", type=float, default=30.0, help="Seconds between passes.")

    def handle(self, *args: Any, **options: Any) -> None:
        worker = worker_name()

        def one_pass() -> None:
            n = run_once(worker=worker)
            if n:
                self.stdout.write(f"{worker}: sent {n}")

        run_worker_loop(one_pass=one_pass, interval=options["interval"], once=options["once"])
