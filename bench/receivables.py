"""Time the director's aged-receivables page at the size of a large practice with a year of invoices.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tandem_bench \\
        .venv/bin/python bench/receivables.py [--cases 20000] [--requests 50] [--warmups 3]

Uses bench/pages.py's database handling and seed (`seed_demo --cases N`, whose large build writes a
monthly invoice per case for the last year: tandem/demo/large_billing.py), logs in as the demo director
with a verified second factor and requests the first and a later page of aged receivables, and the
revenue report, through Django's test client. Prints p50/p95/max, queries, the size it ran at and the
load average; exits 1 when the aged-receivables p95 is over the 100 ms target.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import warnings
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pages import Result, configure_environment, drop_stale_sqlite, measure, seed_once  # noqa: E402

TARGET_P95_MS = 100.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmups", type=int, default=3)
    parser.add_argument("--fresh", action="store_true", help="rebuild the default SQLite benchmark file")
    args = parser.parse_args()
    if args.cases < 1 or args.requests < 1 or args.warmups < 1:
        parser.error("--cases, --requests and --warmups must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    configure_environment()
    drop_stale_sqlite(args.cases, args.fresh)
    import django

    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    django.setup()
    logging.getLogger("django_structlog").setLevel(logging.WARNING)

    from django.conf import settings
    from django.test.utils import override_settings
    from django.urls import reverse

    from bench import catalog
    from tandem.billing.models import OPEN_INVOICE_STATUSES, Invoice

    size = seed_once(args.cases)
    size["invoices"] = Invoice.objects.count()
    size["open invoices"] = Invoice.objects.filter(status__in=OPEN_INVOICE_STATUSES).count()
    director = catalog.session_for("director")
    pages = [
        ("Aged receivables", reverse("billing_reports:aged")),
        ("Aged, page 20", reverse("billing_reports:aged") + "?page=20"),
        ("Revenue, 12 months", reverse("billing_reports:revenue")),
    ]
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    results: list[Result] = []
    with override_settings(STORAGES=storages):
        for name, url in pages:
            request = catalog.Request(url)
            results.append(
                measure(director, request, page=name, role="director", cases=size["cases"], args=args)
            )
    database = settings.DATABASES["default"]
    print()
    print(
        f"Receivables benchmark: {database['ENGINE'].rsplit('.', 1)[-1]} {database['NAME']}, "
        f"DEBUG={settings.DEBUG}, {args.requests} timed requests after {args.warmups} warm-ups; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print("Size: " + ", ".join(f"{n:,} {what}" for what, n in size.items()))
    header = f"{'page':<20} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'db p50':>8} {'queries':>8} {'KB':>7}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.page:<20} {r.median:>8.1f} {r.p95:>8.1f} {max(r.samples_ms):>8.1f} "
            f"{statistics.median(r.db_ms):>8.1f} {r.query_label:>8} {r.size_kb:>7.1f}"
        )
    worst = max(r.p95 for r in results[:2])
    verdict = "within" if worst <= TARGET_P95_MS else "OVER"
    print(f"\nAged receivables p95 {worst:.1f} ms: {verdict} the {TARGET_P95_MS:.0f} ms target.")
    if worst > TARGET_P95_MS:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
