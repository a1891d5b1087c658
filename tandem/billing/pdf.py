"""Invoices and credit notes as PDF (reportlab, DejaVu Sans from `lib.pdf_fonts`, so every name prints).

What an invoice carries: the practice's details and its tax or exemption sentence (settings), the bill-to
block as issued, the lines and totals as issued, what has been paid or credited since, and, when the
practice has an IBAN in its settings, how to pay: the IBAN, an ISO 11649 structured creditor reference
(RF...) made from the invoice number, and, for euro invoices with something left to pay, an EPC QR code
(segno's EPC helper) that a banking app scans into a filled-in SEPA transfer. Nothing clinical: the lines
say the kind of appointment and the day, never a note or a problem.
"""

from decimal import Decimal
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

import segno
from django.conf import settings
from django.utils import timezone
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from segno import helpers as segno_helpers
from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

from tandem.billing.models import CreditNote, Invoice
from tandem.lib.pdf_fonts import BOLD, REGULAR, TABLE_FONT, unicode_styles
from tandem.lib.time import practice_zone
from tandem.practice.services import current_practice

QR_SIZE = 40 * mm


def creditor_reference(invoice: Invoice) -> str:
    """The ISO 11649 reference of an invoice: RF, two check digits (ISO 7064 mod 97-10, python-stdnum),
    and the invoice number; validated by stdnum before use."""
    body = str(invoice.number)
    check = mod_97_10.calc_check_digits(body + "RF")
    return iso11649.validate(f"RF{check}{body}")


def epc_qr(invoice: Invoice) -> segno.QRCode | None:
    """The EPC (SEPA credit transfer) QR code for what is left to pay, or None: no IBAN in settings,
    not a euro invoice (the EPC code knows only euros), or nothing left to pay."""
    iban = settings.PRACTICE_IBAN
    if not iban or invoice.currency != "EUR" or invoice.balance <= 0 or invoice.status == "written_off":
        return None
    return segno_helpers.make_epc_qr(
        name=current_practice().name[:70],
        iban=iban,
        amount=invoice.balance,
        reference=creditor_reference(invoice),
        bic=settings.PRACTICE_BIC or None,
    )


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:,.2f}"


def _sender(body: ParagraphStyle) -> list[Any]:
    practice = current_practice()
    lines = [practice.name, settings.PRACTICE_ADDRESS.replace("\\n", "\n").strip()]
    lines += [f"Telephone {practice.phone}" if practice.phone else "", practice.email]
    if settings.PRACTICE_TAX_ID:
        lines.append(f"Tax number {settings.PRACTICE_TAX_ID}")
    return [_para("\n".join(line for line in lines if line), body)]


