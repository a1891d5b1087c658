"""The background worker: schedules and sends reminders and queued e-mails, closes the video rooms of
sessions that are over, and anchors the audit head.

Any number may run; each job is sent once. With AUDIT_ANCHOR_PATH set, each worker also appends the audit
chain's head to the anchor file every AUDIT_ANCHOR_SECONDS, so no cron entry is needed for it.
"""

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from tandem.audit.anchor import anchor_path, anchor_write
from tandem.lib.worker import run_worker_loop, worker_name
from tandem.notify.services import run_once
from tandem.video.later import video_rooms_close_due


class Command(BaseCommand):
    help = "Send due appointment reminders, homework nudges and queued e-mails (loops until stopped)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Do one pass and stop.")
        parser.add_argument("--interval", type=float, default=30.0, help="Seconds between passes.")

    def handle(self, *args: Any, **options: Any) -> None:
        worker = worker_name()
        last_anchor: float | None = None

        def one_pass() -> None:
            nonlocal last_anchor
            n = run_once(worker=worker)
            if n:
                self.stdout.write(f"{worker}: sent {n}")
            closed = video_rooms_close_due()
            if closed:
                self.stdout.write(f"{worker}: closed {closed} video room(s)")
            path = anchor_path()
            due = last_anchor is None or time.monotonic() - last_anchor >= settings.AUDIT_ANCHOR_SECONDS
            if path is not None and due:
                anchor_write(path=path)
                last_anchor = time.monotonic()

        run_worker_loop(one_pass=one_pass, interval=options["interval"], once=options["once"], kind="notify")
