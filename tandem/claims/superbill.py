"""The superbill: one payer's coded sessions of a period as a PDF the client (or insurer) can file.

It carries what a claim needs and nothing more: the practice (name, address, EIN, NPI), the patient and
their coverage, the diagnoses (ICD-10-CM with our short labels), and per session the date, CPT code with
modifiers and add-ons, place of service, the rendering therapist's NPI and the fee. No clinical text.
"""

import datetime as dt
from decimal import Decimal
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tandem.billing.models import Payer
from tandem.claims.codes import CPT_LABELS, icd_label
from tandem.claims.models import Coverage
from tandem.claims.selectors import CodedSession
from tandem.lib.pdf_fonts import REGULAR, TABLE_FONT, unicode_styles


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _table(rows: list[list[Any]], widths: list[Any] | None = None) -> Table:
    table = Table(rows, colWidths=widths, hAlign="LEFT", repeatRows=1)
    table.setStyle(
        TableStyle([TABLE_FONT, ("FONTSIZE", (0, 0), (-1, -1), 8), ("VALIGN", (0, 0), (-1, -1), "TOP")])
    )
    return table


def _practice_lines() -> str:
    lines = [settings.PRACTICE_NAME]
    street = ", ".join(
        p
        for p in (
            settings.CLAIMS_PRACTICE_STREET,
            settings.CLAIMS_PRACTICE_CITY,
            settings.CLAIMS_PRACTICE_STATE,
            settings.CLAIMS_PRACTICE_ZIP,
        )
        if p
    )
    lines += [line for line in (settings.PRACTICE_ADDRESS, street) if line]
    if settings.PRACTICE_TAX_ID:
        lines.append(f"Tax id (EIN): {settings.PRACTICE_TAX_ID}")
    if settings.CLAIMS_PRACTICE_NPI:
        lines.append(f"Practice NPI: {settings.CLAIMS_PRACTICE_NPI}")
    return "\n".join(lines)


def _session_rows(sessions: list[CodedSession]) -> list[list[str]]:
    rows = [["Date", "CPT", "Modifiers", "Add-on", "Place", "Diagnoses", "Rendering NPI", "Fee"]]
    for item in sessions:
        coding = item.coding
        rows.append(
            [
                f"{item.charge.service_date:%m/%d/%Y}",
                coding.cpt if coding else "not billable",
                " ".join(coding.modifiers) if coding else "",
                " ".join(coding.add_ons) if coding else "",
                coding.place_of_service if coding else "",
                ", ".join(item.diagnoses),
                item.npi or "—",
                f"{item.amount:.2f}",
            ]
        )
    return rows


def superbill_pdf(
    *,
    payer: Payer,
    patient_name: str,
    birth_date: dt.date | None,
    coverage: Coverage | None,
    sessions: list[CodedSession],
    date_from: dt.date,
    date_to: dt.date,
    currency: str,
) -> bytes:
    styles = unicode_styles()
    body, title, heading = styles["BodyText"], styles["Heading1"], styles["Heading3"]
    story: list[Any] = [_para(_practice_lines(), body), _para("Superbill", title)]
    story.append(_para(f"Services from {date_from:%m/%d/%Y} to {date_to:%m/%d/%Y}", body))
    facts = [["Patient", patient_name], ["Date of birth", f"{birth_date:%m/%d/%Y}" if birth_date else "—"]]
    if payer.kind == "insurer":
        facts.append(["Insurer", payer.insurer_name])
    if coverage is not None:
        facts += [["Payer id", coverage.payer_id], ["Member id", coverage.member_id]]
    story.append(_table(facts, [40 * mm, None]))
    codes = sorted({code for item in sessions for code in item.diagnoses})
    story.append(_para("Diagnoses (ICD-10-CM)", heading))
    story.append(
        _table([["Code", "Short label"], *[[c, icd_label(c)] for c in codes]] if codes else [["None"]])
    )
    story.append(_para("Services", heading))
    story.append(_table(_session_rows(sessions)))
    total = sum((item.amount for item in sessions), Decimal("0.00"))
    story.append(Spacer(1, 4 * mm))
    story.append(_para(f"Total charged: {total:.2f} {currency}", body))
    used = sorted({c for item in sessions if item.coding for c in item.coding.codes})
    if used:
        story.append(_para("Codes used", heading))
        story.append(_table([[code, CPT_LABELS.get(code, "")] for code in used]))
    therapists = {item.npi: item.rendering for item in sessions if item.npi}
    for npi, person in therapists.items():
        name = person.get_full_name() if hasattr(person, "get_full_name") else str(person)
        story.append(_para(f"Rendering provider: {name}, NPI {npi}", body))
    out = BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=LETTER,
        initialFontName=REGULAR,
        title="Superbill",
        author=settings.PRACTICE_NAME,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        invariant=1,
    )
    document.build(story)
    return out.getvalue()
