"""Session-note services: templates, draft → signed lock, co-signing, amendments, confidentiality, audit."""

import datetime as dt

import pytest
from django.utils import timezone

from tandem.access.clinical import can_read_note
from tandem.access.services import AccessDenied, break_glass_open
from tandem.audit.models import AuditEvent
from tandem.lib.errors import Refusal
from tandem.records import selectors
from tandem.records.models import ConfidentialityPolicy, NoteAmendment, NoteStatus, SecretsPolicy, SessionNote
from tandem.records.services import (
    confidentiality_record_agreement,
    confidentiality_set,
    note_amend,
    note_cosign,
    note_create,
    note_sign,
    note_update_draft,
    section_slots,
)
from tandem.scheduling.models import AppointmentStatus
from tests.records_support import (
    fill,
    limited_secrets,
    partner_b_private_note,
    past_session,
    signed_dap,
    team_session,
    template,
)


def _texts(note: SessionNote) -> dict[str, str]:
    return {s.label: s.text for s in selectors.note_sections(note)}


def test_templates_are_data_with_a_section_per_partner(cast):
    assert {"dap", "soap", "couple-session"} <= set(
        template("dap").__class__.objects.values_list("slug", flat=True)
    )
    labels = [s.label for s in section_slots(template("couple-session"), cast.couple_case)]
    assert labels == ["The couple", "Partner: Alex Partner", "Partner: Blair Partner", "Plan"]
    assert [s.label for s in section_slots(template("soap"), cast.solo_case)] == [
        "Subjective",
        "Objective",
        "Assessment",
        "Plan",
    ]


def test_draft_is_edited_then_signed_and_locked(cast):
    appointment = team_session(cast)
    tmpl = template("soap")
    note = note_create(
        actor=cast.therapist_a,
        appointment=appointment,
        template=tmpl,
        sections=fill(tmpl, cast.couple_case, {"Subjective": "first words"}),
    )
    assert note.status == NoteStatus.DRAFT
    note_update_draft(
        actor=cast.cotherapist,
        note=note,
        sections=fill(tmpl, cast.couple_case, {"Subjective": "better words", "Plan": "next week"}),
    )
    assert _texts(note)["Subjective"] == "better words"
    note_sign(actor=cast.therapist_a, note=note)
    note.refresh_from_db()
    assert note.is_signed and note.signed_by == cast.therapist_a and note.signed_at is not None
    with pytest.raises(Refusal, match="signed and locked"):
        note_update_draft(
            actor=cast.therapist_a,
            note=note,
            sections=fill(tmpl, cast.couple_case, {"Subjective": "CHANGED"}),
        )
    with pytest.raises(Refusal, match="already signed"):
        note_sign(actor=cast.cotherapist, note=note)
    assert _texts(note)["Subjective"] == "better words"


def test_stale_object_cannot_edit_a_note_signed_meanwhile(cast):
    note = signed_dap(cast)
    stale = SessionNote.objects.get(pk=note.pk)
    stale.status = NoteStatus.DRAFT  # an in-memory copy read before the signature
    with pytest.raises(Refusal, match="locked"):
        note_update_draft(actor=cast.therapist_a, note=stale, sections={})
    assert _texts(note)["Data"] == "DAP-DATA-TEXT"


def test_cosign_by_the_other_therapist_only(cast):
    note = signed_dap(cast)
    with pytest.raises(AccessDenied, match="other therapist"):
        note_cosign(actor=cast.therapist_a, note=note)
    with pytest.raises(AccessDenied):
        note_cosign(actor=cast.director, note=note)
    note_cosign(actor=cast.cotherapist, note=note)
    note.refresh_from_db()
    assert note.cosigned_by == cast.cotherapist and note.cosigned_at is not None
    with pytest.raises(Refusal, match="already co-signed"):
        note_cosign(actor=cast.cotherapist, note=note)


