"""The loop both background workers run: a pass, a short interruptible sleep, stop cleanly on a signal.

Each pass starts with a heartbeat row (tandem_lib.WorkerHeartbeat), which the health endpoint reads; a
clean stop removes the row.
"""

import datetime as dt
import os
import signal
import socket
import time
from collections.abc import Callable

from django.db import close_old_connections
from django.utils import timezone


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat(*, name: str, kind: str) -> None:
    from tandem.lib.models import WorkerHeartbeat

    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"kind": kind, "beat_at": now})
    # Rows of workers that died a day ago say nothing any more.
    WorkerHeartbeat.objects.filter(beat_at__lt=now - dt.timedelta(days=1)).delete()


def heartbeat_stop(*, name: str) -> None:
    from tandem.lib.models import WorkerHeartbeat

    WorkerHeartbeat.objects.filter(name=name).delete()


def run_worker_loop(*, one_pass: Callable[[], None], interval: float, once: bool, kind: str = "") -> None:
    stopping = False
    name = worker_name()

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True  # finish the current pass, then leave

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while True:
            if kind:
                heartbeat(name=name, kind=kind)
            one_pass()
            if once or stopping:
                return
            slept = 0.0
            while slept < interval and not stopping:
                time.sleep(0.5)
                slept += 0.5
            if stopping:
                return
            # A long-running process must drop connections the database closed or that grew too old.
            close_old_connections()
    finally:
        if kind and not once:
            heartbeat_stop(name=name)
