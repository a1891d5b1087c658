"""The demo practice has billing in every state (issue 16, item 8), seeded through the services quickly,
and the portal couple each see only their own invoices."""

import pytest
from django.db.models import F
from django.test import Client as HttpClient
from django.urls import reverse

from tandem.audit.services import verify_audit_chain
from tandem.billing.models import (
    BillingArrangement,
    ChargeKind,
    ChargeStatus,
    CreditNote,
    Fee,
    Invoice,
    InvoiceStatus,
    Package,
    PayerKind,
    Payment,
    SlidingScale,
)
from tandem.cases.models import Case

# The demo is seeded once for the module (tests/conftest.py); each test's changes are rolled back after it.
pytestmark = pytest.mark.django_db


def test_the_demo_has_billing_in_every_state(demo_practice):
    assert Fee.objects.count() >= 6 and not Fee.objects.filter(kind="consultation").exists()
    kinds = set(BillingArrangement.objects.values_list("payer_kind", flat=True))
    assert {PayerKind.SPLIT, PayerKind.INSURER, PayerKind.CLIENT} <= kinds
    statuses = set(Invoice.objects.values_list("status", flat=True))
    assert set(InvoiceStatus.values) <= statuses, statuses
    assert Invoice.objects.filter(status=InvoiceStatus.WRITTEN_OFF).exclude(write_off_reason="").exists()
    assert CreditNote.objects.exists() and SlidingScale.objects.exists() and Payment.objects.exists()
    package = Package.objects.get()
    assert package.deposit > 0
    assert package.charges.filter(kind=ChargeKind.DEPOSIT, status=ChargeStatus.INVOICED).exists()
    assert Invoice.objects.filter(lines__charge__kind=ChargeKind.DEPOSIT, status=InvoiceStatus.PAID).exists()
    assert package.charges.filter(kind=ChargeKind.BALANCE, status=ChargeStatus.OPEN).exists()
    assert verify_audit_chain().ok


def test_the_demo_portal_couple_see_only_their_own_invoices(demo_practice):
    cases = Case.objects.filter(
        billing_arrangement__payer_kind=PayerKind.SPLIT,
        partner_a__user__isnull=False,
        partner_b__user__isnull=False,
        invoices__payer__client=F("partner_b"),
    ).distinct()
    assert cases.exists()
    for case in cases:
        for me, other in ((case.partner_a, case.partner_b), (case.partner_b, case.partner_a)):
            http = HttpClient()
            http.force_login(me.user)
            page = http.get(reverse("portal:invoices")).content.decode()
            mine = Invoice.objects.filter(payer__client=me)
            theirs = Invoice.objects.filter(payer__client=other)
            assert theirs.exists()
            assert all(i.display_number in page for i in mine)
            assert not any(i.display_number in page for i in theirs)
