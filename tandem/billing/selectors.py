"""Billing reads for the pages: each object a user reaches goes through `tandem.access.billing`'s rules
(a refusal is an audited 404), and each page's rows come in a fixed number of queries."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet, Sum
from django.utils import timezone

from tandem.access.billing import (
    can_manage_billing,
    can_see_case_billing,
    can_see_invoice,
    can_see_payer_statement,
    payer_client_of,
)
from tandem.access.services import deny, get_case_for
from tandem.billing.models import (
    OPEN_INVOICE_STATUSES,
    Allocation,
    ArrangementOverride,
    BillingArrangement,
    Charge,
    ChargeStatus,
    CreditNote,
    CreditNoteLine,
    Invoice,
    Package,
    Payer,
    Payment,
    Refund,
    SlidingScale,
)
from tandem.cases.models import Case, Client
from tandem.lib.parse import parse_id
from tandem.lib.remembered_queries import remembered_query
from tandem.lib.rows import by_pk
from tandem.scheduling.models import AppointmentSeries, SeriesKind


def _invoices() -> QuerySet[Invoice]:
    return Invoice.objects.select_related("payer__client", "case__partner_a", "case__partner_b")


# --- objects, through the permission rules ---------------------------------------------------------
def billing_case_for(user: Any, case_id: Any) -> Case:
    case = get_case_for(user, case_id)
    if not can_see_case_billing(user, case):
        raise deny(user, what="case.billing", object_id=case.pk, case_id=case.pk)
    return case


def invoice_for(user: Any, invoice_id: Any) -> Invoice:
    """An invoice for the staff who see its case's billing, or for the client it is addressed to."""
    pk = parse_id(str(invoice_id))
    invoice = by_pk(_invoices(), pk) if pk is not None else None
    if invoice is None or not can_see_invoice(
        user, case=invoice.case, payer_client_id=invoice.payer.client_id
    ):
        raise deny(user, what="invoice", object_id=pk or "not-an-id", case_id=invoice and invoice.case_id)
    return invoice


def credit_note_for(user: Any, credit_note_id: Any) -> CreditNote:
    pk = parse_id(str(credit_note_id))
    note = (
        CreditNote.objects.select_related("invoice__case__partner_a", "invoice__case__partner_b", "payer")
        .filter(pk=pk)
        .first()
        if pk is not None
        else None
    )
    if note is None or not can_see_invoice(
        user, case=note.invoice.case, payer_client_id=note.payer.client_id
    ):
        raise deny(user, what="credit_note", object_id=pk or "not-an-id")
    return note


def payer_for_staff(user: Any, payer_id: Any) -> Payer:
    pk = parse_id(str(payer_id))
    payer = by_pk(Payer.objects.select_related("client"), pk) if pk is not None else None
    if payer is None or not can_see_payer_statement(user):
        raise deny(user, what="payer", object_id=pk or "not-an-id")
    return payer


def charge_for_manager(user: Any, charge_id: Any) -> Charge:
    pk = parse_id(str(charge_id))
    charge = (
        Charge.objects.select_related("case__partner_a", "case__partner_b", "payer__client")
        .filter(pk=pk)
        .first()
        if pk is not None
        else None
    )
    if charge is None or not can_manage_billing(user):
        raise deny(user, what="charge", object_id=pk or "not-an-id")
    return charge


def package_for_manager(user: Any, package_id: Any) -> Package:
    pk = parse_id(str(package_id))
    package = by_pk(Package.objects.select_related("case"), pk) if pk is not None else None
    if package is None or not can_manage_billing(user):
        raise deny(user, what="package", object_id=pk or "not-an-id")
    return package


def payer_credit(payer: Payer) -> Decimal:
    """Money the payer has with the practice now (payments and over-credited notes, less what was
    allocated and refunded), as billing's services keep it on the payer."""
    return Payer.objects.values_list("credit", flat=True).get(pk=payer.pk)


# --- pages ------------------------------------------------------------------------------------------
def payer_name(payer: Payer) -> str:
    return payer.insurer_name if payer.kind == "insurer" else payer.client.full_name  # type: ignore[union-attr]


