"""What is owed by issue day (billing/receivables.py) always equals what the open invoices say, so the
aged-receivables total read from it is the total of the invoices."""

import datetime as dt
import importlib
from collections import defaultdict
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from tandem.billing import services
from tandem.billing.charging import client_payer
from tandem.billing.models import Charge, ChargeKind, Invoice, ReceivableDay, ReceivablePayerDay
from tandem.billing.receivables import receivables_rebuild
from tandem.billing.reports import aged_receivables
from tandem.cases.models import Client
from tandem.lib.time import local_today
from tests.billing_support import at_once, issued, paid

pytestmark = pytest.mark.django_db


def from_invoices() -> dict[dt.date, Decimal]:
    """Straight from the invoices: open ones with a balance, by their local issue day."""
    owed: dict[dt.date, Decimal] = defaultdict(Decimal)
    for invoice in Invoice.objects.filter(status__in=["open", "sent", "partly_paid"]):
        if invoice.balance > 0:
            owed[timezone.localdate(invoice.issued_at)] += invoice.balance
    return dict(owed)


def kept() -> dict[dt.date, Decimal]:
    return dict(ReceivableDay.objects.filter(amount__gt=0).values_list("day", "amount"))


def by_payer_from_invoices() -> dict[tuple[int, dt.date], Decimal]:
    owed: dict[tuple[int, dt.date], Decimal] = defaultdict(Decimal)
    for invoice in Invoice.objects.filter(status__in=["open", "sent", "partly_paid"]):
        if invoice.balance > 0:
            owed[(invoice.payer_id, timezone.localdate(invoice.issued_at))] += invoice.balance
    return dict(owed)


def kept_by_payer() -> dict[tuple[int, dt.date], Decimal]:
    """Each payer's kept days; a day with nothing owed keeps no row at all."""
    rows = ReceivablePayerDay.objects.values_list("payer_id", "day", "amount")
    return {(payer_id, day): amount for payer_id, day, amount in rows}


def assert_kept() -> None:
    """What the services keep, for the practice and for each payer, is what the invoices say."""
    assert kept() == from_invoices()
    assert kept_by_payer() == by_payer_from_invoices()


def test_kept_receivables_follow_every_change_to_an_invoice(cast):
    alex = client_payer(cast.couple_case.partner_a)
    blair = client_payer(cast.couple_case.partner_b)
    steps = [
        lambda: issued(cast, alex, "100.00", 10),
        lambda: issued(cast, blair, "40.00", 10),
        lambda: issued(cast, alex, "200.00", 45),
    ]
    made = [step() for step in steps]
    assert_kept()
    paid(cast, alex, "30.00", made[0])  # partly paid
    assert_kept()
    paid(cast, blair, "40.00", made[1])  # paid: no longer owed
    assert_kept()
    services.invoice_mark_sent(actor=cast.coordinator, invoice=made[2])
    line = made[2].lines.get()
    services.credit_note_issue(
        actor=cast.director, invoice=made[2], reason="Charged twice", amounts={line.pk: Decimal("50.00")}
    )
    assert_kept()
    services.invoice_write_off(actor=cast.coordinator, invoice=made[0], reason="Moved abroad")
    assert_kept()
    assert kept() == {local_today() - dt.timedelta(days=45): Decimal("150.00")}
    # Alex's first invoice was written off and Blair's paid: only Alex's third is owed, on its own day.
    assert kept_by_payer() == {(alex.pk, local_today() - dt.timedelta(days=45)): Decimal("150.00")}
    total = aged_receivables(today=local_today()).total
    assert total.cells == [Decimal("0.00"), Decimal("150.00"), Decimal("0.00"), Decimal("0.00")]
    # A rebuild from the invoices finds exactly what the services kept; so does the migration's fill.
    receivables_rebuild()
    assert_kept()
    ReceivableDay.objects.all().delete()
    ReceivablePayerDay.objects.all().delete()
    migration = importlib.import_module("tandem.billing.migrations.0006_receivables_by_day")
    migration.fill_receivables(apps, None)
    by_payer = importlib.import_module("tandem.billing.migrations.0009_receivables_by_payer_day")
    by_payer.fill_payer_days(apps, None)
    assert_kept()


def test_an_invoice_counts_on_its_local_issue_day(cast):
    """Just after midnight in the practice is still the previous day in UTC (the practice is east of it)."""
    alex = client_payer(cast.couple_case.partner_a)
    day = local_today() - dt.timedelta(days=31)
    Charge.objects.create(
        case=cast.couple_case,
        payer=alex,
        kind=ChargeKind.SESSION,
        description="Standard session",
        amount=Decimal("80.00"),
        currency="EUR",
        service_date=day,
        created_at=timezone.now(),
    )
    at = timezone.make_aware(dt.datetime.combine(day, dt.time(0, 30)))
    assert at.astimezone(dt.UTC).date() == day - dt.timedelta(days=1)
    services.invoice_issue(actor=cast.coordinator, payer=alex, case=cast.couple_case, now=at)
    assert kept() == {day: Decimal("80.00")}
    cells = aged_receivables(today=local_today()).total.cells
    assert cells == [Decimal("0.00"), Decimal("80.00"), Decimal("0.00"), Decimal("0.00")]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need a shared database: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_payments_at_once_on_one_issue_day_all_count(cast):
    """Ten payers' invoices issued the same day, paid at the same moment: each refresh of that day must
    see the others' payments, or the day keeps a balance that was paid."""
    payers = [client_payer(cast.couple_case.partner_a), client_payer(cast.couple_case.partner_b)]
    for n in range(8):
        extra = Client.objects.create(first_name=f"Payer{n}", last_name="Synthetic")
        payers.append(client_payer(extra))
    invoices = [issued(cast, payer, "100.00", 12) for payer in payers]
    errors = at_once(
        [
            lambda payer=payer, invoice=invoice, n=n: paid(cast, payer, f"{10 + n}.00", invoice)
            for n, (payer, invoice) in enumerate(zip(payers, invoices, strict=True))
        ]
    )
    assert not errors, errors
    left = sum(Decimal("100.00") - Decimal(f"{10 + n}.00") for n in range(len(invoices)))
    assert kept() == from_invoices() == {local_today() - dt.timedelta(days=12): left}
    assert kept_by_payer() == by_payer_from_invoices()
    assert len(kept_by_payer()) == len(payers)
