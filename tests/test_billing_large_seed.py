"""The large seed's year of billing: what billing's services would have written, in bulk."""

from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from tandem.billing.models import OPEN_INVOICE_STATUSES, Allocation, DocumentCounter, Invoice, InvoiceLine
from tandem.billing.reports import aged_receivables
from tandem.demo.large_billing import LargeBilling

pytestmark = pytest.mark.django_db


def test_a_year_of_consistent_invoices(cast):
    written = LargeBilling(now=timezone.now(), seed=5, progress=lambda m: None).write()
    assert written == 2 * 12 == Invoice.objects.count() == InvoiceLine.objects.count()
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == list(range(1, written + 1))
    assert DocumentCounter.objects.get(series="invoice").last == written
    for invoice in Invoice.objects.all():
        allocated = Allocation.objects.filter(invoice=invoice).aggregate(s=Sum("amount"))["s"] or Decimal("0")
        assert allocated == invoice.allocated
        assert (invoice.status == "paid") == (invoice.balance == 0)
    owed = sum((i.balance for i in Invoice.objects.filter(status__in=OPEN_INVOICE_STATUSES)), Decimal("0"))
    assert aged_receivables(today=timezone.localdate()).total.total == owed
