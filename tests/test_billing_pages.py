"""The billing pages: the front desk's overview, a case's billing, a payer's statement, set-up, and the
portal's invoices, where each partner sees only their own (never the other partner's, never an outsider)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tandem.audit.models import AuditEvent
from tandem.billing.models import (
    BillingArrangement,
    BillingPolicy,
    Fee,
    Invoice,
    InvoiceStatus,
    Payment,
    SlidingScale,
)
from tandem.cases.models import Client
from tests.billing_support import split_invoices
from tests.cast import login, make_user
from tests.pdf_support import pdf_text

pytestmark = pytest.mark.django_db


def as_user(client, user):
    client.logout()
    login(client, user)
    return client


def test_split_payment_from_both_partners_in_one_form_turns_both_paid(cast, client):
    invoice_a, invoice_b = split_invoices(cast)
    assert (invoice_a.total, invoice_b.total) == (Decimal("60.01"), Decimal("60.00"))
    as_user(client, cast.coordinator)
    url = reverse("billing:case_payment", kwargs={"case_id": cast.couple_case.pk})
    page = client.get(url)
    assert page.status_code == 200
    fields = {f"amount_{invoice_a.payer_id}": "60.01", f"amount_{invoice_b.payer_id}": "60.00"}
    today = page.context["form"].initial["received_on"].isoformat()
    response = client.post(url, {**fields, "method": "card", "received_on": today, "reference": ""})
    assert response.status_code == 302
    assert Payment.objects.count() == 2
    for invoice in (invoice_a, invoice_b):
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.PAID
    statement = client.get(reverse("billing:payer", kwargs={"payer_id": invoice_a.payer_id}))
    assert statement.status_code == 200
    assert "Paid" in statement.content.decode()


def test_a_payment_form_without_amounts_or_with_bad_ones_changes_nothing(cast, client):
    invoice_a, _ = split_invoices(cast)
    as_user(client, cast.coordinator)
    url = reverse("billing:case_payment", kwargs={"case_id": cast.couple_case.pk})
    for data in (
        {"method": "cash", "received_on": "2026-01-01"},
        {"method": "cash", "received_on": "2026-01-01", f"amount_{invoice_a.payer_id}": "-5"},
        {"method": "cash", "received_on": "2026-01-01", f"amount_{invoice_a.payer_id}": "1.005"},
        {"method": "cash", "received_on": "2999-01-01", f"amount_{invoice_a.payer_id}": "5"},
        {"method": "gold", "received_on": "2026-01-01", f"amount_{invoice_a.payer_id}": "5"},
    ):
        response = client.post(url, data)
        assert response.status_code == 400, data
    assert not Payment.objects.exists()


def test_each_partner_sees_only_their_own_invoices_in_the_portal(cast, client):
    invoice_a, invoice_b = split_invoices(cast)
    as_user(client, cast.partner_a)
    page = client.get(reverse("portal:invoices")).content.decode()
    assert invoice_a.display_number in page and invoice_b.display_number not in page
    mine = client.get(reverse("portal:invoice_pdf", kwargs={"invoice_id": invoice_a.pk}))
    assert mine.status_code == 200 and invoice_a.display_number in pdf_text(mine.content)
    assert client.get(reverse("portal:invoice_pdf", kwargs={"invoice_id": invoice_b.pk})).status_code == 404
    assert client.get(reverse("billing:invoice", kwargs={"invoice_id": invoice_b.pk})).status_code == 404
    assert client.get(reverse("billing:invoice_pdf", kwargs={"invoice_id": invoice_b.pk})).status_code == 404
    as_user(client, cast.partner_b)
    page = client.get(reverse("portal:invoices")).content.decode()
    assert invoice_b.display_number in page and invoice_a.display_number not in page
    assert client.get(reverse("portal:invoice_pdf", kwargs={"invoice_id": invoice_a.pk})).status_code == 404
    denied = AuditEvent.objects.filter(action="access.denied", detail__object="invoice")
    assert denied.count() >= 2


def test_an_outsider_client_sees_no_invoice(cast, client):
    invoice_a, _ = split_invoices(cast)
    outsider = make_user("olly.outsider", "client", first="Olly", last="Outsider")
    Client.objects.create(first_name="Olly", last_name="Outsider", user=outsider)
    as_user(client, outsider)
    page = client.get(reverse("portal:invoices"))
    assert page.status_code == 200 and invoice_a.display_number not in page.content.decode()
    assert client.get(reverse("portal:invoice_pdf", kwargs={"invoice_id": invoice_a.pk})).status_code == 404
    for name, kwargs in (
        ("billing:home", {}),
        ("billing:case", {"case_id": cast.couple_case.pk}),
        ("billing:payer", {"payer_id": invoice_a.payer_id}),
    ):
        assert client.get(reverse(name, kwargs=kwargs)).status_code == 404, name


def test_staff_roles_reach_what_their_role_allows(cast, client):
    invoice_a, _ = split_invoices(cast)
    case_url = reverse("billing:case", kwargs={"case_id": cast.couple_case.pk})
    as_user(client, cast.therapist_a)  # assigned: sees the case's billing, does not run it
    assert client.get(case_url).status_code == 200
    assert client.get(reverse("billing:home")).status_code == 404
    assert client.get(reverse("billing:payer", kwargs={"payer_id": invoice_a.payer_id})).status_code == 404
    assert client.get(reverse("billing:setup")).status_code == 404
    as_user(client, cast.therapist_b)  # not assigned
    assert client.get(case_url).status_code == 404
    assert client.get(reverse("billing:invoice", kwargs={"invoice_id": invoice_a.pk})).status_code == 404
    as_user(client, cast.coordinator)
    assert client.get(reverse("billing:setup")).status_code == 404


def test_the_front_desk_overview_and_case_page_in_fixed_queries(cast, client, django_assert_max_num_queries):
    split_invoices(cast)
    as_user(client, cast.coordinator)
    with django_assert_max_num_queries(25):
        page = client.get(reverse("billing:home"))
    assert page.status_code == 200 and "INV-" in page.content.decode()
    with django_assert_max_num_queries(35):
        assert client.get(reverse("billing:case", kwargs={"case_id": cast.couple_case.pk})).status_code == 200


def test_arrangement_scale_waive_credit_note_and_write_off_through_the_pages(cast, client):
    invoice_a, invoice_b = split_invoices(cast)
    case = cast.couple_case
    as_user(client, cast.coordinator)
    response = client.post(
        reverse("billing:arrangement", kwargs={"case_id": case.pk}),
        {"payer_kind": "split", "split_percent_a": "70", "payer_client": "", "identified_patient": ""},
    )
    assert response.status_code == 302
    assert BillingArrangement.objects.get(case=case).split_percent_a == Decimal("70")
    refused = client.post(
        reverse("billing:arrangement", kwargs={"case_id": case.pk}),
        {"payer_kind": "insurer", "split_percent_a": "50", "insurer_name": ""},
    )
    assert refused.status_code == 400
    assert BillingArrangement.objects.get(case=case).payer_kind == "split"
    as_user(client, cast.therapist_a)
    response = client.post(
        reverse("billing:scale", kwargs={"case_id": case.pk}),
        {"kind": "percent", "value": "70", "reason": "Reduced hours at work."},
    )
    assert response.status_code == 302 and SlidingScale.objects.get(case=case).value == Decimal("70")
    as_user(client, cast.coordinator)
    line = invoice_a.lines.get()
    response = client.post(
        reverse("billing:credit_note", kwargs={"invoice_id": invoice_a.pk}),
        {"lines": [str(line.pk)], "reason": "Session fee agreed lower."},
    )
    assert response.status_code == 302
    invoice_a.refresh_from_db()
    assert invoice_a.credited == Decimal("60.01") and invoice_a.status == InvoiceStatus.PAID
    response = client.post(
        reverse("billing:write_off", kwargs={"invoice_id": invoice_b.pk}), {"reason": "Hardship agreed."}
    )
    assert response.status_code == 302
    invoice_b.refresh_from_db()
    assert invoice_b.status == InvoiceStatus.WRITTEN_OFF
    statement = client.get(reverse("billing:payer", kwargs={"payer_id": invoice_b.payer_id})).content.decode()
    assert "Written off" in statement and "Hardship agreed." in statement


def test_the_director_sets_fees_and_the_policy(cast, client):
    as_user(client, cast.director)
    url = reverse("billing:setup")
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(url, {"action": "fee", "kind": "standard", "minutes": "50", "amount": "95.50"})
    assert response.status_code == 302
    assert Fee.objects.get(kind="standard", minutes=50).amount == Decimal("95.50")
    free = {"action": "fee", "kind": "consultation", "minutes": "20", "amount": "1"}
    assert client.post(url, free).status_code == 400
    initial = page.context["policy_form"].initial
    data = {"action": "policy", **{k: str(v) for k, v in initial.items()}}
    data.update({"late_cancel_hours": "24", "package_refund_rules": "14:50, 30:100"})
    assert client.post(url, data).status_code == 302
    policy = BillingPolicy.current()
    assert policy.late_cancel_hours == 24 and policy.package_refund_rules == [[30, 100], [14, 50]]
    bad = {**data, "package_refund_rules": "thirty:all"}
    assert client.post(url, bad).status_code == 400
    assert BillingPolicy.current().package_refund_rules == [[30, 100], [14, 50]]


def test_issue_invoice_button_issues_one_per_payer(cast, client):
    invoice_a, _ = split_invoices(cast)
    as_user(client, cast.coordinator)
    url = reverse("billing:invoice_issue", kwargs={"case_id": cast.couple_case.pk})
    response = client.post(url, {"payer": str(invoice_a.payer_id)})
    assert response.status_code == 302  # nothing open: a message, no invoice
    assert Invoice.objects.count() == 2
    assert client.post(url, {"payer": "not-a-number"}).status_code == 302
    assert Invoice.objects.count() == 2


def _queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_page_queries_do_not_grow_with_invoices_and_payments(cast, client):
    from tandem.billing import services
    from tests.test_billing_documents import open_charge

    invoice_a, _ = split_invoices(cast)
    payer, case = invoice_a.payer, cast.couple_case
    urls = {
        "staff": [
            reverse("billing:home"),
            reverse("billing:case", kwargs={"case_id": case.pk}),
            reverse("billing:payer", kwargs={"payer_id": payer.pk}),
        ],
        "portal": [reverse("portal:invoices")],
    }

    def counts():
        as_user(client, cast.coordinator)
        staff = [_queries(client, url) for url in urls["staff"]]
        as_user(client, cast.partner_a)
        return staff + [_queries(client, url) for url in urls["portal"]]

    def one_more() -> None:
        open_charge(case, payer, "10.00")
        invoice = services.invoice_issue(actor=cast.coordinator, payer=payer, case=case)
        services.payment_record(
            actor=cast.coordinator,
            payer=payer,
            method="cash",
            amount=Decimal("4.00"),
            received_on=invoice.issued_at.date(),
        )
        services.credit_note_issue(actor=cast.coordinator, invoice=invoice, reason="Goodwill.")

    one_more()  # a payment, a credit note and an invoice of each kind before counting
    before = counts()
    for _ in range(4):
        one_more()
    open_charge(case, payer, "10.00")
    assert counts() == before


def test_waive_a_fee_and_cancel_a_package_through_the_pages(cast, client):
    from tandem.billing.models import Charge, ChargeStatus, PackageStatus
    from tests.billing_support import billing_world

    world = billing_world(cast)
    as_user(client, cast.coordinator)
    waive = reverse("billing:waive", kwargs={"charge_id": world.fee_charge.pk})
    assert client.post(waive, {"reason": ""}).status_code == 400
    assert Charge.objects.get(pk=world.fee_charge.pk).status == ChargeStatus.OPEN
    assert client.post(waive, {"reason": "First late cancellation: illness."}).status_code == 302
    assert Charge.objects.get(pk=world.fee_charge.pk).status == ChargeStatus.WAIVED
    assert client.post(waive, {"reason": "Again."}).status_code == 400  # no longer open
    cancel = reverse("billing:package_cancel", kwargs={"package_id": world.package.pk})
    page = client.get(cancel).content.decode()
    assert "30:100, 14:50" in page
    assert client.post(cancel, {"reason": "The couple moved abroad."}).status_code == 302
    world.package.refresh_from_db()
    assert world.package.status == PackageStatus.CANCELLED and world.package.refund_percent == 100
    as_user(client, cast.therapist_a)  # sees the case's billing, runs none of it
    assert client.get(cancel).status_code == 404
    assert client.get(waive).status_code == 404


def test_record_a_payment_by_case_reference_from_the_overview(cast, client):
    as_user(client, cast.coordinator)
    response = client.get(reverse("billing:home"), {"case": " t-0001 "})
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:case_payment", kwargs={"case_id": cast.couple_case.pk})
    page = client.get(reverse("billing:home"), {"case": "T-9999\x00"}, follow=True)
    assert page.status_code == 200 and "No case has that reference" in page.content.decode()
