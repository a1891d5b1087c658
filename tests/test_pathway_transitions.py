"""The phases as a state machine: every allowed move, every refusal, and overrides with and without reason."""

import pytest

from tandem.access.services import AccessDenied
from tandem.audit.models import AuditEvent
from tandem.cases.models import Case, Phase, PhaseChange
from tandem.lib.errors import Refusal
from tandem.pathway.models import FollowUpTask, SpecialistType
from tandem.pathway.services import (
    TransitionBlocked,
    case_transition,
    consent_record,
    referral_create,
)
from tandem.scheduling.models import AppointmentKind, AppointmentStatus
from tests.pathway_support import (
    follow_ups_done,
    full_assessment,
    intake_and_consent,
    session,
    treatment_plan,
)

REASON = "Both partners asked to start; the last session is booked for next week."


def _at(case: Case, phase: str) -> Case:
    Case.objects.filter(pk=case.pk).update(phase=phase)
    case.refresh_from_db()
    return case


def test_the_whole_pathway_of_a_couple(cast):
    case = _at(cast.couple_case, Phase.CONSULTATION)
    therapist = cast.therapist_a
    case_transition(actor=cast.coordinator, case=case, to_phase=Phase.INTAKE)
    intake_and_consent(case, therapist)
    case_transition(actor=therapist, case=case, to_phase=Phase.ASSESSMENT)
    full_assessment(case, therapist)
    case_transition(actor=therapist, case=case, to_phase=Phase.TREATMENT)
    treatment_plan(case, therapist)
    case_transition(actor=therapist, case=case, to_phase=Phase.FOLLOW_UP, follow_up_mode="phone")
    follow_ups_done(case, therapist, outcome="Going well.")
    assert not FollowUpTask.objects.open().filter(case=case).exists()
    change = case_transition(actor=therapist, case=case, to_phase=Phase.DISCHARGED)
    case.refresh_from_db()
    assert case.phase == Phase.DISCHARGED and case.closed_on is not None
    assert list(case.phase_changes.values_list("to_phase", flat=True)) == [
        Phase.INTAKE,
        Phase.ASSESSMENT,
        Phase.TREATMENT,
        Phase.FOLLOW_UP,
        Phase.DISCHARGED,
    ]
    assert (change.by, change.from_phase, change.override_reason) == (therapist, Phase.FOLLOW_UP, "")
    events = AuditEvent.objects.filter(action="case.phase_change", case_id=case.pk)
    assert events.count() == 5
    assert events.order_by("seq").last().detail == {
        "from": "follow_up",
        "to": "discharged",
        "overridden": [],
        "follow_ups": 0,
    }


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (Phase.CONSULTATION, Phase.ASSESSMENT),
        (Phase.CONSULTATION, Phase.TREATMENT),
        (Phase.INTAKE, Phase.TREATMENT),
        (Phase.ASSESSMENT, Phase.INTAKE),
        (Phase.TREATMENT, Phase.CLOSED),
        (Phase.TREATMENT, Phase.DISCHARGED),
        (Phase.FOLLOW_UP, Phase.CLOSED),
        (Phase.DISCHARGED, Phase.TREATMENT),
        (Phase.CLOSED, Phase.INTAKE),
        (Phase.INTAKE, "nonsense"),
    ],
)
def test_moves_off_the_pathway_are_refused(cast, start, to):
    case = _at(cast.couple_case, start)
    with pytest.raises(Refusal, match="cannot move to"):
        case_transition(actor=cast.director, case=case, to_phase=to, override_reason=REASON, reason=REASON)
    case.refresh_from_db()
    assert case.phase == start and not PhaseChange.objects.filter(case=case).exists()


@pytest.mark.parametrize("start", [Phase.CONSULTATION, Phase.INTAKE, Phase.ASSESSMENT])
def test_a_case_may_be_closed_before_treatment_with_a_reason(cast, start):
    case = _at(cast.couple_case, start)
    with pytest.raises(Refusal, match="Write why the case is closed"):
        case_transition(actor=cast.coordinator, case=case, to_phase=Phase.CLOSED)
    change = case_transition(actor=cast.coordinator, case=case, to_phase=Phase.CLOSED, reason="Moved away.")
    case.refresh_from_db()
    assert case.phase == Phase.CLOSED and change.reason == "Moved away." and case.closed_on is not None


