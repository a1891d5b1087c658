"""Time the pages people open all day at the size of a large group practice with years of history.

    .venv/bin/python bench/pages.py [--cases 20000] [--requests 30] [--warmups 3] [--fresh] [--json]
                                    [--only NAME] [--growth --small-url URL --large-url URL]

Runs on its own database (DATABASE_URL, default an SQLite file in /tmp), which it migrates and fills with
`seed_demo --cases N` the first time, then logs in as the demo therapist and the director the way a
browser would end up (password done, second factor verified) and requests each page of
bench/catalog.py through Django's test client: the whole middleware stack, templates and queries,
without a network in between. Database time is the time spent inside the driver's execute calls.

--json prints one JSON object per page and role (page, role, cases, p50_ms, p95_ms, queries, db_p50_ms,
kb, and the practice's day and the load average when it was timed).
--growth runs the same pages on a small and a large practice (two databases, each seeded once; the two
sizes take turns page by page, each in its own process) and prints
the ratio of total and of database time, large over small.

Runs production-like (DEBUG off, so no query logging and no template debug data) unless DEBUG is set
in the environment. Any page that does not answer 200 stops the run with the reason.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sqlite3
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# bench/http.py would shadow the standard library's http package (which Django imports) for every script
# run from this folder, whose own folder Python puts first on the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = Path(os.environ.get("BENCH_SQLITE", "/tmp/tandem-bench.sqlite3"))  # noqa: S108 -- a throwaway benchmark database
GROWTH_LIMIT = 1.5


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cases", type=int, default=20_000, help="practice size in cases (default %(default)s)"
    )
    parser.add_argument(
        "--requests", type=int, default=30, help="timed requests per page (default %(default)s)"
    )
    parser.add_argument("--warmups", type=int, default=3, help="untimed requests first (default %(default)s)")
    parser.add_argument("--fresh", action="store_true", help="rebuild the benchmark database from scratch")
    parser.add_argument("--json", action="store_true", help="one JSON object per page and role")
    parser.add_argument("--only", default="", help="only pages whose name contains this (case-insensitive)")
    parser.add_argument("--growth", action="store_true", help="compare a small and a large practice")
    parser.add_argument("--small-cases", type=int, default=2_000, help="growth mode: small size")
    parser.add_argument("--small-url", default="", help="growth mode: DATABASE_URL of the small practice")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="growth mode: rounds over every page, the sizes taking turns (default %(default)s)",
    )
    parser.add_argument("--large-url", default="", help="growth mode: DATABASE_URL of the large practice")
    # The growth mode's own use: one size's process, timing the pages it is asked for on standard input.
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cases < 1 or args.requests < 1 or args.warmups < 1 or args.rounds < 1:
        parser.error("--cases, --requests, --warmups and --rounds must be at least 1")
    return args


def configure_environment() -> None:
    """Everything that must be in place before Django reads its settings."""
    sys.path.insert(0, str(ROOT))
    # Note text is encrypted at rest; with DEBUG off the key must be given (this one is for benchmarks).
    # One JSON line per request on standard error would drown the figures.
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("TANDEM_FIELD_KEYS", "YmVuY2gtb25seS1maWVsZC1rZXktbm90LXNlY3JldCE=")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tandem.settings")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{DEFAULT_DB}")
    hosts = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
    os.environ["ALLOWED_HOSTS"] = ",".join([*hosts, "testserver"])
    if os.environ.setdefault("DEBUG", "0") in ("0", "false", "no", "off"):
        # Production mode needs its secrets; these exist only for this throwaway database.
        os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment-7f3c9a1e5b2d")
        os.environ.setdefault("AUDIT_HMAC_KEY", "bench-only-audit-key-not-for-any-deployment-41d8e0c6a9")
        # The test client speaks plain HTTP; an HTTPS redirect would answer every page with 301.
        os.environ.setdefault("SECURE_SSL_REDIRECT", "0")


def drop_stale_sqlite(cases: int, fresh: bool) -> None:
    """Delete the default benchmark file when it holds a practice of another size (or --fresh)."""
    if os.environ["DATABASE_URL"] != f"sqlite:///{DEFAULT_DB}" or not DEFAULT_DB.exists():
        return
    stale = fresh
    if not stale:
        try:
            with sqlite3.connect(DEFAULT_DB) as db:
                (count,) = db.execute("SELECT count(*) FROM cases_case").fetchone()
            stale = count not in (0, cases)
        except sqlite3.DatabaseError:
            stale = True
    if stale:
        print(f"Removing {DEFAULT_DB} (rebuilding it for {cases:,} cases)", file=sys.stderr)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEFAULT_DB}{suffix}").unlink(missing_ok=True)


@dataclass
class Result:
    page: str
    role: str
    cases: int
    samples_ms: list[float]
    db_ms: list[float]
    queries: list[int]
    size_kb: float

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]

    @property
    def query_label(self) -> str:
        low, high = min(self.queries), max(self.queries)
        return str(low) if low == high else f"{low}-{high}"

    def as_json(self) -> dict[str, Any]:
        return {
            "page": self.page,
            "role": self.role,
            "cases": self.cases,
            "p50_ms": round(self.median, 2),
            "p95_ms": round(self.p95, 2),
            "queries": max(self.queries),
            "db_p50_ms": round(statistics.median(self.db_ms), 2),
            "kb": round(self.size_kb, 1),
            # A weekday's Today and calendar list far more sessions than a weekend's: say which it was.
            "day": practice_day_label(),
            "load_1m": round(os.getloadavg()[0], 2),
        }


def practice_day_label() -> str:
    """The practice's date and weekday where the pages were timed, e.g. "Mon 2026-12-07"."""
    from tandem.lib.time import local_today

    return local_today().strftime("%a %Y-%m-%d")


