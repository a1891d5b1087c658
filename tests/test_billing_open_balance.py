"""Each payer's open balance (what the aged receivables rank payers by) is kept by the billing services
that change an invoice, and always equals the sum of the payer's open invoices' balances."""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.db.models import F, Sum

from tandem.billing import services
from tandem.billing.charging import client_payer
from tandem.billing.models import OPEN_INVOICE_STATUSES, Invoice, Payer
from tandem.billing.reports import aged_receivables
from tandem.lib.time import local_today
from tests.billing_support import insurer, issued

pytestmark = pytest.mark.django_db


def owed_by_invoices(payer: Payer) -> Decimal:
    found = Invoice.objects.filter(payer=payer, status__in=OPEN_INVOICE_STATUSES).aggregate(
        owed=Sum(F("total") - F("allocated") - F("credited"))
    )
    return found["owed"] or Decimal("0.00")


def kept(payer: Payer) -> Decimal:
    payer.refresh_from_db()
    assert payer.open_balance == owed_by_invoices(payer)
    return payer.open_balance


def test_issue_pay_credit_and_write_off_keep_the_open_balance(cast):
    alex = client_payer(cast.couple_case.partner_a)
    first = issued(cast, alex, "100.00", 10)
    second = issued(cast, alex, "60.00", 5)
    assert kept(alex) == Decimal("160.00")
    services.payment_record(
        actor=cast.coordinator, payer=alex, method="cash", amount=Decimal("30.00"), received_on=local_today()
    )
    assert kept(alex) == Decimal("130.00")
    services.credit_note_issue(actor=cast.coordinator, invoice=second, reason="Session fee was wrong")
    assert kept(alex) == Decimal("70.00")
    services.invoice_write_off(actor=cast.coordinator, invoice=first, reason="Moved abroad, unreachable")
    assert kept(alex) == Decimal("0.00")
    # Paying more than is owed leaves credit, never a negative balance.
    issued(cast, alex, "20.00", 1)
    services.payment_record(
        actor=cast.coordinator, payer=alex, method="card", amount=Decimal("50.00"), received_on=local_today()
    )
    assert kept(alex) == Decimal("0.00")


def test_the_aged_receivables_rank_payers_by_what_their_open_invoices_ask(cast):
    alex = client_payer(cast.couple_case.partner_a)
    blair = client_payer(cast.couple_case.partner_b)
    fund = insurer("Synthetic Mutual Fund")
    issued(cast, alex, "100.00", 10)
    issued(cast, blair, "40.00", 40)
    issued(cast, blair, "70.00", 100)
    issued(cast, fund, "90.00", 3)
    report = aged_receivables(today=local_today(), per_page=2)
    assert [row.label for row in report.rows] == ["Blair Partner", "Alex Partner"]
    assert report.page.paginator.count == 3
    assert report.total.total == Decimal("300.00")
    last = aged_receivables(today=local_today(), page=2, per_page=2)
    assert [(row.label, row.total) for row in last.rows] == [("Synthetic Mutual Fund", Decimal("90.00"))]


def test_the_migration_and_the_rebuild_set_every_balance_from_the_invoices(cast):
    alex = client_payer(cast.couple_case.partner_a)
    blair = client_payer(cast.couple_case.partner_b)
    issued(cast, alex, "15.50", 10)
    issued(cast, blair, "7.25", 10)
    Payer.objects.update(open_balance=Decimal("0.00"))
    migration = importlib.import_module("tandem.billing.migrations.0004_payer_open_balance")
    migration.fill_open_balances(apps, None)
    assert (kept(alex), kept(blair)) == (Decimal("15.50"), Decimal("7.25"))
    Payer.objects.update(open_balance=Decimal("1.00"))
    assert services.payer_balances_rebuild() == Payer.objects.count()
    assert (kept(alex), kept(blair)) == (Decimal("15.50"), Decimal("7.25"))