@pytest.mark.parametrize("role", ["coordinator", "therapist_b", "partner_a"])
def test_clinical_moves_need_a_clinician_of_the_case(cast, role):
    case = cast.couple_case  # in assessment
    full_assessment(case, cast.therapist_a)
    with pytest.raises(AccessDenied, match="Only the case's therapists"):
        case_transition(actor=getattr(cast, role), case=case, to_phase=Phase.TREATMENT)
    assert Case.objects.get(pk=case.pk).phase == Phase.ASSESSMENT


@pytest.mark.parametrize("role", ["therapist_b", "partner_a"])
def test_outsiders_cannot_start_an_intake_or_close(cast, role):
    case = _at(cast.couple_case, Phase.CONSULTATION)
    for to in (Phase.INTAKE, Phase.CLOSED):
        with pytest.raises(AccessDenied, match="Only the case's therapists"):
            case_transition(actor=getattr(cast, role), case=case, to_phase=to, reason="x")


@pytest.mark.parametrize("role", ["therapist_a", "cotherapist", "director"])
def test_clinicians_may_start_the_intake(cast, role):
    case = _at(cast.couple_case, Phase.CONSULTATION)
    case_transition(actor=getattr(cast, role), case=case, to_phase=Phase.INTAKE)
    assert Case.objects.get(pk=case.pk).phase == Phase.INTAKE


def test_assessment_needs_consent_from_each_partner_and_nobody_overrides_it(cast):
    case = _at(cast.couple_case, Phase.INTAKE)
    intake_and_consent(case, cast.therapist_a)
    case.treatment_consents.filter(client=case.partner_b).delete()
    with pytest.raises(
        TransitionBlocked, match=r"Consent to treatment has not been given by Blair Partner\."
    ) as e:
        case_transition(actor=cast.director, case=case, to_phase=Phase.ASSESSMENT, override_reason=REASON)
    assert not e.value.overridable
    consent_record(actor=cast.coordinator, case=case, client=case.partner_b)
    case_transition(actor=cast.therapist_a, case=case, to_phase=Phase.ASSESSMENT)


def test_incomplete_intake_blocks_the_assessment_unless_overridden(cast):
    case = cast.solo_case  # in intake, therapist_a
    consent_record(actor=cast.therapist_a, case=case, client=case.partner_a)
    with pytest.raises(TransitionBlocked, match=r"Intake is not recorded for Sam Solo\.") as e:
        case_transition(actor=cast.therapist_a, case=case, to_phase=Phase.ASSESSMENT)
    assert e.value.overridable
    change = case_transition(
        actor=cast.therapist_a, case=case, to_phase=Phase.ASSESSMENT, override_reason=REASON
    )
    assert change.override_reason == REASON
    assert AuditEvent.objects.get(action="case.phase_change").detail["overridden"] == [
        "Intake is not recorded for Sam Solo."
    ]


def test_couple_cannot_reach_treatment_before_all_three_assessment_sessions(cast):
    case, therapist = cast.couple_case, cast.therapist_a
    with pytest.raises(TransitionBlocked) as e:
        case_transition(actor=therapist, case=case, to_phase=Phase.TREATMENT)
    assert str(e.value) == (
        "Assessment is not complete: the joint assessment interview has not taken place; the individual "
        "session for Alex Partner has not taken place; the individual session for Blair Partner has not "
        "taken place."
    )
    session(case, AppointmentKind.JOINT_ASSESSMENT, therapist=therapist)
    session(case, AppointmentKind.INDIVIDUAL_ASSESSMENT, therapist=therapist, for_client=case.partner_a)
    # Booked, cancelled or missed sessions do not count, nor one whose partner is not said.
    session(
        case,
        AppointmentKind.INDIVIDUAL_ASSESSMENT,
        status=AppointmentStatus.BOOKED,
        for_client=case.partner_b,
        therapist=therapist,
        days_ago=-2,
    )
    session(
        case,
        AppointmentKind.INDIVIDUAL_ASSESSMENT,
        status=AppointmentStatus.NO_SHOW,
        for_client=case.partner_b,
        therapist=therapist,
    )
    session(case, AppointmentKind.INDIVIDUAL_ASSESSMENT, therapist=therapist)
    with pytest.raises(
        TransitionBlocked,
        match=r"^Assessment is not complete: the individual session for Blair Partner has not taken place\.$",
    ):
        case_transition(actor=therapist, case=case, to_phase=Phase.TREATMENT)
    session(case, AppointmentKind.INDIVIDUAL_ASSESSMENT, therapist=therapist, for_client=case.partner_b)
    change = case_transition(actor=therapist, case=case, to_phase=Phase.TREATMENT)
    assert change.override_reason == ""


