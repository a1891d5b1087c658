"""Shared helpers for the clinical-record tests: past sessions of the cast's cases and their notes."""

import datetime as dt

from django.utils import timezone

from tandem.cases.models import Case, Client
from tandem.records.models import NoteTemplate, SecretsPolicy, SessionNote
from tandem.records.services import (
    SectionInput,
    confidentiality_record_agreement,
    confidentiality_set,
    note_create,
    note_sign,
    section_slots,
)
from tandem.scheduling.models import Appointment, AppointmentKind
from tests.cast import Cast


def past_session(
    case: Case, therapists: list, *, hours_ago: float = 2, kind: str = AppointmentKind.STANDARD
) -> Appointment:
    start = timezone.now() - dt.timedelta(hours=hours_ago)
    appointment = Appointment.objects.create(
        case=case, kind=kind, starts_at=start, ends_at=start + dt.timedelta(minutes=50)
    )
    appointment.therapists.set(therapists)
    return appointment


def team_session(cast: Cast, **kwargs) -> Appointment:
    return past_session(cast.couple_case, [cast.therapist_a, cast.cotherapist], **kwargs)


def template(slug: str) -> NoteTemplate:
    return NoteTemplate.objects.get(slug=slug)


def fill(
    tmpl: NoteTemplate, case: Case, texts: dict[str, str], private: tuple[str, ...] = ()
) -> dict[str, SectionInput]:
    """Section inputs by slot label (e.g. "Data", "Partner: Blair Partner")."""
    inputs = {}
    for slot in section_slots(tmpl, case):
        if slot.label in texts:
            inputs[slot.name] = SectionInput(texts[slot.label], private=slot.label in private)
    return inputs


def signed_dap(cast: Cast, text: str = "DAP-DATA-TEXT", therapists: list | None = None) -> SessionNote:
    """A signed DAP note by therapist A: of a co-therapy session, or of a session with `therapists`."""
    appointment = team_session(cast) if therapists is None else past_session(cast.couple_case, therapists)
    tmpl = template("dap")
    note = note_create(
        actor=cast.therapist_a,
        appointment=appointment,
        template=tmpl,
        sections=fill(tmpl, cast.couple_case, {"Data": text, "Plan": "DAP-PLAN-TEXT"}),
    )
    return note_sign(actor=cast.therapist_a, note=note)


def limited_secrets(cast: Cast) -> None:
    case = cast.couple_case
    confidentiality_set(actor=cast.therapist_a, case=case, kind=SecretsPolicy.LIMITED_SECRETS)
    for client in case.partners:
        confidentiality_record_agreement(actor=cast.therapist_a, case=case, client=client)


def partner_b_private_note(cast: Cast) -> SessionNote:
    """Under limited secrets: an individual session with partner B whose data section B keeps private."""
    limited_secrets(cast)
    case = cast.couple_case
    partner_b: Client = case.partner_b  # type: ignore[assignment]
    appointment = team_session(cast, kind=AppointmentKind.CONJUNCTIVE)
    tmpl = template("dap")
    note = note_create(
        actor=cast.therapist_a,
        appointment=appointment,
        template=tmpl,
        individual_with=partner_b,
        sections=fill(tmpl, case, {"Data": "B-PRIVATE-SECRET", "Plan": "B-SHARED-PLAN"}, private=("Data",)),
    )
    return note_sign(actor=cast.therapist_a, note=note)
