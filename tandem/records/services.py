"""Writes to the clinical record. Each is one audited transaction; the audit never holds note text.

A signed note is locked: every service re-reads the note under a row lock and refuses to change a
signed note's sections, so two tabs or a stale form cannot slip an edit past the signature.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from tandem.access.clinical import can_write_note
from tandem.access.services import AccessDenied, can_see_clinical, is_assigned
from tandem.accounts.models import Role, User
from tandem.audit.services import audit_record
from tandem.cases.models import Case, Client
from tandem.lib.errors import Refusal
from tandem.records.models import (
    ConfidentialityPolicy,
    NoteAmendment,
    NoteStatus,
    NoteTemplate,
    PsychotherapyNote,
    SecretsPolicy,
    SessionNote,
    SessionNoteSection,
)
from tandem.records.policy import INDIVIDUAL_KINDS
from tandem.scheduling.models import Appointment, AppointmentStatus

MAX_TEXT = 20_000


@dataclass(frozen=True)
class SectionSlot:
    """One text box of a note form: the template's section, for one partner if it is per partner."""

    position: int
    key: str
    label: str
    hint: str
    client: Client | None

    @property
    def name(self) -> str:
        return f"s{self.position}"


@dataclass(frozen=True)
class SectionInput:
    text: str
    private: bool = False


def section_slots(template: NoteTemplate, case: Case) -> list[SectionSlot]:
    slots: list[SectionSlot] = []
    for section in template.sections:
        if section.get("per_partner"):
            for client in case.partners:
                label = f"{section['label']}: {client.full_name}"
                slots.append(SectionSlot(len(slots), section["key"], label, section.get("hint", ""), client))
        else:
            slots.append(
                SectionSlot(len(slots), section["key"], section["label"], section.get("hint", ""), None)
            )
    return slots


def policy_of(case: Case) -> ConfidentialityPolicy | None:
    return ConfidentialityPolicy.objects.filter(case=case).first()


def _locked(note: SessionNote) -> SessionNote:
    return SessionNote.objects.select_for_update().get(pk=note.pk)


def _private_target(
    *, case: Case, policy: ConfidentialityPolicy | None, individual_with: Client | None, about: Client | None
) -> Client:
    """Whom content marked private is private to; refuses where the policy does not allow secrets."""
    if policy is None or not policy.limited:
        raise Refusal(
            "Only a case with a limited-secrets confidentiality policy can keep content private "
            "to one partner."
        )
    target = about or individual_with
    if target is None or target.pk not in (case.partner_a_id, case.partner_b_id) or not case.is_couple:
        raise Refusal(
            "Only a partner's own section, or a note of an individual session, can be kept private "
            "to that partner."
        )
    return target


def _check_individual(appointment: Appointment, individual_with: Client | None) -> Client | None:
    """Whom the note's session was with: the booking's one attendee of an individual session (a note
    saying nobody follows it; one naming the other partner is refused), else as the therapist says."""
    case = appointment.case
    if individual_with is not None and (
        not case.is_couple or individual_with.pk not in (case.partner_a_id, case.partner_b_id)
    ):
        raise Refusal("An individual session is with one of the two partners of a couple case.")
    # Who attended an individual session is the booking's: the note follows it, never the other way.
    booked = default_individual_with(appointment)
    if booked is None:
        return individual_with
    if individual_with is not None and individual_with.pk != booked.pk:
        raise Refusal(
            f"This session was booked for {booked.full_name} alone: its note is an individual-session "
            f"note with {booked.full_name}."
        )
    return booked


def _write_sections(
    *,
    note: SessionNote,
    inputs: dict[str, SectionInput],
    policy: ConfidentialityPolicy | None,
) -> None:
    # Sections are updated in place, by position: a draft saved unchanged keeps its rows as they were.
    existing = {section.position: section for section in note.sections.all()}
    rows = []
    for slot in section_slots(note.template, note.case):
        given = inputs.get(slot.name, SectionInput(""))
        text = given.text.strip()
        if len(text) > MAX_TEXT:
            raise Refusal(f"“{slot.label}” is longer than {MAX_TEXT} characters.")
        private_to = None
        if given.private and text:
            private_to = _private_target(
                case=note.case, policy=policy, individual_with=note.individual_with, about=slot.client
            )
        row = existing.pop(slot.position, None) or SessionNoteSection(note=note, position=slot.position)
        row.key, row.label, row.client, row.private_to, row.text = (
            slot.key,
            slot.label,
            slot.client,
            private_to,
            text,
        )
        rows.append(row)
    SessionNoteSection.objects.filter(pk__in=[row.pk for row in existing.values()]).delete()
    SessionNoteSection.objects.bulk_update(
        [row for row in rows if row.pk], ["key", "label", "client", "private_to", "text"]
    )
    SessionNoteSection.objects.bulk_create([row for row in rows if not row.pk])


