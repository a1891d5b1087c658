"""A payer's credit is kept on the payer by billing's services (`Payer.credit`) and always equals what its
payments, credit notes, allocations and refunds say, so statements and the refund and allocation rules
read one row however long the payer's history."""

import importlib
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from tandem.billing import selectors, services
from tandem.billing.charging import client_payer
from tandem.billing.models import Allocation, CreditNote, Payer, Payment, Refund
from tandem.lib.time import local_today
from tests.billing_support import at_once, insurer, issued, paid

pytestmark = pytest.mark.django_db


def from_rows(payer: Payer) -> Decimal:
    """Straight from the rows, without the services' arithmetic."""

    def total(model, field: str) -> Decimal:
        return model.objects.filter(payer=payer).aggregate(s=Sum(field))["s"] or Decimal("0.00")

    money_in = total(Payment, "amount") + total(CreditNote, "to_credit")
    return money_in - total(Allocation, "amount") - total(Refund, "amount")


def kept(payer: Payer) -> Decimal:
    payer.refresh_from_db()
    assert payer.credit == from_rows(payer)
    return payer.credit


def refund(cast, payer: Payer, amount: str) -> None:
    services.refund_record(
        actor=cast.coordinator,
        payer=payer,
        amount=Decimal(amount),
        method="transfer",
        reason="Paid back at the client's request",
        paid_on=local_today(),
    )


def test_every_service_that_moves_money_keeps_the_credit(cast):
    alex = client_payer(cast.couple_case.partner_a)
    first = issued(cast, alex, "100.00", 10)
    assert kept(alex) == Decimal("0.00")
    # Paid in full and 25 more: the surplus is credit.
    services.payment_record(
        actor=cast.coordinator, payer=alex, method="cash", amount=Decimal("125.00"), received_on=local_today()
    )
    assert kept(alex) == Decimal("25.00")
    # Crediting a paid invoice gives the whole note back as credit.
    services.credit_note_issue(actor=cast.coordinator, invoice=first, reason="Session was not held")
    assert kept(alex) == Decimal("125.00")
    # A new invoice takes what it asks from the credit.
    issued(cast, alex, "40.00", 2)
    assert services.credit_allocate(actor=cast.coordinator, payer=alex) == Decimal("40.00")
    assert kept(alex) == Decimal("85.00")
    refund(cast, alex, "85.00")
    assert kept(alex) == Decimal("0.00")
    assert selectors.payer_credit(alex) == Decimal("0.00")


def test_refusals_leave_the_credit_as_it_was(cast):
    alex = client_payer(cast.couple_case.partner_a)
    invoice = issued(cast, alex, "30.00", 3)
    paid(cast, alex, "50.00", invoice)
    assert kept(alex) == Decimal("20.00")
    with pytest.raises(services.BillingInvalid, match=r"credit is 20\.00"):
        refund(cast, alex, "20.01")
    with pytest.raises(services.BillingInvalid, match="no credit"):
        services.credit_allocate(actor=cast.coordinator, payer=client_payer(cast.couple_case.partner_b))
    assert kept(alex) == Decimal("20.00")


def test_the_database_refuses_a_credit_below_zero(cast):
    fund = insurer("Synthetic Mutual Fund")
    with pytest.raises(IntegrityError), transaction.atomic():
        Payer.objects.filter(pk=fund.pk).update(credit=Decimal("-0.01"))


def test_the_statement_shows_the_kept_credit(cast):
    alex = client_payer(cast.couple_case.partner_a)
    paid(cast, alex, "70.00", issued(cast, alex, "50.00", 5))
    alex.refresh_from_db()
    assert selectors.statement(alex).credit == Decimal("20.00") == from_rows(alex)


def test_the_migration_and_the_rebuild_set_every_credit_from_the_rows(cast):
    alex = client_payer(cast.couple_case.partner_a)
    blair = client_payer(cast.couple_case.partner_b)
    paid(cast, alex, "15.50", issued(cast, alex, "10.00", 4))
    paid(cast, blair, "7.25", issued(cast, blair, "5.00", 4))
    refund(cast, blair, "1.00")
    Payer.objects.update(credit=Decimal("0.00"))
    migration = importlib.import_module("tandem.billing.migrations.0007_payer_credit")
    migration.fill_credits(apps, None)
    assert (kept(alex), kept(blair)) == (Decimal("5.50"), Decimal("1.25"))
    Payer.objects.update(credit=Decimal("9.00"))
    assert services.payer_balances_rebuild() == Payer.objects.count()
    assert (kept(alex), kept(blair)) == (Decimal("5.50"), Decimal("1.25"))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need a shared database: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_one_payers_payments_credits_and_refunds_at_once_all_count(cast):
    """Payments, credit notes, credit allocations and refunds of one payer at the same moment: every one
    completes (the services lock the payer before its invoices, so none waits for another crosswise) and
    the kept credit is what the rows say."""
    alex = client_payer(cast.couple_case.partner_a)
    invoices = [issued(cast, alex, "20.00", 8) for _ in range(4)]
    services.payment_record(
        actor=cast.coordinator, payer=alex, method="cash", amount=Decimal("200.00"), received_on=local_today()
    )
    for _ in range(3):
        issued(cast, alex, "10.00", 1)
    work: list[Callable[[], object]] = [
        lambda invoice=invoice: services.credit_note_issue(
            actor=cast.coordinator, invoice=invoice, reason="Fee corrected"
        )
        for invoice in invoices
    ]
    work += [lambda: services.credit_allocate(actor=cast.coordinator, payer=alex)] * 2
    work += [lambda: refund(cast, alex, "5.00")] * 2
    work += [
        lambda: services.payment_record(
            actor=cast.coordinator,
            payer=alex,
            method="card",
            amount=Decimal("3.00"),
            received_on=local_today(),
        )
    ] * 2
    errors = at_once(work)
    assert not errors, errors
    # 200 paid for 80 invoiced, 80 credited back, 30 more invoiced and taken from credit, 6 paid, 10
    # refunded.
    assert kept(alex) == Decimal("200.00") - Decimal("80.00") + Decimal("80.00") - Decimal("30.00") + Decimal(
        "6.00"
    ) - Decimal("10.00")
