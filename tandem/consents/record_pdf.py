"""A readable PDF of the same content as the FHIR export (reportlab), from the same ExportPlan."""

import datetime as dt
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tandem.accounts.models import User
from tandem.cases.models import Case
from tandem.consents.models import Consent
from tandem.consents.record_export import ExportPlan, _audit_export, export_plan_for
from tandem.lib.pdf_fonts import REGULAR, TABLE_FONT, unicode_styles
from tandem.lib.time import local_today, practice_zone


def _local(value: dt.datetime) -> str:
    return timezone.localtime(value, practice_zone()).strftime("%d %b %Y %H:%M")


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def render_pdf(plan: ExportPlan, *, compress: bool = True) -> bytes:
    styles = unicode_styles()
    body, h1, h2 = styles["BodyText"], styles["Title"], styles["Heading2"]
    small = ParagraphStyle("small", parent=body, fontSize=8, textColor=colors.grey)
    case = plan.case
    story: list[Any] = []

    def heading(text: str) -> None:
        story.append(Spacer(1, 4 * mm))
        story.append(_para(text, h2))

    def table(rows: list[list[str]]) -> None:
        cells = [[_para(c, body) for c in row] for row in rows]
        grid = Table(cells, colWidths=None, hAlign="LEFT", repeatRows=1)
        grid.setStyle(
            TableStyle(
                [
                    TABLE_FONT,
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.append(grid)

    story.append(_para("Clinical record", h1))
    purpose = (
        f"Release of information to {plan.recipient}" if plan.release else "Practice copy (not a release)"
    )
    story.append(_para(f"Case {case.reference} · {purpose} · produced {local_today():%d %b %Y}", small))

    heading("What this record contains")
    for line in plan.included:
        story.append(_para(line, body))
    heading("Left out of this record")
    for line in plan.excluded:
        story.append(_para(f"• {line}", body))

    heading("Clients")
    rows = [["Name", "Date of birth"]]
    rows += [
        [c.full_name, c.date_of_birth.strftime("%d %b %Y") if c.date_of_birth else "—"] for c in plan.covered
    ]
    table(rows)
    if not case.is_couple:
        story.append(_para(f"Partner not attending: {case.get_absent_partner_display()}.", body))

    heading("Care team and episode of care")
    team = ", ".join(u.get_full_name() for u in case.clinicians) or "No therapist assigned"
    closed = f", closed {case.closed_on:%d %b %Y}" if case.closed_on else ""
    story.append(
        _para(
            f"Therapists: {team}. Opened {case.opened_on:%d %b %Y}{closed}. Phase: "
            f"{case.get_phase_display()}.",
            body,
        )
    )

    heading("Appointments")
    if plan.appointments:
        rows = [["When", "Session", "Status"]]
        rows += [
            [
                _local(a.starts_at),
                f"{a.get_kind_display()} ({a.get_mode_display().lower()})",
                a.get_status_display(),
            ]
            for a in plan.appointments
        ]
        table(rows)
    else:
        story.append(_para("None included.", small))

    heading("Treatment plan")
    if plan.plan is not None:
        story.append(_para(f"Version {plan.plan.version}, {plan.plan.get_format_display()}", body))
        story.append(_para(plan.plan.goals, body))
        if plan.plan.focus_areas:
            story.append(_para(f"Focus areas: {plan.plan.focus_areas}", body))
    else:
        story.append(_para("None included.", small))

    heading("Referrals")
    if plan.referrals:
        rows = [["Sent", "To", "For", "Status"]]
        rows += [
            [
                r.sent_at.strftime("%d %b %Y"),
                r.specialist_type.label,
                r.client.full_name,
                r.get_status_display(),
            ]
            for r in plan.referrals
        ]
        table(rows)
    else:
        story.append(_para("None included.", small))

    heading("Consents")
    if plan.consents:
        rows = [["Signed", "Consent", "By", "Status"]]
        rows += [
            [_local(c.signed_at), _consent_label(c), c.client.full_name, _status(c)]
            for c in plan.consents
            if c.signed_at
        ]
        table(rows)
    else:
        story.append(_para("None included.", small))

    heading("Session notes")
    if plan.notes:
        for note in plan.notes:
            story.append(_para(note.title, styles["Heading4"]))
            author: User = note.signer or note.author
            story.append(_para(f"Signed {_local(note.signed_at)} by {author.get_full_name()}", small))
            story.append(_para(note.text or "(empty)", body))
    else:
        story.append(_para("None included.", small))

    heading("Questionnaires")
    if plan.responses:
        rows = [["Answered", "Questionnaire", "Client", "Total", "Band"]]
        rows += [
            [
                _local(r.answered_at),
                r.instrument.title,
                r.client.full_name,
                "—" if r.total is None else str(r.total),
                r.band.replace("_", " ") or "—",
            ]
            for r in plan.responses
        ]
        table(rows)
    else:
        story.append(_para("None included.", small))

    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        initialFontName=REGULAR,  # the canvas's own default is Helvetica, Latin-1 only
        title=f"Clinical record {case.reference}",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        pageCompression=1 if compress else 0,
    )
    document.build(story)
    return buffer.getvalue()


def _consent_label(consent: Consent) -> str:
    label = f"{consent.document.title} v{consent.document.version}"
    if consent.recipient:
        label += f" to {consent.recipient} ({', '.join(consent.category_labels)})"
    if consent.confidentiality_mode:
        label += f" ({consent.get_confidentiality_mode_display().lower()})"
    return label


def _status(consent: Consent) -> str:
    return {"signed": "valid", "revoked": "withdrawn", "expired": "expired"}.get(
        consent.status_on(local_today()), "requested"
    )


def case_export_pdf(
    *, actor: User, case: Case, release: Consent | None = None, compress: bool = True
) -> bytes:
    plan = export_plan_for(actor=actor, case=case, release=release)
    pdf = render_pdf(plan, compress=compress)
    _audit_export(actor, plan, "pdf")
    return pdf