def test_a_cotherapy_note_awaits_cosignature_until_cosigned_and_a_solo_note_never(cast):
    note = signed_dap(cast)
    assert note.awaiting_cosignature
    assert list(selectors.awaiting_cosignature(user=cast.cotherapist)) == [note]
    assert not selectors.awaiting_cosignature(user=cast.therapist_a)
    note_cosign(actor=cast.cotherapist, note=note)
    note.refresh_from_db()
    assert not note.awaiting_cosignature
    assert not selectors.awaiting_cosignature(user=cast.cotherapist)
    assert not signed_dap(cast, therapists=[cast.therapist_a]).awaiting_cosignature


def test_the_migration_marks_the_signed_cotherapy_notes_nobody_cosigned(cast):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("tandem.records.migrations.0004_awaiting_cosignature")
    waiting, done = signed_dap(cast), signed_dap(cast)
    note_cosign(actor=cast.cotherapist, note=done)
    alone = signed_dap(cast, therapists=[cast.therapist_a])
    SessionNote.objects.update(awaiting_cosignature=False)
    migration.mark_awaiting(apps, None)
    marked = set(SessionNote.objects.filter(awaiting_cosignature=True).values_list("pk", flat=True))
    assert marked == {waiting.pk} and alone.pk not in marked


def test_cannot_cosign_a_draft(cast):
    appointment = team_session(cast)
    note = note_create(actor=cast.therapist_a, appointment=appointment, template=template("dap"), sections={})
    with pytest.raises(Refusal, match="signed before"):
        note_cosign(actor=cast.cotherapist, note=note)
    with pytest.raises(Refusal, match="empty"):
        note_sign(actor=cast.therapist_a, note=note)


@pytest.mark.parametrize("who", ["director", "therapist_b", "coordinator", "partner_a"])
def test_only_therapists_of_the_session_write(cast, who):
    appointment = team_session(cast)
    with pytest.raises(AccessDenied):
        note_create(actor=getattr(cast, who), appointment=appointment, template=template("dap"), sections={})
    assert not SessionNote.objects.exists()


def test_case_therapist_not_in_this_session_cannot_write_it(cast):
    # The co-therapist is on the case's team but this session was Tess's alone.
    appointment = past_session(cast.couple_case, [cast.therapist_a])
    with pytest.raises(AccessDenied):
        note_create(actor=cast.cotherapist, appointment=appointment, template=template("dap"), sections={})


def test_emergency_access_reads_but_does_not_write(cast):
    note = signed_dap(cast)
    assert not can_read_note(cast.therapist_b, note)
    break_glass_open(
        user=cast.therapist_b, case_id=cast.couple_case.pk, reason="Covering an urgent call today"
    )
    assert can_read_note(cast.therapist_b, note)
    with pytest.raises(AccessDenied):
        note_amend(actor=cast.therapist_b, note=note, text="x", reason="covering")
    with pytest.raises(AccessDenied):
        note_cosign(actor=cast.therapist_b, note=note)


def test_refuses_future_cancelled_duplicate_and_wrong_template(cast):
    future = past_session(cast.couple_case, [cast.therapist_a], hours_ago=-5)
    with pytest.raises(Refusal, match="not started"):
        note_create(actor=cast.therapist_a, appointment=future, template=template("dap"), sections={})
    cancelled = past_session(cast.couple_case, [cast.therapist_a])
    cancelled.status = AppointmentStatus.CANCELLED
    cancelled.save()
    with pytest.raises(Refusal, match="cancelled"):
        note_create(actor=cast.therapist_a, appointment=cancelled, template=template("dap"), sections={})
    solo = past_session(cast.solo_case, [cast.therapist_a])
    with pytest.raises(Refusal, match="couple case"):
        note_create(
            actor=cast.therapist_a, appointment=solo, template=template("couple-session"), sections={}
        )
    note = signed_dap(cast)
    with pytest.raises(Refusal, match="already has a note"):
        note_create(
            actor=cast.therapist_a, appointment=note.appointment, template=template("dap"), sections={}
        )


