"""Under load: each page of bench/catalog.py served by gunicorn while several clients ask at once.

    .venv/bin/python bench/http.py [--seconds 60] [--clients 10] [--workers 2] [--threads 1] [--port 8107]
                                   [--only NAME] [--json]

Uses the database bench/pages.py uses (DATABASE_URL, or its default SQLite file), which must already hold
the seeded practice: run bench/pages.py once first. Collects the static files (as a deployment does),
starts gunicorn with --workers on 127.0.0.1:--port in production mode, logs in as the demo therapist,
director and client (sessions made in the database, second factor verified), then for each page and
role keeps --clients concurrent keep-alive connections busy for --seconds and prints requests per
second, p50/p95/p99 latency and errors (any answer other than 200, or a failed connection).
The load generator runs on the same machine, so it takes some of the CPU from the server.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

# This file's name would shadow the standard library's http package: its folder comes off the path first.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import http.client  # noqa: E402

from bench.pages import ROOT, configure_environment, practice_day_label  # noqa: E402

TARGET_P95_MS = 250.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="per page and role (default 60)")
    parser.add_argument("--clients", type=int, default=10, help="concurrent clients (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker (default 1: gunicorn's sync workers)"
    )
    parser.add_argument("--port", type=int, default=8107, help="port to serve on (default 8107)")
    parser.add_argument("--only", default="", help="only pages whose name contains this (case-insensitive)")
    parser.add_argument("--json", action="store_true", help="one JSON object per page and role")
    args = parser.parse_args()
    if args.seconds <= 0 or args.clients < 1 or args.workers < 1 or args.threads < 1:
        parser.error("--seconds, --clients, --workers and --threads must be positive")
    return args


@dataclass
class Outcome:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return math.nan
        return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Target:
    method: str
    path: str
    body: bytes | None
    headers: dict[str, str]


def hammer(port: int, target: Target, until: float, outcome: Outcome) -> None:
    """One client: requests back to back on one keep-alive connection until the time is up."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            conn.request(target.method, target.path, body=target.body, headers=target.headers)
            response = conn.getresponse()
            response.read()
            failed = "" if response.status == 200 else f"status {response.status}"
        except (OSError, http.client.HTTPException) as error:
            failed = type(error).__name__
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        elapsed = (time.perf_counter() - started) * 1000
        with outcome.lock:
            if failed:
                outcome.errors += 1
                outcome.first_error = outcome.first_error or failed
            else:
                outcome.latencies_ms.append(elapsed)
    conn.close()


def start_server(args: argparse.Namespace) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "gunicorn", "tandem.wsgi", "--workers", str(args.workers)]
    command += ["--threads", str(args.threads)]
    command += ["--bind", f"127.0.0.1:{args.port}", "--log-level", "warning"]
    # Its request log (one JSON line per request) is written, as in production, but not shown.
    server = subprocess.Popen(command, cwd=ROOT, env=dict(os.environ), stderr=subprocess.DEVNULL)  # noqa: S603
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=5)
            conn.request("GET", "/accounts/login/")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.5)
    server.send_signal(signal.SIGTERM)
    raise SystemExit("gunicorn did not answer within 60 s")


def cookies_for(port: int, session_key: str, cookie_name: str, csrf_name: str) -> tuple[str, str]:
    """The session cookie plus a CSRF cookie (needed for the search form's POST) and its token."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/accounts/login/")
    response = conn.getresponse()
    response.read()
    found = re.search(rf"{csrf_name}=([^;]+)", response.getheader("Set-Cookie") or "")
    token = found.group(1) if found else ""
    return f"{cookie_name}={session_key}; {csrf_name}={token}", token


def main() -> None:
    args = parse_args()
    configure_environment()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from bench import catalog

    call_command("collectstatic", interactive=False, verbosity=0)
    fixtures = catalog.fixtures()
    server = start_server(args)
    rows = []
    try:
        for page, roles, build in catalog.PAGES:
            request = build(fixtures)
            if request is None or args.only.lower() not in page.lower():
                continue
            for role in roles:
                # A new log-in for each page: a full run lasts longer than a session may stay idle (the
                # client's pages come last, after the staff's), and an ended session answers 302.
                session_key = catalog.session_for(role).session.session_key
                names = (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME)
                cookie, token = cookies_for(args.port, session_key, *names)
                headers = {"Cookie": cookie, "Host": "127.0.0.1", **request.headers}
                body = None
                if request.data is not None:
                    body = urlencode(request.data).encode()
                    headers |= {"Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": token}
                target = Target("POST" if body else "GET", request.url, body, headers)
                rows.append(run_one(args, page, role, target))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    report(args, rows)


def run_one(args: argparse.Namespace, page: str, role: str, target: Target) -> dict[str, Any]:
    outcome = Outcome()
    # A short warm-up so that each worker has compiled its templates before the clock starts.
    hammer(args.port, target, time.perf_counter() + 1, Outcome())
    until = time.perf_counter() + args.seconds
    threads = [
        threading.Thread(target=hammer, args=(args.port, target, until, outcome)) for _ in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    row = {
        "page": page,
        "role": role,
        "clients": args.clients,
        "workers": args.workers,
        "threads": args.threads,
        "seconds": args.seconds,
        "req_s": round(len(outcome.latencies_ms) / args.seconds, 1),
        "p50_ms": round(outcome.percentile(0.50), 1),
        "p95_ms": round(outcome.percentile(0.95), 1),
        "p99_ms": round(outcome.percentile(0.99), 1),
        "errors": outcome.errors,
        "first_error": outcome.first_error,
        "day": practice_day_label(),
        "load_1m": round(os.getloadavg()[0], 2),
    }
    if args.json:
        print(json.dumps(row), flush=True)
    return row


def report(args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    if args.json:
        return
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"gunicorn {args.workers} workers x {args.threads} threads, {args.clients} clients, "
        f"{args.seconds:g} s per page; "
        f"load average {load}; practice day {practice_day_label()}"
    )
    header = f"{'page':<20} {'role':<10} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}"
    print(header)
    print("-" * len(header))
    for r in rows:
        flag = "  <-- over" if r["p95_ms"] > TARGET_P95_MS or r["errors"] else ""
        print(
            f"{r['page']:<20} {r['role']:<10} {r['req_s']:>7.1f} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} "
            f"{r['p99_ms']:>8.1f} {r['errors']:>7}{flag}"
        )
        if r["first_error"]:
            print(f"    first error: {r['first_error']}")


if __name__ == "__main__":
    main()
