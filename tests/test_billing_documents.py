"""Invoices, credit notes, payments, refunds and packages."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone

from tandem.access.services import AccessDenied
from tandem.audit.models import AuditEvent
from tandem.billing import packages, selectors, services
from tandem.billing.charging import client_payer
from tandem.billing.models import (
    Charge,
    ChargeKind,
    ChargeStatus,
    DocumentCounter,
    Invoice,
    InvoiceStatus,
    PackageStatus,
    Payer,
    PayerKind,
)
from tandem.cases.models import Case, Client
from tandem.scheduling import services as scheduling
from tandem.scheduling.models import AppointmentStatus
from tests.billing_support import attend, future, set_fees

pytestmark = pytest.mark.django_db


def open_charge(case: Case, payer: Payer, amount: str, day: dt.date | None = None) -> Charge:
    return Charge.objects.create(
        case=case,
        payer=payer,
        kind=ChargeKind.SESSION,
        description="Standard session",
        amount=Decimal(amount),
        currency="EUR",
        service_date=day or dt.date(2026, 11, 2),
        created_at=timezone.now(),
    )


def test_invoices_take_consecutive_numbers_and_keep_their_lines(cast):
    payer = client_payer(cast.couple_case.partner_a)
    open_charge(cast.couple_case, payer, "120.00")
    open_charge(cast.couple_case, payer, "60.50")
    first = services.invoice_issue(actor=cast.coordinator, payer=payer, case=cast.couple_case)
    assert first.total == Decimal("180.50")
    assert [line.amount for line in first.lines.all()] == [Decimal("120.00"), Decimal("60.50")]
    assert not Charge.objects.filter(status=ChargeStatus.OPEN).exists()
    with pytest.raises(services.BillingInvalid):
        services.invoice_issue(actor=cast.coordinator, payer=payer, case=cast.couple_case)
    open_charge(cast.couple_case, payer, "10.00")
    second = services.invoice_issue(actor=cast.coordinator, payer=payer, case=cast.couple_case)
    assert second.number == first.number + 1
    assert AuditEvent.objects.filter(action="billing.invoice_issue").count() == 2
    with pytest.raises(AccessDenied):
        services.invoice_issue(actor=cast.therapist_a, payer=payer, case=cast.couple_case)


def test_a_refused_issue_gives_its_number_back(cast):
    payer = client_payer(cast.couple_case.partner_a)
    open_charge(cast.couple_case, payer, "1.00")
    before = DocumentCounter.objects.get(series="invoice").last
    with pytest.raises(services.BillingInvalid):
        services.invoice_issue(actor=cast.coordinator, payer=payer, case=cast.solo_case)
    invoice = services.invoice_issue(actor=cast.coordinator, payer=payer, case=cast.couple_case)
    assert invoice.number == before + 1


def test_partial_payment_overpayment_credit_and_refund(cast):
    payer = client_payer(cast.couple_case.partner_a)
    open_charge(cast.couple_case, payer, "100.00")
    invoice = services.invoice_issue(actor=cast.coordinator, payer=payer, case=cast.couple_case)
    services.invoice_mark_sent(actor=cast.coordinator, invoice=invoice)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.SENT
    today = timezone.localdate()
    services.payment_record(
        actor=cast.coordinator, payer=payer, method="cash", amount=Decimal("40"), received_on=today
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == (InvoiceStatus.PARTLY_PAID, Decimal("60.00"))
    services.payment_record(
        actor=cast.coordinator, payer=payer, method="transfer", amount=Decimal("75.00"), received_on=today
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == (InvoiceStatus.PAID, Decimal("0.00"))
    assert selectors.payer_credit(payer) == Decimal("15.00")
    with pytest.raises(services.BillingInvalid):
        services.refund_record(
            actor=cast.coordinator,
            payer=payer,
            amount=Decimal("15.01"),
            method="cash",
            reason="Back",
            paid_on=today,
        )
    services.refund_record(
        actor=cast.coordinator,
        payer=payer,
        amount=Decimal("15.00"),
        method="cash",
        reason="Overpaid",
        paid_on=today,
    )
    assert selectors.payer_credit(payer) == Decimal("0.00")
    for bad in ("0", "-5", "1.001", "abc", "NaN"):
        with pytest.raises(services.BillingInvalid):
            services.payment_record(
                actor=cast.coordinator, payer=payer, method="cash", amount=bad, received_on=today
            )
    with pytest.raises(services.BillingInvalid):
        services.payment_record(
            actor=cast.coordinator,
            payer=payer,
            method="cash",
            amount="5",
            received_on=today + dt.timedelta(days=2),
        )


def test_credit_note_on_a_paid_invoice_becomes_credit_and_a_write_off_keeps_its_reason(cast):
    payer = client_payer(cast.couple_case.partner_b)
    open_charge(cast.couple_case, payer, "80.00")
    open_charge(cast.couple_case, payer, "20.00")
    invoice = services.invoice_issue(actor=cast.coordinator, payer=payer, case=cast.couple_case)
    services.payment_record(
        actor=cast.coordinator,
        payer=payer,
        method="card",
        amount=Decimal("100"),
        received_on=timezone.localdate(),
    )
    line = invoice.lines.order_by("amount").first()
    note = services.credit_note_issue(
        actor=cast.director, invoice=invoice, amounts={line.pk: Decimal("5.00")}, reason="Shortened session"
    )
    assert (note.total, note.to_credit) == (Decimal("5.00"), Decimal("5.00"))
    assert selectors.payer_credit(payer) == Decimal("5.00")
    assert note.number >= 1 and note.display_number.startswith("CN-")
    with pytest.raises(services.BillingInvalid):
        services.credit_note_issue(
            actor=cast.director, invoice=invoice, amounts={line.pk: Decimal("15.01")}, reason="Too much"
        )
    open_charge(cast.couple_case, payer, "30.00")
    second = services.invoice_issue(actor=cast.coordinator, payer=payer, case=cast.couple_case)
    assert services.credit_allocate(actor=cast.coordinator, payer=payer) == Decimal("5.00")
    with pytest.raises(services.BillingInvalid):
        services.invoice_write_off(actor=cast.coordinator, invoice=second, reason="")
    services.invoice_write_off(actor=cast.coordinator, invoice=second, reason="Moved abroad, unreachable")
    second.refresh_from_db()
    assert (second.status, second.write_off_reason, second.total) == (
        InvoiceStatus.WRITTEN_OFF,
        "Moved abroad, unreachable",
        Decimal("30.00"),
    )


def book_intensive(cast, days_ahead: int):
    return scheduling.intensive_book(
        actor=cast.coordinator,
        case=cast.couple_case,
        room=cast.room,
        first_day=future(days_ahead).date(),
        start_time=dt.time(10),
        team=cast.couple_case.team,
        days=2,
    )


def weekday_ahead(days: int) -> int:
    """At least `days` ahead, on a weekday (intensives skip weekends by default)."""
    while future(days).weekday() >= 5:
        days += 1
    return days


def test_package_deposit_balance_and_sessions_covered(cast, django_capture_on_commit_callbacks):
    set_fees(cast.director)
    services.arrangement_set(actor=cast.coordinator, case=cast.couple_case, payer_kind=PayerKind.SPLIT)
    series = book_intensive(cast, weekday_ahead(40))
    package = packages.package_create(actor=cast.coordinator, series=series, price=Decimal("2000.01"))
    deposits = Charge.objects.filter(package=package, kind=ChargeKind.DEPOSIT).order_by("payer__client_id")
    balances = Charge.objects.filter(package=package, kind=ChargeKind.BALANCE).order_by("payer__client_id")
    assert [c.amount for c in deposits] == [Decimal("300.00"), Decimal("300.00")]  # 30% of 2000.01 = 600.00
    assert [c.amount for c in balances] == [Decimal("700.01"), Decimal("700.00")]
    assert package.balance_due_on == package.first_day - dt.timedelta(days=14)
    assert {c.due_on for c in deposits} == {timezone.localdate()}
    first = series.appointments.order_by("starts_at").first()
    with django_capture_on_commit_callbacks(execute=True):
        attend(cast, first)
    assert not Charge.objects.filter(appointment=first).exists()


@pytest.mark.parametrize(
    ("days_ahead", "refund", "kept"), [(40, "100", "0"), (20, "50", "1000.00"), (5, "0", "2000.00")]
)
def test_package_refund_follows_days_before_the_first_day(
    cast, days_ahead, refund, kept, django_capture_on_commit_callbacks
):
    set_fees(cast.director)
    services.arrangement_set(
        actor=cast.coordinator,
        case=cast.couple_case,
        payer_kind=PayerKind.CLIENT,
        payer_client=cast.couple_case.partner_a,
    )
    series = book_intensive(cast, weekday_ahead(days_ahead))
    package = packages.package_create(actor=cast.coordinator, series=series, price=Decimal("2000"))
    payer = client_payer(cast.couple_case.partner_a)
    invoice = services.invoice_issue(actor=cast.coordinator, payer=payer, case=cast.couple_case)
    services.payment_record(
        actor=cast.coordinator,
        payer=payer,
        method="transfer",
        amount=Decimal("600"),
        received_on=timezone.localdate(),
        invoices=[invoice],
    )
    with django_capture_on_commit_callbacks(execute=True):
        package = packages.package_cancel(actor=cast.coordinator, package=package, reason="Couple separated")
    assert package.status == PackageStatus.CANCELLED
    assert package.refund_percent == Decimal(refund)
    retained = Charge.objects.filter(package=package, kind=ChargeKind.RETAINED).exclude(
        status=ChargeStatus.REVERSED
    )
    assert sum((c.amount for c in retained), Decimal("0")) == Decimal(kept)
    assert (
        not Charge.objects.filter(package=package, kind__in=[ChargeKind.DEPOSIT, ChargeKind.BALANCE])
        .exclude(status=ChargeStatus.REVERSED)
        .exists()
    )
    # The invoiced deposit and balance were credited: the 600 paid is now credit, to refund or to set
    # against the invoice of what the rules keep.
    assert selectors.payer_credit(payer) == Decimal("600.00")
    assert set(series.appointments.values_list("status", flat=True)) == {AppointmentStatus.CANCELLED}
    assert not Charge.objects.filter(appointment__series=series).exists()


def test_refund_rules_pick_the_first_rule_met():
    rules = [[14, 50], [30, 100]]
    assert packages.refund_percent(rules, 30) == Decimal("100")
    assert packages.refund_percent(rules, 29) == Decimal("50")
    assert packages.refund_percent(rules, 13) == Decimal("0")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need a shared database: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_issues_take_twenty_consecutive_numbers(cast):
    DocumentCounter.objects.get_or_create(series="invoice")
    jobs = []
    for n in range(20):
        client = Client.objects.create(first_name=f"Payer{n}", last_name="Example")
        case = Case.objects.create(
            reference=f"C-{n:04d}",
            partner_a=client,
            absent_partner="unwilling",
            opened_on=dt.date(2026, 1, 1),
        )
        payer = client_payer(client)
        open_charge(case, payer, f"{n + 1}.00")
        jobs.append((payer, case))
    start = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def issue(payer, case):
        try:
            start.wait()
            services.invoice_issue(actor=cast.coordinator, payer=payer, case=case)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issue, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == list(range(numbers[0], numbers[0] + 20))
