"""The director's financial reports, aggregated in SQL: aged receivables and revenue.

Aged receivables total what billing's services keep owed by issue day (`ReceivableDay`, one row per day
however large the practice), and rank payers by `Payer.open_balance`, which the same services keep; the
page's payers are bucketed from what each owes by issue day (`ReceivablePayerDay`, kept by the same
services), so an insurer with thousands of open invoices is a few hundred rows.
An invoice's balance is what billing's payment services keep on it (total less allocated and credited);
its age counts from the day it was issued, in the practice's time zone (0-30, 31-60, 61-90, over 90 days).
Written-off invoices are no longer receivable and are left out.

Revenue is what was charged (live charges: not yet invoiced or invoiced; reversed and waived ones are
not revenue), by the month of the service date, by therapist and by format (the appointment's kind; an
intensive package's deposit and balance count as "Intensive package"). A co-therapy session counts in
full for each of its two therapists, so the therapist table can add up to more than the total.
"""

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.paginator import Page
from django.db.models import F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth

from tandem.billing.models import (
    Payer,
    ReceivableDay,
    ReceivablePayerDay,
    RevenueDay,
    RevenueDayTherapist,
    money_sum,
)
from tandem.billing.money import cents
from tandem.lib.lookups import Ids
from tandem.lib.paging import CappedPaginator
from tandem.lib.remembered_queries import remembered_query
from tandem.scheduling.models import AppointmentKind

BUCKETS = ("0-30 days", "31-60 days", "61-90 days", "Over 90 days")
PER_PAGE = 50
PAYER_COUNT_CAP = 1_000
ZERO = Decimal("0.00")
PACKAGE_FORMAT = "Intensive package"
NO_THERAPIST = "No session (package)"


AGE_EDGES = (30, 60, 90)


def _age_sums(*, newest: dt.date, middle: dt.date, oldest: dt.date) -> dict[str, Coalesce]:
    """One SUM of kept amounts per age bucket (b0 newest .. b3 oldest) by their issue `day`: a day is in
    the first bucket whose start (the days AGE_EDGES before today, newest first) it is on or after."""
    ages = [
        Q(day__gte=newest),
        Q(day__gte=middle, day__lt=newest),
        Q(day__gte=oldest, day__lt=middle),
        Q(day__lt=oldest),
    ]
    return {f"b{n}": money_sum(F("amount"), only=age) for n, age in enumerate(ages)}


def _edges(today: dt.date) -> dict[str, dt.date]:
    """The days AGE_EDGES before today, newest first: where each bucket starts."""
    days = [today - dt.timedelta(days=days) for days in AGE_EDGES]
    return dict(zip(("newest", "middle", "oldest"), days, strict=True))


# The report is read whole on every view; its two sums are compiled once per worker
# (lib/remembered_queries.py), which was a sixth of the page.


@remembered_query
def _owed_by_age(*, newest: dt.date, middle: dt.date, oldest: dt.date) -> QuerySet[Any, Any]:
    """The total row over what is owed by issue day (`ReceivableDay`): ages count in local days. A
    constant groups nothing (Django leaves a Value out of GROUP BY), so this is the one row a whole-table
    aggregate gives, as a query that can be remembered."""
    sums = _age_sums(newest=newest, middle=middle, oldest=oldest)
    return ReceivableDay.objects.order_by().values(whole=Value(1)).annotate(**sums)


@remembered_query
def _payers_by_age(
    *, payer_ids: Ids, newest: dt.date, middle: dt.date, oldest: dt.date
) -> QuerySet[Any, Any]:
    """These payers' open balances in the buckets, from what each owes by issue day (`ReceivablePayerDay`):
    an insurer's few hundred days rather than its thousands of invoices."""
    sums = _age_sums(newest=newest, middle=middle, oldest=oldest)
    theirs = ReceivablePayerDay.objects.filter(payer_id__any_of=payer_ids).order_by()
    return theirs.values("payer_id").annotate(**sums)


@remembered_query
def _payers(*, payer_ids: Ids) -> QuerySet[Payer]:
    return Payer.objects.filter(pk__any_of=payer_ids).select_related("client").order_by()


@dataclass
class AgedRow:
    label: str
    kind: str
    cells: list[Decimal]
    total: Decimal


@dataclass
class AgedReport:
    today: dt.date
    total: AgedRow
    page: Page
    rows: list[AgedRow] = field(default_factory=list)


def _payer_label(payer: Payer | None) -> tuple[str, str]:
    if payer is None:
        return "Unknown payer", ""
    if payer.kind == "insurer":
        return payer.insurer_name, "Insurer"
    return (payer.client.full_name if payer.client is not None else "Client"), "Client"


def _row(values: Mapping[str, Any], label: str, kind: str) -> AgedRow:
    # SQLite returns a SUM over a CASE without its two places; every figure is shown in whole cents.
    cells = [cents(values[f"b{n}"]) for n in range(4)]
    return AgedRow(label, kind, cells, sum(cells, ZERO))