class DatabaseClock:
    """Counts the queries of a request and the time spent executing them (works with DEBUG off)."""

    def __init__(self) -> None:
        self.ms = 0.0
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.ms += (time.perf_counter() - started) * 1000
            self.count += 1


def seed_once(cases: int) -> dict[str, int]:
    from django.conf import settings
    from django.core.management import call_command

    from tandem.audit.models import AuditEvent
    from tandem.cases.models import Case, PhaseChange
    from tandem.demo import build as demo
    from tandem.records.models import SessionNote
    from tandem.scheduling.models import Appointment

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    existing = Case.objects.count()
    if existing and existing != cases:
        raise SystemExit(
            f"{settings.DATABASES['default']['NAME']} holds {existing:,} cases, not {cases:,}: "
            "point DATABASE_URL at an empty database (or use the default one, which is rebuilt)."
        )
    report = demo.seed(cases=cases, progress=lambda m: print(f"  ... {m}", file=sys.stderr))
    if report.created:
        print(
            f"Seeded {report.cases:,} cases, {report.appointments:,} appointments in {report.seconds:.1f} s",
            file=sys.stderr,
        )
    return {
        "cases": Case.objects.count(),
        "appointments": Appointment.objects.count(),
        "phase changes": PhaseChange.objects.count(),
        "session notes": SessionNote.objects.count(),
        "audit events": AuditEvent.objects.count(),
    }


def measure(
    client: Any, request: Any, *, page: str, role: str, cases: int, args: argparse.Namespace
) -> Result:
    from django.db import connection

    def once() -> tuple[Any, float, DatabaseClock]:
        clock = DatabaseClock()
        started = time.perf_counter()
        with connection.execute_wrapper(clock):
            if request.data is None:
                response = client.get(request.url, headers=request.headers)
            else:
                response = client.post(request.url, request.data, headers=request.headers)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            where = f" -> {response.get('Location')}" if response.get("Location") else ""
            raise SystemExit(
                f"{page} as {role}: {request.url} answered {response.status_code}{where}, not 200:\n"
                f"{response.content[:800].decode(errors='replace')}"
            )
        return response, elapsed, clock

    for _ in range(args.warmups):
        once()
    samples, db_ms, queries = [], [], []
    for _ in range(args.requests):
        response, elapsed, clock = once()
        samples.append(elapsed)
        db_ms.append(clock.ms)
        queries.append(clock.count)
    return Result(page, role, cases, samples, db_ms, queries, len(response.content) / 1024)