@dataclass
class PayerOpen:
    payer: Payer
    charges: list[Charge]

    @property
    def total(self) -> Decimal:
        return sum((c.amount for c in self.charges), Decimal("0"))

    @property
    def name(self) -> str:
        return payer_name(self.payer)


@dataclass
class CaseOpen:
    case: Case
    payers: list[PayerOpen] = field(default_factory=list)


def uninvoiced(limit: int = 200) -> list[CaseOpen]:
    """Open charges by case and payer (oldest service first), for the front desk to invoice."""
    charges = (
        Charge.objects.filter(status=ChargeStatus.OPEN)
        .select_related("case__partner_a", "case__partner_b", "payer__client")
        .order_by("case_id", "payer_id", "service_date", "id")[:limit]
    )
    by_case: dict[int, CaseOpen] = {}
    for charge in charges:
        entry = by_case.setdefault(charge.case_id, CaseOpen(charge.case))
        if not entry.payers or entry.payers[-1].payer.pk != charge.payer_id:
            entry.payers.append(PayerOpen(charge.payer, []))
        entry.payers[-1].charges.append(charge)
    return list(by_case.values())


def open_invoices(limit: int = 200) -> list[Invoice]:
    return list(_invoices().filter(status__in=OPEN_INVOICE_STATUSES).order_by("due_on", "number")[:limit])


@dataclass
class CaseBilling:
    case: Case
    arrangement: BillingArrangement | None
    overrides: list[ArrangementOverride]
    scale: SlidingScale | None
    charges: list[Charge]
    invoices: list[Invoice]
    packages: list[Package]
    unsold_blocks: list[AppointmentSeries]
    payers: list[PayerOpen]


# The case's billing page reads these on every view: each compiled once per worker
# (lib/remembered_queries.py); the rows and their order are what the querysets gave before.


@remembered_query
def _arrangement(*, case_id: int) -> QuerySet[BillingArrangement]:
    found = BillingArrangement.objects.select_related("payer_client", "identified_patient")
    return found.filter(case_id=case_id).order_by("pk")[:1]


@remembered_query
def _overrides(*, arrangement_id: int) -> QuerySet[ArrangementOverride]:
    found = ArrangementOverride.objects.filter(arrangement_id=arrangement_id)
    return found.select_related("payer_client").order_by("kind")


@remembered_query
def _charges(*, case_id: int) -> QuerySet[Charge]:
    found = Charge.objects.filter(case_id=case_id).select_related("payer__client")
    return found.order_by("-service_date", "-id")


@remembered_query
def _case_invoices(*, case_id: int) -> QuerySet[Invoice]:
    return _invoices().filter(case_id=case_id).prefetch_related("credit_notes")


@remembered_query
def _packages(*, case_id: int) -> QuerySet[Package]:
    return Package.objects.filter(case_id=case_id).order_by("-first_day")


@remembered_query
def _unsold_blocks(*, case_id: int) -> QuerySet[AppointmentSeries]:
    blocks = AppointmentSeries.objects.filter(
        case_id=case_id, kind=SeriesKind.INTENSIVE, billing_package__isnull=True
    )
    return blocks.prefetch_related("appointments").order_by("-created_at")


@remembered_query
def _current_scale(*, case_id: int) -> QuerySet[SlidingScale]:
    # The model's own order, as first() would take it.
    return SlidingScale.objects.filter(case_id=case_id, ended_at__isnull=True).select_related("set_by")[:1]


def case_billing(case: Case) -> CaseBilling:
    arrangement = _arrangement.first(case_id=case.pk)
    overrides = _overrides.rows(arrangement_id=arrangement.pk) if arrangement else []
    charges = _charges.rows(case_id=case.pk)
    payers: dict[int, PayerOpen] = {}
    for charge in sorted(charges, key=lambda c: (c.service_date, c.pk)):
        if charge.status == ChargeStatus.OPEN:
            payers.setdefault(charge.payer_id, PayerOpen(charge.payer, [])).charges.append(charge)
    return CaseBilling(
        case=case,
        arrangement=arrangement,
        overrides=overrides,
        scale=_current_scale.first(case_id=case.pk),
        charges=charges,
        invoices=_case_invoices.rows(case_id=case.pk),
        packages=_packages.rows(case_id=case.pk),
        unsold_blocks=_unsold_blocks.rows(case_id=case.pk),
        payers=list(payers.values()),
    )