def test_individual_case_needs_only_its_own_session(cast):
    case = _at(cast.solo_case, Phase.ASSESSMENT)
    with pytest.raises(TransitionBlocked, match="the assessment session for Sam Solo has not taken place"):
        case_transition(actor=cast.therapist_a, case=case, to_phase=Phase.TREATMENT)
    session(case, AppointmentKind.INDIVIDUAL_ASSESSMENT, therapist=cast.therapist_a)
    case_transition(actor=cast.therapist_a, case=case, to_phase=Phase.TREATMENT)
    assert Case.objects.get(pk=case.pk).phase == Phase.TREATMENT


def test_override_needs_a_written_reason_from_a_therapist_of_the_case(cast):
    case = cast.couple_case
    with pytest.raises(Refusal, match="at least 15 characters"):
        case_transition(
            actor=cast.therapist_a, case=case, to_phase=Phase.TREATMENT, override_reason="because"
        )
    with pytest.raises(AccessDenied, match="Only the case's therapists"):
        case_transition(actor=cast.coordinator, case=case, to_phase=Phase.TREATMENT, override_reason=REASON)
    assert not PhaseChange.objects.filter(case=case).exists()
    change = case_transition(
        actor=cast.cotherapist, case=case, to_phase=Phase.TREATMENT, override_reason=REASON
    )
    assert (change.override_reason, change.by) == (REASON, cast.cotherapist)


def test_an_override_when_nothing_blocks_is_not_recorded(cast):
    case = cast.couple_case
    full_assessment(case, cast.therapist_a)
    change = case_transition(actor=cast.director, case=case, to_phase=Phase.TREATMENT, override_reason=REASON)
    assert change.override_reason == ""


def test_discharge_waits_for_follow_ups_and_referral_results(cast):
    case = _at(cast.couple_case, Phase.TREATMENT)
    referral_create(
        actor=cast.therapist_a,
        case=case,
        client=case.partner_a,
        specialist_type=SpecialistType.objects.get(slug="urologist"),
        reason="Erectile difficulty; rule out a vascular cause.",
    )
    treatment_plan(case, cast.therapist_a)
    case_transition(actor=cast.therapist_a, case=case, to_phase=Phase.FOLLOW_UP)
    with pytest.raises(TransitionBlocked) as e:
        case_transition(actor=cast.therapist_a, case=case, to_phase=Phase.DISCHARGED)
    assert e.value.problems == [
        "4 follow-up contacts are still to do.",
        "1 referral is still waiting for a result.",
    ]
    case_transition(actor=cast.therapist_a, case=case, to_phase=Phase.DISCHARGED, override_reason=REASON)
    assert Case.objects.get(pk=case.pk).phase == Phase.DISCHARGED


def test_a_stale_case_object_cannot_move_twice(cast):
    case = _at(cast.couple_case, Phase.CONSULTATION)
    stale = Case.objects.get(pk=case.pk)
    case_transition(actor=cast.coordinator, case=case, to_phase=Phase.INTAKE)
    with pytest.raises(Refusal, match="Someone else has just moved this case"):
        case_transition(actor=cast.coordinator, case=stale, to_phase=Phase.INTAKE)
    assert PhaseChange.objects.filter(case=case).count() == 1