def test_amendments_are_appended_in_order_and_leave_the_note_unchanged(cast, time_machine):
    time_machine.move_to(timezone.now())
    note = signed_dap(cast)
    first = note_amend(actor=cast.cotherapist, note=note, text="AMEND-ONE", reason="Missed a detail")
    time_machine.shift(dt.timedelta(minutes=5))
    second = note_amend(actor=cast.therapist_a, note=note, text="AMEND-TWO", reason="Corrected the plan")
    assert [a.text for a in selectors.note_amendments(note)] == ["AMEND-ONE", "AMEND-TWO"]
    assert first.at < second.at and first.author == cast.cotherapist
    assert _texts(note)["Data"] == "DAP-DATA-TEXT"
    with pytest.raises(Refusal, match="Say why"):
        note_amend(actor=cast.therapist_a, note=note, text="x", reason=" ")
    with pytest.raises(AccessDenied):
        note_amend(actor=cast.therapist_b, note=note, text="x", reason="y")
    assert NoteAmendment.objects.count() == 2


def test_drafts_are_not_amended(cast):
    appointment = team_session(cast)
    note = note_create(actor=cast.therapist_a, appointment=appointment, template=template("dap"), sections={})
    with pytest.raises(Refusal, match="draft"):
        note_amend(actor=cast.therapist_a, note=note, text="x", reason="y")


def test_every_action_is_audited_without_the_text(cast):
    note = signed_dap(cast, text="AUDIT-MUST-NOT-HOLD-THIS")
    note_cosign(actor=cast.cotherapist, note=note)
    note_amend(actor=cast.cotherapist, note=note, text="AMEND-NOT-IN-AUDIT", reason="REASON-NOT-IN-AUDIT")
    actions = list(
        AuditEvent.objects.filter(action__startswith="note.").order_by("seq").values_list("action", flat=True)
    )
    assert actions == ["note.create", "note.sign", "note.cosign", "note.amend"]
    dumped = " ".join(str(d) for d in AuditEvent.objects.values_list("detail", flat=True))
    for secret in ("AUDIT-MUST-NOT-HOLD-THIS", "AMEND-NOT-IN-AUDIT", "REASON-NOT-IN-AUDIT"):
        assert secret not in dumped


def test_private_content_needs_a_limited_secrets_policy(cast):
    appointment = team_session(cast)
    tmpl = template("couple-session")
    inputs = fill(
        tmpl, cast.couple_case, {"Partner: Blair Partner": "about Blair"}, private=("Partner: Blair Partner",)
    )
    with pytest.raises(Refusal, match="limited-secrets"):
        note_create(actor=cast.therapist_a, appointment=appointment, template=tmpl, sections=inputs)
    limited_secrets(cast)
    note = note_create(actor=cast.therapist_a, appointment=appointment, template=tmpl, sections=inputs)
    private = [s for s in selectors.note_sections(note) if s.private_to_id]
    assert [(s.label, s.private_to_id) for s in private] == [
        ("Partner: Blair Partner", cast.couple_case.partner_b_id)
    ]


def test_a_joint_section_cannot_be_private_in_a_joint_session(cast):
    limited_secrets(cast)
    appointment = team_session(cast)
    tmpl = template("dap")
    with pytest.raises(Refusal, match="own section"):
        note_create(
            actor=cast.therapist_a,
            appointment=appointment,
            template=tmpl,
            sections=fill(tmpl, cast.couple_case, {"Data": "joint"}, private=("Data",)),
        )


def test_policy_change_requires_both_partners_to_agree_again(cast):
    limited_secrets(cast)
    policy = ConfidentialityPolicy.objects.get(case=cast.couple_case)
    assert policy.agreed_by_all
    policy = confidentiality_set(actor=cast.cotherapist, case=cast.couple_case, kind=SecretsPolicy.NO_SECRETS)
    assert not policy.agreed_by_all and policy.partner_a_agreed_at is None
    with pytest.raises(AccessDenied):
        confidentiality_set(actor=cast.coordinator, case=cast.couple_case, kind=SecretsPolicy.LIMITED_SECRETS)
    with pytest.raises(AccessDenied):
        confidentiality_record_agreement(
            actor=cast.therapist_b, case=cast.couple_case, client=cast.couple_case.partner_a
        )


def test_individual_session_note_is_marked(cast):
    note = partner_b_private_note(cast)
    assert note.individual_with_id == cast.couple_case.partner_b_id