def case_payers(case: Case) -> list[Payer]:
    """Whoever may pay for this case: each partner, and the insurer of its arrangement (made on first use
    by the charging rules; listed here only once they exist)."""
    clients = [c.pk for c in case.partners]
    found = {p.client_id: p for p in Payer.objects.select_related("client").filter(client_id__in=clients)}
    payers = [found[c] for c in clients if c in found]
    arrangement = BillingArrangement.objects.filter(case=case).first()
    if arrangement is not None and arrangement.insurer_name:
        insurer = Payer.objects.filter(kind="insurer", insurer_name=arrangement.insurer_name).first()
        if insurer is not None:
            payers.append(insurer)
    return payers


@dataclass
class Statement:
    """A payer's account: what is owed and held in credit over everything, and the documents in pages of
    STATEMENT_PAGE, newest first (an insurer receives thousands of invoices a year)."""

    payer: Payer
    name: str
    owed: Decimal
    credit: Decimal
    invoices: Page
    payments: Page
    credit_notes: Page
    refunds: Page


STATEMENT_PAGE = 50


def _paged(rows: QuerySet[Any], page: str | int | None) -> Page:
    return Paginator(rows, STATEMENT_PAGE).get_page(page)


def statement(payer: Payer, pages: Mapping[str, str] | None = None) -> Statement:
    """PAGES: the page number of each list by its name (the query string), the first page otherwise."""
    pages = pages or {}
    allocations = Allocation.objects.select_related("invoice").order_by("id")
    payments = Payment.objects.filter(payer=payer).prefetch_related(Prefetch("allocations", allocations))
    return Statement(
        payer=payer,
        name=payer_name(payer),
        # Kept on the payer by billing's services as they change its invoices (one writer of the fact).
        owed=payer.open_balance,
        credit=payer.credit,
        invoices=_paged(
            Invoice.objects.filter(payer=payer).select_related("case").order_by("-number"),
            pages.get("invoices"),
        ),
        payments=_paged(payments.order_by("-received_on", "-id"), pages.get("payments")),
        credit_notes=_paged(
            CreditNote.objects.filter(payer=payer).select_related("invoice").order_by("-number"),
            pages.get("credit_notes"),
        ),
        refunds=_paged(Refund.objects.filter(payer=payer).order_by("-paid_on", "-id"), pages.get("refunds")),
    )


def my_statement(user: Any, pages: Mapping[str, str] | None = None) -> Statement | None:
    """The portal's statement: only the invoices addressed to the client who is logged in."""
    client: Client | None = payer_client_of(user)
    if client is None:
        return None
    payer = Payer.objects.select_related("client").filter(kind="client", client=client).first()
    if payer is None:
        return None
    return statement(payer, pages)


def owed_by(payers: list[Payer]) -> dict[int, Decimal]:
    """What each payer still owes on their open invoices (one query)."""
    owed: dict[int, Decimal] = {}
    rows = Invoice.objects.filter(payer__in=payers, status__in=OPEN_INVOICE_STATUSES).values_list(
        "payer_id", "total", "allocated", "credited"
    )
    for payer_id, total, allocated, credited in rows:
        owed[payer_id] = owed.get(payer_id, Decimal("0.00")) + total - allocated - credited
    return owed


def block_label(series: AppointmentSeries) -> str:
    days = sorted(a.starts_at for a in series.appointments.all())
    if not days:
        return f"Intensive block {series.pk} (no sessions)"
    first, last = timezone.localtime(days[0]).date(), timezone.localtime(days[-1]).date()
    return f"Intensive block {first:%d %b %Y} to {last:%d %b %Y} ({len(days)} sessions)"


def creditable_lines(invoice: Invoice) -> list[tuple[int, str]]:
    """The invoice's lines with something left to credit, labelled with what is left."""
    credited = dict(
        CreditNoteLine.objects.filter(invoice_line__invoice=invoice)
        .values("invoice_line")
        .annotate(total=Sum("amount"))
        .values_list("invoice_line", "total")
    )
    rows = []
    for line in invoice.lines.all():
        left = line.amount - (credited.get(line.pk) or Decimal("0"))
        if left > 0:
            rows.append((line.pk, f"{line.description}: {left} {invoice.currency}"))
    return rows
