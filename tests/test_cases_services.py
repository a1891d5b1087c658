"""Opening and changing cases through the services, as every page does."""

import pytest

from tandem.access.services import AccessDenied
from tandem.audit.models import AuditEvent
from tandem.cases.models import (
    AbsentPartner,
    Case,
    CaseProblem,
    Client,
    Phase,
    PhaseChange,
    PresentingProblem,
)
from tandem.cases.services import (
    ClientDetails,
    case_add_partner,
    case_set_problems,
    case_update,
    client_update,
)
from tandem.lib.errors import Refusal
from tandem.pathway.services import case_open

ROBIN = ClientDetails(first_name="Robin", last_name="Fenwick", email="robin@example.invalid")
JUNO = ClientDetails(first_name="Juno", last_name="Fenwick")


def test_coordinator_opens_a_couple_case(cast):
    case = case_open(actor=cast.coordinator, partner_a=ROBIN, partner_b=JUNO, team=cast.couple_case.team)
    assert case.is_couple and case.phase == Phase.CONSULTATION
    assert case.reference == f"T-{case.opened_on.year}-{case.pk:05d}"
    assert [c.first_name for c in case.partners] == ["Robin", "Juno"]
    assert PhaseChange.objects.filter(case=case, to_phase=Phase.CONSULTATION, by=cast.coordinator).exists()
    event = AuditEvent.objects.get(action="case.open")
    assert (event.actor, event.case_id, event.detail["couple"]) == (cast.coordinator, case.pk, True)


def test_individual_case_needs_the_absent_partner_reason(cast):
    with pytest.raises(Refusal, match="why the partner"):
        case_open(actor=cast.coordinator, partner_a=ROBIN, partner_b=None)
    assert not Client.objects.filter(first_name="Robin").exists()
    case = case_open(
        actor=cast.coordinator, partner_a=ROBIN, partner_b=None, absent_partner=AbsentPartner.UNAVAILABLE
    )
    assert not case.is_couple and case.absent_partner == AbsentPartner.UNAVAILABLE


def test_partner_joins_later_and_nothing_is_lost(cast):
    case = case_open(
        actor=cast.therapist_a,
        partner_a=ROBIN,
        partner_b=None,
        absent_partner=AbsentPartner.UNWILLING,
        absent_partner_note="May join after the assessment",
    )
    low_desire = PresentingProblem.objects.get(slug="low-desire")
    case_set_problems(
        actor=cast.therapist_a, case=case, problems=[(low_desire, case.partner_a)], presenting_notes="x"
    )
    case_add_partner(actor=cast.therapist_a, case=case, partner=JUNO)
    case.refresh_from_db()
    assert case.partner_b is not None and case.partner_b.first_name == "Juno"
    assert case.is_couple and case.absent_partner == ""
    assert case.problems.get().client == case.partner_a  # the history stays with the case
    assert case.therapist == cast.therapist_a  # a therapist who opens a case is assigned to it
    added = AuditEvent.objects.get(action="case.partner_added")
    assert added.detail["was_absent"] == AbsentPartner.UNWILLING
    with pytest.raises(Refusal, match="already has two partners"):
        case_add_partner(actor=cast.therapist_a, case=case, partner=JUNO)


def test_assignment_is_one_therapist_or_one_team(cast):
    case = cast.couple_case
    with pytest.raises(Refusal, match="not both"):
        case_update(
            actor=cast.director,
            case=case,
            therapist=cast.therapist_b,
            team=case.team,
            absent_partner="",
            absent_partner_note="",
        )
    with pytest.raises(Refusal, match="active therapist"):
        case_update(
            actor=cast.director,
            case=case,
            therapist=cast.coordinator,
            team=None,
            absent_partner="",
            absent_partner_note="",
        )
    case_update(
        actor=cast.director,
        case=case,
        therapist=cast.therapist_b,
        team=None,
        absent_partner="",
        absent_partner_note="",
    )
    assert Case.objects.get(pk=case.pk).therapist == cast.therapist_b


def test_unassigned_therapist_cannot_change_a_case(cast):
    with pytest.raises(AccessDenied):
        case_update(
            actor=cast.therapist_b,
            case=cast.couple_case,
            therapist=cast.therapist_b,
            team=None,
            absent_partner="",
            absent_partner_note="",
        )
    with pytest.raises(AccessDenied):
        client_update(
            actor=cast.therapist_b, case=cast.couple_case, client=cast.couple_case.partner_a, details=ROBIN
        )
    assert Case.objects.get(pk=cast.couple_case.pk).team_id == cast.couple_case.team_id


def test_front_desk_cannot_record_clinical_problems(cast):
    problem = PresentingProblem.objects.get(slug="premature-ejaculation")
    with pytest.raises(AccessDenied):
        case_set_problems(
            actor=cast.coordinator, case=cast.couple_case, problems=[(problem, None)], presenting_notes=""
        )
    with pytest.raises(AccessDenied):
        case_open(actor=cast.coordinator, partner_a=ROBIN, partner_b=JUNO, problems=[problem])
    assert not CaseProblem.objects.exists()


def test_problem_must_concern_a_partner_of_the_case(cast):
    problem = PresentingProblem.objects.get(slug="sexual-pain")
    stranger = cast.solo_case.partner_a
    with pytest.raises(Refusal, match="partner in this case"):
        case_set_problems(
            actor=cast.therapist_a, case=cast.couple_case, problems=[(problem, stranger)], presenting_notes=""
        )


def test_client_update_records_changed_fields_only(cast):
    client = cast.couple_case.partner_a
    client_update(
        actor=cast.coordinator,
        case=cast.couple_case,
        client=client,
        details=ClientDetails(
            first_name=client.first_name, last_name=client.last_name, phone="+31 20 555 0101"
        ),
    )
    event = AuditEvent.objects.get(action="client.update")
    assert event.detail == {"fields": ["phone"]}
    assert "555" not in str(event.detail)  # the audit keeps field names, never values


def test_problem_codes_are_loaded():
    assert PresentingProblem.objects.get(slug="erectile-disorder").icd10cm == "F52.21"
    assert PresentingProblem.objects.get(slug="premature-ejaculation").icd11 == "HA03.0"
    assert PresentingProblem.objects.get(slug="relationship-distress").icd10cm == "Z63.0"


pytestmark = pytest.mark.django_db