def _facts(rows: list[tuple[str, str]], body: ParagraphStyle) -> Table:
    table = Table(
        [[_para(k, body), _para(v, body)] for k, v in rows], colWidths=[45 * mm, None], hAlign="LEFT"
    )
    table.setStyle(TableStyle([TABLE_FONT, ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _lines_table(
    rows: list[tuple[str, str, str]], totals: list[tuple[str, str]], body: ParagraphStyle
) -> Table:
    data: list[list[Any]] = [["Date", "Description", "Amount"]]
    data += [[day, _para(text, body), amount] for day, text, amount in rows]
    data += [["", label, amount] for label, amount in totals]
    table = Table(data, colWidths=[28 * mm, None, 35 * mm], repeatRows=1)
    last = len(rows)
    table.setStyle(
        TableStyle(
            [
                TABLE_FONT,
                ("FONTNAME", (0, 0), (-1, 0), BOLD),
                ("FONTNAME", (1, last + 1), (-1, -1), BOLD),
                ("ALIGN", (2, 0), (2, -1), "RIGHT"),
                ("ALIGN", (1, last + 1), (1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, "#444444"),
                ("LINEABOVE", (0, last + 1), (-1, last + 1), 0.5, "#444444"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _payment_block(invoice: Invoice, body: ParagraphStyle) -> list[Any]:
    if not settings.PRACTICE_IBAN or invoice.balance <= 0 or invoice.status == "written_off":
        return []
    reference = creditor_reference(invoice)
    text = (
        f"Please transfer {_money(invoice.balance, invoice.currency)} by {invoice.due_on:%d %B %Y} to "
        f"IBAN {settings.PRACTICE_IBAN}"
        + (f" (BIC {settings.PRACTICE_BIC})" if settings.PRACTICE_BIC else "")
        + f", in the name of {current_practice().name}, with the payment reference {reference}."
    )
    story: list[Any] = [Spacer(1, 4 * mm), _para(text, body)]
    qr = epc_qr(invoice)
    if qr is not None:
        image = BytesIO()
        # One pixel per module, no border: the PDF scales it up; the image stays exactly segno's matrix.
        qr.save(image, kind="png", scale=1, border=0)
        image.seek(0)
        story += [Spacer(1, 3 * mm), Image(image, width=QR_SIZE, height=QR_SIZE, hAlign="LEFT")]
        story.append(_para("Scan with your banking app to pay.", body))
    return story


def _build(story: list[Any], title: str, compress: bool) -> bytes:
    out = BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        initialFontName=REGULAR,
        title=title,  # metadata: the number only, never a name
        author=current_practice().name,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        pageCompression=1 if compress else 0,
        invariant=1,
    )
    document.build(story)
    return out.getvalue()


def invoice_pdf(invoice: Invoice, *, compress: bool = True) -> bytes:
    styles = unicode_styles()
    body, title = styles["BodyText"], styles["Heading1"]
    currency = invoice.currency
    issued = timezone.localtime(invoice.issued_at, practice_zone()).date()
    story: list[Any] = _sender(body)
    story += [Spacer(1, 6 * mm), _para(f"Invoice {invoice.display_number}", title)]
    story.append(
        _facts(
            [
                ("Bill to", invoice.bill_to),
                ("Invoice date", f"{issued:%d %B %Y}"),
                ("Due", f"{invoice.due_on:%d %B %Y}"),
                ("Case reference", invoice.case.reference or ""),
            ],
            body,
        )
    )
    story.append(Spacer(1, 5 * mm))
    rows = [
        (f"{line.service_date:%d-%m-%Y}", line.description, _money(line.amount, currency))
        for line in invoice.lines.all()
    ]
    totals = [("Total", _money(invoice.total, currency))]
    if invoice.credited:
        totals.append(("Credited", "-" + _money(invoice.credited, currency)))
    if invoice.allocated:
        totals.append(("Paid", "-" + _money(invoice.allocated, currency)))
    if invoice.status == "written_off":
        totals.append(("Written off", _money(invoice.balance, currency)))
    else:
        totals.append(("Balance due", _money(invoice.balance, currency)))
    story.append(_lines_table(rows, totals, body))
    if settings.INVOICE_TAX_TEXT:
        story += [Spacer(1, 4 * mm), _para(settings.INVOICE_TAX_TEXT, body)]
    story += _payment_block(invoice, body)
    return _build(story, f"Invoice {invoice.display_number}", compress)


def credit_note_pdf(note: CreditNote, *, compress: bool = True) -> bytes:
    styles = unicode_styles()
    body, title = styles["BodyText"], styles["Heading1"]
    currency, invoice = note.currency, note.invoice
    issued = timezone.localtime(note.issued_at, practice_zone()).date()
    story: list[Any] = _sender(body)
    story += [Spacer(1, 6 * mm), _para(f"Credit note {note.display_number}", title)]
    story.append(
        _facts(
            [
                ("Bill to", invoice.bill_to),
                ("Date", f"{issued:%d %B %Y}"),
                ("Corrects invoice", invoice.display_number),
                ("Reason", note.reason),
            ],
            body,
        )
    )
    story.append(Spacer(1, 5 * mm))
    rows = [
        (f"{line.invoice_line.service_date:%d-%m-%Y}", line.description, "-" + _money(line.amount, currency))
        for line in note.lines.select_related("invoice_line")
    ]
    totals = [("Total credited", "-" + _money(note.total, currency))]
    if note.to_credit:
        totals.append(("Kept as your credit", _money(note.to_credit, currency)))
    story.append(_lines_table(rows, totals, body))
    if settings.INVOICE_TAX_TEXT:
        story += [Spacer(1, 4 * mm), _para(settings.INVOICE_TAX_TEXT, body)]
    return _build(story, f"Credit note {note.display_number}", compress)