def aged_receivables(*, today: dt.date, page: int | str = 1, per_page: int = PER_PAGE) -> AgedReport:
    """The total row and one page of payers, largest balance first. The total buckets what the billing
    services keep owed by issue day (`ReceivableDay`, a row per day however many invoices); the payers
    are ranked by the open balance kept on each of them (`Payer.open_balance`, partially indexed), and
    only the page's payers are bucketed, from what each owes by issue day (`ReceivablePayerDay`)."""
    edges = _edges(today)
    total = _row(_owed_by_age.rows(**edges)[0], "All payers", "")
    ranked = (
        Payer.objects.filter(open_balance__gt=0).order_by("-open_balance", "pk").values_list("pk", flat=True)
    )
    # Counted only as far as anyone pages (a large practice has thousands of payers owing something);
    # the CSV, one page of every payer, counts them all.
    found = CappedPaginator(ranked, per_page, cap=max(PAYER_COUNT_CAP, per_page)).get_page(page)
    ids = Ids(found.object_list)
    buckets = {r["payer_id"]: r for r in _payers_by_age.rows(payer_ids=ids, **edges)}
    payers = {payer.pk: payer for payer in _payers.rows(payer_ids=ids)}
    rows = [_row(buckets[pk], *_payer_label(payers.get(pk))) for pk in ids if pk in buckets]
    return AgedReport(today=today, total=total, page=found, rows=rows)


def aged_receivables_all(*, today: dt.date) -> tuple[AgedRow, list[AgedRow]]:
    """Every payer (for the CSV), in the page's order."""
    report = aged_receivables(today=today, per_page=10**9)
    return report.total, report.rows


# --- Revenue -----------------------------------------------------------------------------------------
@dataclass
class RevenueReport:
    months: list[tuple[dt.date, Decimal]]
    therapists: list[tuple[str, Decimal]]
    formats: list[tuple[str, Decimal]]
    total: Decimal
    cube: list[tuple[dt.date, str, str, Decimal]]


def _kind_label(kind: str | None) -> str:
    if not kind:
        return PACKAGE_FORMAT
    try:
        return str(AppointmentKind(kind).label)
    except ValueError:
        return kind


def _therapist_name(first: str | None, last: str | None) -> str:
    return f"{first or ''} {last or ''}".strip() if (first or last) else NO_THERAPIST


def revenue(*, date_from: dt.date, date_to: dt.date) -> RevenueReport:
    """Live charges of the period by month, therapist and format, from the revenue kept by day
    (models.RevenueDay, RevenueDayTherapist): two grouped queries over at most a few rows per day and
    therapist, whatever the size of the practice; the page's three tables are their margins."""
    days = RevenueDay.objects.filter(day__range=(date_from, date_to))
    months: dict[dt.date, Decimal] = defaultdict(lambda: ZERO)
    formats: dict[str, Decimal] = defaultdict(lambda: ZERO)
    # A co-therapy charge is in the cube once per therapist: months, formats and the total count it once.
    by_month = days.annotate(month=TruncMonth("day")).values("month", "kind").annotate(amount=Sum("amount"))
    for row in by_month.order_by("month", "kind"):
        amount = cents(row["amount"])
        months[_month(row["month"])] += amount
        formats[_kind_label(row["kind"])] += amount
    therapists: dict[str, Decimal] = defaultdict(lambda: ZERO)
    cube = []
    cells = (
        RevenueDayTherapist.objects.filter(day__range=(date_from, date_to))
        .annotate(month=TruncMonth("day"))
        .values("month", "kind", "therapist__first_name", "therapist__last_name", "therapist_id")
        .annotate(amount=Sum("amount"))
        .order_by("month", "therapist__last_name", "kind")
    )
    for row in cells:
        name = _therapist_name(row["therapist__first_name"], row["therapist__last_name"])
        therapists[name] += cents(row["amount"])
        cube.append((_month(row["month"]), name, _kind_label(row["kind"]), cents(row["amount"])))
    return RevenueReport(
        months=sorted((month, amount) for month, amount in months.items() if amount),
        therapists=sorted(
            ((name, amount) for name, amount in therapists.items() if amount),
            key=lambda item: (-item[1], item[0]),
        ),
        formats=sorted(
            ((name, amount) for name, amount in formats.items() if amount),
            key=lambda item: (-item[1], item[0]),
        ),
        total=sum(months.values(), ZERO),
        cube=[cell for cell in cube if cell[3]],
    )


def _month(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


# --- CSV ---------------------------------------------------------------------------------------------
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: a value starting with = + - @ or a tab/CR (a formula to Excel,
    LibreOffice and Sheets) is prefixed with an apostrophe; numbers are written as they are."""
    if isinstance(value, Decimal | int):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def as_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue()