def run_pages(args: argparse.Namespace) -> None:
    configure_environment()
    drop_stale_sqlite(args.cases, args.fresh)

    import django

    # WhiteNoise warns that there is no collectstatic output; the benchmark serves no static files.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    django.setup()
    # The request log's two lines per request would bury the figures (their cost is the same at any size).
    logging.getLogger("django_structlog").setLevel(logging.WARNING)

    from django.conf import settings
    from django.test.utils import override_settings

    from bench import catalog
    from tandem.audit.models import AuditEvent
    from tandem.lib.startup import settle

    size = seed_once(args.cases)
    fixtures = catalog.fixtures()
    sessions = {role: catalog.session_for(role) for role in ("therapist", "director", "client")}
    # As tandem/wsgi.py does in each web worker before its first request.
    settle()
    audit_before = AuditEvent.objects.count()
    results: list[Result] = []
    # Static files come from the finders rather than a collectstatic manifest, so DEBUG=0 needs no build.
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        todo = [
            (page, role, request)
            for page, roles, build in catalog.PAGES
            if (request := build(fixtures)) is not None and args.only.lower() in page.lower()
            for role in roles
        ]
        if args.serve:
            serve(todo, sessions, cases=size["cases"], args=args)
            return
        for page, role, request in todo:
            result = measure(sessions[role], request, page=page, role=role, cases=size["cases"], args=args)
            results.append(result)
            if args.json:
                print(json.dumps(result.as_json()), flush=True)
    if args.json:
        return
    database = settings.DATABASES["default"]
    print()
    print(
        f"Tandem page benchmark: {database['ENGINE'].rsplit('.', 1)[-1]} {database['NAME']}, "
        f"DEBUG={settings.DEBUG}, {args.requests} timed requests after {args.warmups} warm-ups; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"Practice day: {practice_day_label()} (a weekday books many more sessions than a weekend)")
    print("Size: " + ", ".join(f"{n:,} {name}" for name, n in size.items()) + " (before the run)")
    print(f"Case page etc. for {fixtures.heavy.reference} ({fixtures.heavy.n:,} appointments)")
    print()
    header = (
        f"{'page':<20} {'role':<10} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'db p50':>8} "
        f"{'queries':>8} {'KB':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.page:<20} {r.role:<10} {r.median:>8.1f} {r.p95:>8.1f} {max(r.samples_ms):>8.1f} "
            f"{statistics.median(r.db_ms):>8.1f} {r.query_label:>8} {r.size_kb:>7.1f}"
        )
    print()
    print(f"Audit events written during the run: {AuditEvent.objects.count() - audit_before:,}")


def serve(
    todo: list[tuple[str, str, Any]], sessions: dict[str, Any], *, cases: int, args: argparse.Namespace
) -> None:
    """The growth mode's side of one size: say which pages there are, then time the page whose number
    each line of standard input gives, answering with its JSON object."""
    print(json.dumps({"pages": [[page, role] for page, role, _ in todo]}), flush=True)
    for line in sys.stdin:
        page, role, request = todo[int(line)]
        result = measure(sessions[role], request, page=page, role=role, cases=cases, args=args)
        print(json.dumps(result.as_json()), flush=True)


class SizeWorker:
    """One size of the growth mode: this script again (--serve), in its own process on its own database,
    timing one page at a time when asked."""

    def __init__(self, args: argparse.Namespace, cases: int, url: str) -> None:
        command = [sys.executable, __file__, "--serve", "--cases", str(cases)]
        command += ["--requests", str(args.requests), "--warmups", str(args.warmups)]
        if args.only:
            command += ["--only", args.only]
        env = dict(os.environ)
        if url:
            env["DATABASE_URL"] = url
        else:
            env.pop("DATABASE_URL", None)
            env["BENCH_SQLITE"] = f"/tmp/tandem-bench-{cases}.sqlite3"  # noqa: S108
        self.process = subprocess.Popen(  # noqa: S603
            command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.pages = [tuple(p) for p in self._answer()["pages"]]

    def _answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                return dict(json.loads(line))
        raise SystemExit(f"the benchmark process for one size stopped (exit {self.process.wait()})")

    def time(self, index: int) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{index}\n")
        self.process.stdin.flush()
        return self._answer()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()


def _over_rounds(rounds: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each page's median over the rounds of its per-round medians, in the order of the first round."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rows in rounds:
        for row in rows:
            found.setdefault((row["page"], row["role"]), []).append(row)
    return [
        {
            "page": page,
            "role": role,
            "p50_ms": statistics.median(r["p50_ms"] for r in rows),
            "db_p50_ms": statistics.median(r["db_p50_ms"] for r in rows),
        }
        for (page, role), rows in found.items()
    ]


def run_growth(args: argparse.Namespace) -> None:
    # The sizes take turns page by page (each size's process stays up between pages), so that a noisy
    # few seconds on the shared machine fall on both sizes of a page rather than on one; which size goes
    # first alternates too. (Whole sweeps of one size after the other let a noisy half minute land on
    # one size of a dozen pages.)
    small_size, large_size = (
        SizeWorker(args, args.small_cases, args.small_url),
        SizeWorker(args, args.cases, args.large_url),
    )
    if small_size.pages != large_size.pages:
        raise SystemExit("the two sizes have different pages to time (a billing page without invoices?)")
    small_rounds: list[list[dict[str, Any]]] = [[] for _ in range(args.rounds)]
    large_rounds: list[list[dict[str, Any]]] = [[] for _ in range(args.rounds)]
    for round_ in range(args.rounds):
        for index in range(len(small_size.pages)):
            turns = [(small_size, small_rounds), (large_size, large_rounds)]
            for worker, rounds in turns if (round_ + index) % 2 == 0 else reversed(turns):
                rounds[round_].append(worker.time(index))
    small_size.close()
    large_size.close()
    small = {(r["page"], r["role"]): r for r in _over_rounds(small_rounds)}
    large = _over_rounds(large_rounds)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    day = large_rounds[0][0]["day"] if large_rounds[0] else "?"
    print(
        f"Growth {args.small_cases:,} -> {args.cases:,} cases (medians of {args.rounds} rounds, the sizes "
        f"taking turns page by page); load average {load}; practice day {day}"
    )
    header = (
        f"{'page':<20} {'role':<10} {'small ms':>9} {'large ms':>9} {'total x':>8} "
        f"{'small db':>9} {'large db':>9} {'db x':>6}"
    )
    print(header)
    print("-" * len(header))
    worst = 0.0
    for row in large:
        base = small.get((row["page"], row["role"]))
        if base is None:
            continue
        total = row["p50_ms"] / max(base["p50_ms"], 0.01)
        db = row["db_p50_ms"] / max(base["db_p50_ms"], 0.01)
        worst = max(worst, total, db)
        flag = "  <-- over" if max(total, db) > GROWTH_LIMIT else ""
        print(
            f"{row['page']:<20} {row['role']:<10} {base['p50_ms']:>9.1f} {row['p50_ms']:>9.1f} "
            f"{total:>7.2f}x {base['db_p50_ms']:>9.1f} {row['db_p50_ms']:>9.1f} {db:>5.2f}x{flag}"
        )
    print(f"Largest ratio {worst:.2f} (limit {GROWTH_LIMIT})")


def main() -> None:
    args = parse_args()
    if args.growth:
        run_growth(args)
    else:
        run_pages(args)


if __name__ == "__main__":
    main()
