"""The front desk takes a split couple's payment at the desk, both partners in one form; the statements
turn paid; each partner then logs into the portal and sees only their own part (and downloads their own
invoice), never the other partner's."""

import re
from pathlib import Path

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tandem.billing.models import InvoiceStatus, Payment
from tests.billing_support import paid, split_invoices
from tests.browser.test_journey_consents import log_in, warm_up
from tests.cast import build_cast
from tests.pdf_support import pdf_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_split_payment_journey(live_server, migration_data, desktop: Page, phone: Page):
    cast = build_cast()
    device = TOTPDevice.objects.create(user=cast.coordinator, name="phone", confirmed=True)
    invoice_a, invoice_b = split_invoices(cast)
    base = live_server.url
    warm_up(desktop, base)
    case = cast.couple_case

    log_in(desktop, base, cast.coordinator.username, device)
    desktop.goto(f"{base}/cases/{case.pk}/")
    desktop.get_by_role("link", name="Fees, who pays, charges and invoices").click()
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Billing")
    desktop.get_by_role("link", name="Record a payment").click()
    desktop.get_by_label("Amount from Alex Partner").fill("60.01")
    desktop.get_by_label("Amount from Blair Partner").fill("60.00")
    desktop.get_by_label("Paid by").select_option(label="Card terminal")
    desktop.get_by_role("button", name="Record").click()
    expect(desktop.get_by_role("status")).to_contain_text("2 payment(s) recorded, 120.01 in all")
    assert Payment.objects.count() == 2

    for invoice in (invoice_a, invoice_b):
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.PAID
        desktop.goto(f"{base}/billing/payers/{invoice.payer_id}/")
        row = desktop.get_by_role("row").filter(has_text=invoice.display_number)
        expect(row).to_contain_text("Paid")

    for user, mine, theirs in (
        (cast.partner_a, invoice_a, invoice_b),
        (cast.partner_b, invoice_b, invoice_a),
    ):
        phone.context.clear_cookies()
        log_in(phone, base, user.username)
        phone.goto(f"{base}/portal/")
        phone.get_by_role("link", name="Your invoices").click()
        main = phone.locator("main")
        expect(main).to_contain_text(mine.display_number)
        expect(main).not_to_contain_text(theirs.display_number)
        expect(phone.get_by_role("row").filter(has_text=mine.display_number)).to_contain_text("Paid")
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        with phone.expect_download() as download:
            phone.get_by_role("link", name=re.compile(mine.display_number)).click()
        assert mine.display_number in pdf_text(Path(download.value.path()).read_bytes())
        other = phone.request.get(f"{base}/portal/invoices/{theirs.pk}/invoice.pdf")
        assert other.status == 404


def test_the_director_reads_what_is_owed_by_age_and_it_follows_a_payment(
    live_server, migration_data, desktop: Page
):
    """Aged receivables in a real browser: each partner's open invoice in its age bucket and the total
    row; once one partner pays at the desk, that partner's row is gone and the total is the other's."""
    cast = build_cast()
    device = TOTPDevice.objects.create(user=cast.director, name="phone", confirmed=True)
    invoice_a, _ = split_invoices(cast)
    base = live_server.url
    warm_up(desktop, base)

    log_in(desktop, base, cast.director.username, device)
    desktop.goto(f"{base}/billing/reports/aged/")
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Aged receivables")
    table = desktop.get_by_role("table", name=re.compile("Open balances by age"))
    alex = table.get_by_role("row").filter(has_text="Alex Partner")
    expect(alex).to_have_text(cells("Alex Partner (client)", "60.01", "0.00", "0.00", "0.00", "60.01"))
    expect(table.get_by_role("row").filter(has_text="All payers")).to_have_text(
        cells("All payers", "120.01", "0.00", "0.00", "0.00", "120.01")
    )

    paid(cast, invoice_a.payer, "60.01", invoice_a)
    desktop.reload()
    expect(table.get_by_role("row").filter(has_text="Alex Partner")).to_have_count(0)
    expect(table.get_by_role("row").filter(has_text="All payers")).to_have_text(
        cells("All payers", "60.00", "0.00", "0.00", "0.00", "60.00")
    )
    blair = table.get_by_role("row").filter(has_text="Blair Partner")
    expect(blair).to_have_text(cells("Blair Partner (client)", "60.00", "0.00", "0.00", "0.00", "60.00"))


def cells(*texts: str) -> re.Pattern[str]:
    """A table row's cells in order, whatever the white space between them."""
    return re.compile(r"\s*".join(re.escape(text) for text in texts))
