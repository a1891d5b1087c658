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


class _Story:
    """The flowables of one record in reading order, with the styles every section shares."""

    def __init__(self) -> None:
        styles = unicode_styles()
        self.body, self.title, self.h2 = styles["BodyText"], styles["Title"], styles["Heading2"]
        self.h4 = styles["Heading4"]
        self.small = ParagraphStyle("small", parent=self.body, fontSize=8, textColor=colors.grey)
        self.flowables: list[Any] = []

    def para(self, text: str, style: ParagraphStyle | None = None) -> None:
        self.flowables.append(_para(text, style or self.body))

    def heading(self, text: str) -> None:
        self.flowables.append(Spacer(1, 4 * mm))
        self.para(text, self.h2)

    def none_included(self) -> None:
        self.para("None included.", self.small)

    def table(self, rows: list[list[str]]) -> None:
        """A grid whose first row is the header, repeated when the table runs onto another page."""
        cells = [[_para(c, self.body) for c in row] for row in rows]
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
        self.flowables.append(grid)

    def table_or_none(self, header: list[str], rows: list[list[str]]) -> None:
        if rows:
            self.table([header, *rows])
        else:
            self.none_included()


def render_pdf(plan: ExportPlan, *, compress: bool = True) -> bytes:
    story = _Story()
    for section in (
        _title,
        _scope,
        _clients,
        _care_team,
        _appointments,
        _treatment_plan,
        _referrals,
        _consents,
        _session_notes,
        _questionnaires,
    ):
        section(story, plan)
    return _build(story, plan.case, compress=compress)


def _title(story: _Story, plan: ExportPlan) -> None:
    story.para("Clinical record", story.title)
    purpose = (
        f"Release of information to {plan.recipient}" if plan.release else "Practice copy (not a release)"
    )
    story.para(f"Case {plan.case.reference} · {purpose} · produced {local_today():%d %b %Y}", story.small)


def _scope(story: _Story, plan: ExportPlan) -> None:
    """What the record holds and, as plainly, what it leaves out and why."""
    story.heading("What this record contains")
    for line in plan.included:
        story.para(line)
    story.heading("Left out of this record")
    for line in plan.excluded:
        story.para(f"• {line}")


def _clients(story: _Story, plan: ExportPlan) -> None:
    story.heading("Clients")
    rows = [["Name", "Date of birth"]]
    rows += [
        [c.full_name, c.date_of_birth.strftime("%d %b %Y") if c.date_of_birth else "—"] for c in plan.covered
    ]
    story.table(rows)
    if not plan.case.is_couple:
        story.para(f"Partner not attending: {plan.case.get_absent_partner_display()}.")


def _care_team(story: _Story, plan: ExportPlan) -> None:
    case = plan.case
    story.heading("Care team and episode of care")
    team = ", ".join(u.get_full_name() for u in case.clinicians) or "No therapist assigned"
    closed = f", closed {case.closed_on:%d %b %Y}" if case.closed_on else ""
    story.para(
        f"Therapists: {team}. Opened {case.opened_on:%d %b %Y}{closed}. Phase: {case.get_phase_display()}."
    )


def _appointments(story: _Story, plan: ExportPlan) -> None:
    story.heading("Appointments")
    rows = [
        [
            _local(a.starts_at),
            f"{a.get_kind_display()} ({a.get_mode_display().lower()})",
            a.get_status_display(),
        ]
        for a in plan.appointments
    ]
    story.table_or_none(["When", "Session", "Status"], rows)


def _treatment_plan(story: _Story, plan: ExportPlan) -> None:
    story.heading("Treatment plan")
    if plan.plan is None:
        story.none_included()
        return
    story.para(f"Version {plan.plan.version}, {plan.plan.get_format_display()}")
    story.para(plan.plan.goals)
    if plan.plan.focus_areas:
        story.para(f"Focus areas: {plan.plan.focus_areas}")


def _referrals(story: _Story, plan: ExportPlan) -> None:
    story.heading("Referrals")
    rows = [
        [r.sent_at.strftime("%d %b %Y"), r.specialist_type.label, r.client.full_name, r.get_status_display()]
        for r in plan.referrals
    ]
    story.table_or_none(["Sent", "To", "For", "Status"], rows)


def _consents(story: _Story, plan: ExportPlan) -> None:
    story.heading("Consents")
    if not plan.consents:
        story.none_included()
        return
    # The plan holds signed consents only; the filter narrows signed_at (Optional) for _local.
    rows = [
        [_local(c.signed_at), _consent_label(c), c.client.full_name, _status(c)]
        for c in plan.consents
        if c.signed_at
    ]
    story.table([["Signed", "Consent", "By", "Status"], *rows])


def _session_notes(story: _Story, plan: ExportPlan) -> None:
    story.heading("Session notes")
    if not plan.notes:
        story.none_included()
        return
    for note in plan.notes:
        story.para(note.title, story.h4)
        author: User = note.signer or note.author
        story.para(f"Signed {_local(note.signed_at)} by {author.get_full_name()}", story.small)
        story.para(note.text or "(empty)")


def _questionnaires(story: _Story, plan: ExportPlan) -> None:
    story.heading("Questionnaires")
    rows = [
        [
            _local(r.answered_at),
            r.instrument.title,
            r.client.full_name,
            "—" if r.total is None else str(r.total),
            r.band.replace("_", " ") or "—",
        ]
        for r in plan.responses
    ]
    story.table_or_none(["Answered", "Questionnaire", "Client", "Total", "Band"], rows)


def _build(story: _Story, case: Case, *, compress: bool) -> bytes:
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
    document.build(story.flowables)
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
