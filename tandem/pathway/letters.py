"""The referral letter as a PDF: the same few facts as the printable page, and nothing else.

A letter leaves the practice, so it carries only what the specialist needs: the referred person, their
date of birth, the urgency, the reason and who refers. Never the partner, the case's other problems,
the intake, findings or other referrals.
"""

from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tandem.lib.pdf_fonts import REGULAR, TABLE_FONT, unicode_styles
from tandem.lib.time import practice_zone
from tandem.pathway.models import Referral


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def referral_letter_pdf(referral: Referral, *, practice: Any, compress: bool = True) -> bytes:
    styles = unicode_styles()
    body, title = styles["BodyText"], styles["Heading1"]
    heading = styles["Heading3"]
    client = referral.client
    referrer = referral.referred_by
    sent = timezone.localtime(referral.sent_at, practice_zone())
    story: list[Any] = []
    if practice is not None:
        sender = [practice.name]
        if practice.phone:
            sender.append(f"Telephone {practice.phone}")
        if practice.email:
            sender.append(practice.email)
        story.append(_para("\n".join(sender), body))
    story.append(_para(f"{sent:%d %B %Y}".lstrip("0"), body))
    story.append(Spacer(1, 6 * mm))
    story.append(_para(f"To: {referral.specialist_type.label}", body))
    story.append(_para(f"Referral: {client.full_name}", title))
    born = f"{client.date_of_birth:%d %B %Y}".lstrip("0") if client.date_of_birth else "—"
    facts = Table(
        [
            [_para("Name", body), _para(client.full_name, body)],
            [_para("Date of birth", body), _para(born, body)],
            [_para("Urgency", body), _para(referral.get_urgency_display(), body)],
        ],
        colWidths=[40 * mm, None],
        hAlign="LEFT",
    )
    facts.setStyle(TableStyle([TABLE_FONT, ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(facts)
    story.append(_para("Reason for referral", heading))
    story.append(_para(referral.reason, body))
    story.append(
        _para(
            "Please send your findings, including whether a physical cause is ruled in or out, to the "
            "referring therapist below.",
            body,
        )
    )
    story.append(Spacer(1, 10 * mm))
    profile = getattr(referrer, "therapist_profile", None)
    signature = referrer.get_full_name() + (
        f", {profile.credentials}" if profile and profile.credentials else ""
    )
    story.append(_para(signature + (f"\n{practice.name}" if practice is not None else ""), body))
    out = BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        initialFontName=REGULAR,  # the canvas's own default is Helvetica, Latin-1 only
        title="Referral letter",  # metadata: no name, so the file list of a mail client shows none
        author=practice.name if practice is not None else "",
        leftMargin=22 * mm,
        rightMargin=22 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        pageCompression=1 if compress else 0,
        invariant=1,
    )
    document.build(story)
    return out.getvalue()
