"""The loop both background workers run: a pass, a short interruptible sleep, stop cleanly on a signal."""

import os
import signal
import socket
import time
from collections.abc import Callable

from django.db import close_old_connections


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_worker_loop(*, one_pass: Callable[[], None], interval: float, once: bool) -> None:
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True  # finish the current pass, then leave

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
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