def default_individual_with(appointment: Appointment) -> Client | None:
    """An individual kind of session in a couple case: its one attendee, if the booking names one."""
    case = appointment.case
    if not case.is_couple or appointment.kind not in INDIVIDUAL_KINDS:
        return None
    attending = [c for c in appointment.attendees.all() if c.pk in (case.partner_a_id, case.partner_b_id)]
    return attending[0] if len(attending) == 1 else None


def note_create(
    *,
    actor: User,
    appointment: Appointment,
    template: NoteTemplate,
    sections: dict[str, SectionInput],
    individual_with: Client | None = None,
) -> SessionNote:
    """Start the note of a session (a draft), from one of the clinic's templates."""
    case = appointment.case
    if not can_write_note(actor, appointment):
        raise AccessDenied("Only a therapist of this session can write its note.")
    if appointment.status == AppointmentStatus.CANCELLED:
        raise Refusal("This session was cancelled: it has no note.")
    if appointment.starts_at > timezone.now():
        raise Refusal("This session has not started yet.")
    if not template.active:
        raise Refusal("That template has been retired.")
    if template.couples_only and not case.is_couple:
        raise Refusal("The couple-session template needs a couple case.")
    individual_with = _check_individual(appointment, individual_with)
    now = timezone.now()
    taken = Refusal("This session already has a note: open it instead.")
    if SessionNote.objects.filter(appointment=appointment).exists():
        raise taken
    with transaction.atomic():
        try:
            # Two therapists starting the note at once: the one-note-per-session constraint decides.
            with transaction.atomic():
                note = SessionNote.objects.create(
                    appointment=appointment,
                    case=case,
                    template=template,
                    author=actor,
                    individual_with=individual_with,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError:
            raise taken from None
        _write_sections(note=note, inputs=sections, policy=policy_of(case))
        audit_record(
            actor=actor,
            action="note.create",
            target=note,
            case=case,
            detail={"template": template.slug, "appointment": appointment.pk},
        )
    return note


def note_update_draft(
    *,
    actor: User,
    note: SessionNote,
    sections: dict[str, SectionInput],
    individual_with: Client | None = None,
) -> SessionNote:
    """Change a draft. A signed note is refused: it changes only by amendment."""
    if not can_write_note(actor, note.appointment):
        raise AccessDenied("Only a therapist of this session can write its note.")
    individual_with = _check_individual(note.appointment, individual_with)
    with transaction.atomic():
        current = _locked(note)
        if current.is_signed:
            raise Refusal("This note is signed and locked: add an amendment instead.")
        current.individual_with = individual_with
        current.updated_at = timezone.now()
        current.save(update_fields=["individual_with", "updated_at"])
        _write_sections(note=current, inputs=sections, policy=policy_of(current.case))
        audit_record(actor=actor, action="note.update", target=current, case=current.case_id)
    return current


def note_sign(*, actor: User, note: SessionNote) -> SessionNote:
    """Sign the note: from now on it is locked."""
    if not can_write_note(actor, note.appointment):
        raise AccessDenied("Only a therapist of this session can sign its note.")
    with transaction.atomic():
        current = _locked(note)
        if current.is_signed:
            raise Refusal("This note is already signed.")
        if not any(s.text for s in current.sections.all()):
            raise Refusal("The note is empty: write it before signing.")
        now = timezone.now()
        current.status = NoteStatus.SIGNED
        current.signed_at = now
        current.signed_by = actor
        current.updated_at = now
        team = Appointment.therapists.through.objects.filter(appointment_id=current.appointment_id)
        current.awaiting_cosignature = team.count() > 1
        current.save(update_fields=["status", "signed_at", "signed_by", "updated_at", "awaiting_cosignature"])
        audit_record(actor=actor, action="note.sign", target=current, case=current.case_id)
    return current


def note_cosign(*, actor: User, note: SessionNote) -> SessionNote:
    """In a co-therapy session, the other therapist confirms the signed note."""
    if not can_write_note(actor, note.appointment):
        raise AccessDenied("Only the other therapist of this session can co-sign its note.")
    with transaction.atomic():
        current = _locked(note)
        if not current.is_signed:
            raise Refusal("The note must be signed before it is co-signed.")
        if current.cosigned_by_id is not None:
            raise Refusal("This note is already co-signed.")
        if current.signed_by_id == actor.pk:
            raise AccessDenied("You signed this note: the other therapist of the session co-signs it.")
        current.cosigned_by = actor
        current.cosigned_at = timezone.now()
        current.awaiting_cosignature = False
        current.save(update_fields=["cosigned_by", "cosigned_at", "awaiting_cosignature"])
        audit_record(actor=actor, action="note.cosign", target=current, case=current.case_id)
    return current


def note_amend(
    *, actor: User, note: SessionNote, text: str, reason: str, private: bool = False
) -> NoteAmendment:
    """Append a correction or addition to a signed note, with its reason; the note itself is unchanged."""
    if not can_write_note(actor, note.appointment):
        raise AccessDenied("Only a therapist of this session can amend its note.")
    text, reason = text.strip(), reason.strip()
    if not text:
        raise Refusal("Write the amendment.")
    if not reason:
        raise Refusal("Say why the note is amended.")
    if len(text) > MAX_TEXT or len(reason) > 1000:
        raise Refusal("The amendment or its reason is too long.")
    with transaction.atomic():
        current = _locked(note)
        if not current.is_signed:
            raise Refusal("A draft is edited, not amended: sign it first.")
        private_to = None
        if private:
            private_to = _private_target(
                case=current.case,
                policy=policy_of(current.case),
                individual_with=current.individual_with,
                about=None,
            )
        amendment = NoteAmendment.objects.create(
            note=current, author=actor, at=timezone.now(), text=text, reason=reason, private_to=private_to
        )
        audit_record(
            actor=actor,
            action="note.amend",
            target=current,
            case=current.case_id,
            detail={"amendment": amendment.pk},
        )
    return amendment


def confidentiality_set(*, actor: User, case: Case, kind: str) -> ConfidentialityPolicy:
    """The therapist records the couple's policy; a change means both partners must agree again."""
    if kind not in SecretsPolicy.values:
        raise Refusal("Choose one of the two policies.")
    if not (actor.role == Role.THERAPIST and can_see_clinical(actor, case) and _assigned(actor, case)):
        raise AccessDenied("Only the case's therapists set the confidentiality policy.")
    now = timezone.now()
    with transaction.atomic():
        policy = ConfidentialityPolicy.objects.select_for_update().filter(case=case).first()
        if policy is not None and policy.kind == kind:
            return policy
        previous = policy.kind if policy else ""
        if policy is None:
            policy = ConfidentialityPolicy(case=case)
        policy.kind = kind
        policy.set_by = actor
        policy.set_at = now
        policy.from_consent = False
        policy.partner_a_agreed_at = None
        policy.partner_b_agreed_at = None
        policy.save()
        audit_record(
            actor=actor,
            action="confidentiality.set",
            target=policy,
            case=case,
            detail={"kind": kind, "previous": previous},
        )
    return policy


def confidentiality_record_agreement(*, actor: User, case: Case, client: Client) -> ConfidentialityPolicy:
    """Record that one partner agreed to the current policy (at intake, on paper or in person)."""
    if not (actor.role == Role.THERAPIST and can_see_clinical(actor, case) and _assigned(actor, case)):
        raise AccessDenied("Only the case's therapists record the partners' agreement.")
    if client.pk not in (case.partner_a_id, case.partner_b_id):
        raise Refusal("That person is not a partner in this case.")
    with transaction.atomic():
        policy = ConfidentialityPolicy.objects.select_for_update().filter(case=case).first()
        if policy is None:
            raise Refusal("Set the confidentiality policy first.")
        field = "partner_a_agreed_at" if client.pk == case.partner_a_id else "partner_b_agreed_at"
        setattr(policy, field, timezone.now())
        policy.save(update_fields=[field])
        audit_record(
            actor=actor,
            action="confidentiality.agreed",
            target=policy,
            case=case,
            detail={"client": client.pk, "kind": policy.kind},
        )
    return policy


def confidentiality_agreement_from_consent(
    *,
    actor: User,
    case: Case,
    client_id: int,
    mode: str,
    agreed_at: dt.datetime | None,
    proposed_by: User,
) -> ConfidentialityPolicy | None:
    """A partner signed (agreed_at) or withdrew (None) the confidentiality consent: the records app, the one
    writer of the case's policy, records it. The consents app calls this inside its own transaction, after
    checking who may sign, and audits the signature itself; this audits what it does to the policy.

    Signing when the case has no policy yet sets the consent's mode as the policy (proposed by whoever
    asked for the consent). Withdrawing takes that partner's agreement back; a policy the consent set
    is removed again once no partner agrees to it any more.
    """
    with transaction.atomic():
        policy = ConfidentialityPolicy.objects.select_for_update().filter(case=case.pk).first()
        if policy is None:
            if agreed_at is None:
                return None
            if mode not in SecretsPolicy.values:
                raise Refusal("Choose “no secrets” or “limited secrets” for this couple.")
            policy = ConfidentialityPolicy.objects.create(
                case=case, kind=mode, set_by=proposed_by, set_at=agreed_at, from_consent=True
            )
            audit_record(
                actor=actor,
                action="confidentiality.set",
                target=policy,
                case=case,
                detail={"kind": mode, "previous": "", "from_consent": True},
            )
        elif agreed_at is not None and policy.kind != mode:
            raise Refusal("The practice has changed the confidentiality policy; ask for the new version.")
        field = "partner_a_agreed_at" if client_id == case.partner_a_id else "partner_b_agreed_at"
        setattr(policy, field, agreed_at)
        policy.save(update_fields=[field])
        action = "confidentiality.agreed" if agreed_at is not None else "confidentiality.withdrawn"
        audit_record(
            actor=actor,
            action=action,
            target=policy,
            case=case,
            detail={"client": client_id, "kind": policy.kind},
        )
        nobody_agrees = policy.partner_a_agreed_at is None and policy.partner_b_agreed_at is None
        if agreed_at is None and policy.from_consent and nobody_agrees:
            audit_record(
                actor=actor,
                action="confidentiality.unset",
                target=policy,
                case=case,
                detail={"kind": policy.kind, "from_consent": True},
            )
            policy.delete()
            return None
    return policy


def _assigned(user: Any, case: Case) -> bool:
    return is_assigned(user, case)


def process_note_create(
    *, actor: User, case: Case, text: str, appointment: Appointment | None = None
) -> PsychotherapyNote:
    """A therapist's own process note on a case they treat. It never joins the record."""
    if not (actor.role == Role.THERAPIST and _assigned(actor, case)):
        raise AccessDenied("Only the case's own therapists keep process notes on it.")
    text = text.strip()
    if not text:
        raise Refusal("Write the note.")
    if len(text) > MAX_TEXT:
        raise Refusal(f"The note is longer than {MAX_TEXT} characters.")
    if appointment is not None and appointment.case_id != case.pk:
        raise Refusal("That session belongs to another case.")
    now = timezone.now()
    with transaction.atomic():
        note = PsychotherapyNote.objects.create(
            case=case, author=actor, appointment=appointment, text=text, created_at=now, updated_at=now
        )
        audit_record(actor=actor, action="process_note.create", target=note, case=case)
    return note


def process_note_update(*, actor: User, note: PsychotherapyNote, text: str) -> PsychotherapyNote:
    if note.author_id != actor.pk:
        raise AccessDenied("Only the author changes a process note.")
    text = text.strip()
    if not text:
        raise Refusal("Write the note.")
    if len(text) > MAX_TEXT:
        raise Refusal(f"The note is longer than {MAX_TEXT} characters.")
    with transaction.atomic():
        note.text = text
        note.updated_at = timezone.now()
        note.save(update_fields=["text", "updated_at"])
        audit_record(actor=actor, action="process_note.update", target=note, case=note.case_id)
    return note
