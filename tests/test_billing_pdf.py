"""The invoice and credit-note PDFs: practice details and tax text from settings, the bill-to block, lines
and Decimal totals, and, with an IBAN set, a valid ISO 11649 reference and the EPC QR code segno makes for
exactly that payment. Nothing is decoded by hand: the reference is checked by python-stdnum, the QR code by
comparing the embedded image with segno's own rendering of the expected payment."""

from decimal import Decimal
from io import BytesIO

import pytest
from PIL import Image, ImageChops
from pypdf import PdfReader
from segno import helpers as segno_helpers
from stdnum import iso11649

from tandem.billing import services
from tandem.billing.pdf import credit_note_pdf, creditor_reference, epc_qr, invoice_pdf
from tests.billing_support import split_invoices
from tests.pdf_support import pdf_fonts, pdf_text

pytestmark = pytest.mark.django_db

PRACTICE = {
    "PRACTICE_ADDRESS": "Kanaalstraat 1\\n1000 AA Amsterdam",
    "PRACTICE_TAX_ID": "NL000099998B57",
    "INVOICE_TAX_TEXT": "Exempt from VAT: healthcare (article 11 Wet OB).",
    "PRACTICE_IBAN": "NL91ABNA0417164300",
    "PRACTICE_BIC": "ABNANL2A",
}


@pytest.fixture
def practice_settings(settings):
    for name, value in PRACTICE.items():
        setattr(settings, name, value)
    return settings


def images(data: bytes) -> list[Image.Image]:
    return [image.image for page in PdfReader(BytesIO(data)).pages for image in page.images]


def test_the_invoice_carries_practice_lines_totals_and_a_valid_reference(cast, practice_settings):
    client = cast.couple_case.partner_a
    client.first_name, client.last_name = "Łucja", "Nguyễn"
    client.save()
    invoice_a, _ = split_invoices(cast)
    invoice_a.refresh_from_db()
    text = pdf_text(invoice_pdf(invoice_a))
    for expected in (
        "Harbourview Relationship Clinic",
        "Kanaalstraat 1",
        "1000 AA Amsterdam",
        "Tax number NL000099998B57",
        "Exempt from VAT: healthcare",
        f"Invoice {invoice_a.display_number}",
        "Łucja Nguyễn",
        "Standard session",
        "EUR 60.01",
        "Balance due",
        "NL91ABNA0417164300",
    ):
        assert expected in text, expected
    reference = creditor_reference(invoice_a)
    assert iso11649.is_valid(reference) and reference.startswith("RF")
    assert reference in text.replace("\n", " ")
    assert all(embedded for _, embedded in pdf_fonts(invoice_pdf(invoice_a)))


def test_the_qr_code_is_segnos_epc_code_for_the_balance(cast, practice_settings):
    invoice_a, _ = split_invoices(cast)
    invoice_a.refresh_from_db()
    [embedded] = images(invoice_pdf(invoice_a))
    expected = segno_helpers.make_epc_qr(
        name="Harbourview Relationship Clinic",
        iban="NL91ABNA0417164300",
        amount=Decimal("60.01"),
        reference=creditor_reference(invoice_a),
        bic="ABNANL2A",
    )
    out = BytesIO()
    expected.save(out, kind="png", scale=1, border=0)
    wanted = Image.open(BytesIO(out.getvalue())).convert("L")
    got = embedded.convert("L")
    assert got.size == wanted.size
    assert ImageChops.difference(got, wanted).getbbox() is None
    # Not the same code for another amount: the comparison is exact.
    other = segno_helpers.make_epc_qr(
        name="Harbourview Relationship Clinic",
        iban="NL91ABNA0417164300",
        amount=Decimal("60.00"),
        reference=creditor_reference(invoice_a),
        bic="ABNANL2A",
    )
    assert other.matrix != expected.matrix


def test_no_iban_no_payment_block_and_paid_invoices_have_no_code(cast, settings):
    settings.PRACTICE_IBAN = ""
    invoice_a, invoice_b = split_invoices(cast)
    invoice_a.refresh_from_db()
    assert epc_qr(invoice_a) is None and not images(invoice_pdf(invoice_a))
    assert "RF" not in pdf_text(invoice_pdf(invoice_a))
    settings.PRACTICE_IBAN = PRACTICE["PRACTICE_IBAN"]
    services.payment_record(
        actor=cast.coordinator,
        payer=invoice_b.payer,
        method="cash",
        amount=invoice_b.total,
        received_on=invoice_b.issued_at.date(),
    )
    invoice_b.refresh_from_db()
    assert epc_qr(invoice_b) is None and not images(invoice_pdf(invoice_b))
    assert "Balance due EUR 0.00" in pdf_text(invoice_pdf(invoice_b)).replace("\n", " ")


def test_a_dollar_invoice_has_a_reference_but_no_epc_code(cast, practice_settings):
    practice_settings.PRACTICE_CURRENCY = "USD"
    invoice_a, _ = split_invoices(cast)
    invoice_a.refresh_from_db()
    assert invoice_a.currency == "USD"
    assert epc_qr(invoice_a) is None
    assert creditor_reference(invoice_a) in pdf_text(invoice_pdf(invoice_a)).replace("\n", " ")


def test_the_credit_note_pdf(cast, practice_settings):
    invoice_a, _ = split_invoices(cast)
    note = services.credit_note_issue(actor=cast.coordinator, invoice=invoice_a, reason="Fee agreed lower.")
    text = pdf_text(credit_note_pdf(note))
    for expected in (note.display_number, invoice_a.display_number, "Fee agreed lower.", "-EUR 60.01"):
        assert expected in text, expected
