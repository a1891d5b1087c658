"""Time the busiest staff pages at the size of a large group practice with years of history.

    .venv/bin/python bench/pages.py [--cases 20000] [--requests 30] [--warmups 3] [--fresh]

Runs on its own database (DATABASE_URL, default an SQLite file in /tmp), which it migrates and fills with
`seed_demo --cases N` the first time, then logs in as the demo therapist and the director the way a
browser would end up (password done, second factor verified) and requests each page through Django's
test client: the whole middleware stack, templates and queries, without a network in between.

Runs production-like (DEBUG off, so no query logging and no template debug data) unless DEBUG is set
in the environment. Any page that does not answer 200 stops the run with the reason.
"""

from __future__ import annotations

import argparse
import math
import os
import sqlite3
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = Path("/tmp/tandem-bench.sqlite3")  # noqa: S108 -- a throwaway benchmark database


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
    args = parser.parse_args()
    if args.cases < 1 or args.requests < 1 or args.warmups < 1:
        parser.error("--cases, --requests and --warmups must be at least 1")
    return args


def configure_environment() -> None:
    """Everything that must be in place before Django reads its settings."""
    sys.path.insert(0, str(ROOT))
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
        print(f"Removing {DEFAULT_DB} (rebuilding it for {cases:,} cases)")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEFAULT_DB}{suffix}").unlink(missing_ok=True)


@dataclass
class Result:
    page: str
    user: str
    samples_ms: list[float]
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


def main() -> None:
    args = parse_args()
    configure_environment()
    drop_stale_sqlite(args.cases, args.fresh)

    import django

    # WhiteNoise warns that there is no collectstatic output; the benchmark serves no static files.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    django.setup()

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import reverse
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tandem.accounts.models import User
    from tandem.audit.models import AuditEvent
    from tandem.cases.models import Case, PhaseChange
    from tandem.demo import build as demo
    from tandem.scheduling.models import Appointment

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    existing = Case.objects.count()
    if existing and existing != args.cases:
        raise SystemExit(
            f"{settings.DATABASES['default']['NAME']} holds {existing:,} cases, not {args.cases:,}: "
            "point DATABASE_URL at an empty database (or use the default one, which is rebuilt)."
        )
    report = demo.seed(cases=args.cases)
    if report.created:
        print(
            f"Seeded {report.cases:,} cases, {report.appointments:,} appointments in {report.seconds:.1f} s"
        )

    def logged_in(username: str) -> tuple[User, Any]:
        user = User.objects.get(username=username)
        client = HttpClient()
        client.force_login(user)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="Benchmark authenticator", confirmed=True
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return user, client

    therapist, therapist_client = logged_in("therapist")
    _, director_client = logged_in("director")
    # The therapist's case with the longest history: the heaviest case page there is.
    heavy = Case.objects.assigned_to(therapist).annotate(n=Count("appointments")).order_by("-n", "pk").first()
    if heavy is None:
        raise SystemExit("The demo therapist has no cases: the seed did not run as expected.")
    pages = [
        ("Today", reverse("today")),
        ("Case list", reverse("cases:list")),
        ("Case detail", reverse("cases:detail", kwargs={"case_id": heavy.pk})),
    ]
    audit_before = AuditEvent.objects.count()
    size = {
        "cases": Case.objects.count(),
        "appointments": Appointment.objects.count(),
        "phase changes": PhaseChange.objects.count(),
        "audit events": audit_before,
    }
    therapist_cases = Case.objects.assigned_to(therapist).count()

    def get(client: Any, url: str) -> Any:
        response = client.get(url)
        if response.status_code != 200:
            where = f" -> {response.get('Location')}" if response.get("Location") else ""
            raise SystemExit(
                f"GET {url} answered {response.status_code}{where}, not 200:\n"
                f"{response.content[:800].decode(errors='replace')}"
            )
        return response

    results: list[Result] = []
    # Static files come from the finders rather than a collectstatic manifest, so DEBUG=0 needs no build.
    with override_settings(
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ):
        for page, url in pages:
            for username, client in (("therapist", therapist_client), ("director", director_client)):
                queries = []
                for _ in range(args.warmups):
                    with CaptureQueriesContext(connection) as captured:
                        response = get(client, url)
                    queries.append(len(captured.captured_queries))
                samples = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    response = get(client, url)
                    samples.append((time.perf_counter() - started) * 1000)
                results.append(Result(page, username, samples, queries, len(response.content) / 1024))

    database = settings.DATABASES["default"]
    print()
    print(
        f"Tandem page benchmark: {database['ENGINE'].rsplit('.', 1)[-1]} {database['NAME']}, "
        f"DEBUG={settings.DEBUG}, {args.requests} timed requests after {args.warmups} warm-ups"
    )
    print("Size: " + ", ".join(f"{n:,} {name}" for name, n in size.items()) + " (before the run)")
    print(
        f"Demo therapist: {therapist_cases:,} cases; case detail page for {heavy.reference} "
        f"({heavy.n:,} appointments)"
    )  # type: ignore[attr-defined]
    print()
    header = (
        f"{'page':<12} {'user':<10} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'queries':>8} {'KB':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.page:<12} {r.user:<10} {r.median:>10.1f} {r.p95:>8.1f} {max(r.samples_ms):>8.1f} "
            f"{r.query_label:>8} {r.size_kb:>7.1f}"
        )
    print()
    print(f"Audit events written during the run: {AuditEvent.objects.count() - audit_before:,}")


if __name__ == "__main__":
    main()
