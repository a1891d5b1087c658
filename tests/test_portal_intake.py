"""Each partner fills in their own part of the intake in the portal; risk answers reach the therapist."""

import pytest
from django.urls import reverse

from tandem.access.services import AccessDenied
from tandem.audit.models import AuditEvent
from tandem.cases.models import Case, Phase
from tandem.lib.errors import Refusal
from tandem.pathway.models import EnteredBy, IntakeRecord
from tandem.pathway.services import (
    ContactDetails,
    IntakeDetails,
    intake_client_save,
    intake_safety_review,
    intake_save,
)
from tests.cast import login

ANSWERS = {
    "preferred_name": "Lex",
    "pronouns": "they/them",
    "date_of_birth": "1990-04-02",
    "phone": "555-0142",
    "details_confirmed": "on",
    "relationship_history": "Nine years together, A-HISTORY-TEXT.",
    "presenting_concerns": "A-CONCERN-TEXT in my own words.",
    "medications": "A-MEDICATION-TEXT",
    "conditions": "None",
    "safety_afraid_of_partner": "no",
    "safety_pressured_into_sex": "no",
    "safety_self_harm_thoughts": "no",
}


def _url(case: Case) -> str:
    return reverse("portal:intake", kwargs={"case_id": case.pk})


@pytest.fixture
def blair_answered(cast) -> IntakeRecord:
    """Blair has filled in their own part, with an answer that indicates risk."""
    return intake_client_save(
        actor=cast.partner_b,
        case=cast.couple_case,
        contact=ContactDetails(phone="555-0177"),
        details=IntakeDetails(
            presenting_concerns="B-SECRET-CONCERN",
            medications="B-SECRET-MEDICATION",
            safety_afraid_of_partner="yes",
            safety_pressured_into_sex="no",
            safety_self_harm_thoughts="no",
        ),
    )


def test_partner_fills_in_their_own_part(client, cast):
    case = cast.couple_case
    login(client, cast.partner_a)
    page = client.get(_url(case))
    assert page.status_code == 200
    assert "Are you ever afraid of your partner?" in page.content.decode()
    response = client.post(_url(case), ANSWERS)
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    record = IntakeRecord.objects.get(case=case)
    assert record.client == case.partner_a and record.entered_by == EnteredBy.CLIENT
    assert record.updated_by == cast.partner_a and record.is_complete and not record.safety_flagged
    case.partner_a.refresh_from_db()
    assert (case.partner_a.preferred_name, case.partner_a.phone) == ("Lex", "555-0142")
    event = AuditEvent.objects.get(action="intake.client_create")
    # The audit trail says what happened, never what was answered.
    assert "A-CONCERN-TEXT" not in str(event.detail) and event.detail["safety_flag"] is False
    assert event.detail["contact_changed"] == ["date_of_birth", "phone", "preferred_name", "pronouns"]
    assert AuditEvent.objects.filter(action="portal.view", detail__page="intake").count() == 1


def test_a_partner_never_sees_the_others_answers(client, cast, blair_answered):
    case = cast.couple_case
    login(client, cast.partner_a)
    for path in (_url(case), reverse("portal:home")):
        content = client.get(path).content.decode()
        for secret in ("B-SECRET-CONCERN", "B-SECRET-MEDICATION", "555-0177"):
            assert secret not in content
    # Saving their own part leaves the other partner's row as it was.
    client.post(_url(case), ANSWERS)
    blair = IntakeRecord.objects.get(case=case, client=case.partner_b)
    assert blair.presenting_concerns == "B-SECRET-CONCERN" and blair.updated_by == cast.partner_b
    login(client, cast.partner_b)
    content = client.get(_url(case)).content.decode()
    assert "B-SECRET-CONCERN" in content and "A-CONCERN-TEXT" not in content


def test_guessed_addresses_are_not_found_and_audited(client, cast, django_user_model):
    login(client, cast.partner_a)
    solo = cast.solo_case
    assert client.get(_url(solo)).status_code == 404
    assert client.post(_url(solo), ANSWERS).status_code == 404
    assert not IntakeRecord.objects.exists()
    assert AuditEvent.objects.filter(action="access.denied", detail__object="intake").count() == 2
    for bad in ("/portal/intake/999999/", "/portal/intake/abc/"):
        assert client.get(bad).status_code == 404
    # Another client of the practice (an outsider to this couple) cannot reach the couple's intake.
    stranger = django_user_model.objects.create_user(username="sam", password="x" * 16, role="client")
    solo.partner_a.user = stranger
    solo.partner_a.save()
    login(client, stranger)
    assert client.get(_url(cast.couple_case)).status_code == 404
    assert client.get(_url(solo)).status_code == 200


@pytest.mark.parametrize("role", ["director", "therapist_a", "coordinator"])
def test_staff_use_their_own_intake_page_not_the_portal(client, cast, role):
    login(client, getattr(cast, role))
    assert client.get(_url(cast.couple_case)).status_code == 404


def test_service_refuses_anyone_but_the_partner_themself(cast):
    details = IntakeDetails(presenting_concerns="x")
    for actor in (cast.therapist_a, cast.director, cast.partner_a):
        case = cast.solo_case if actor == cast.partner_a else cast.couple_case
        with pytest.raises(AccessDenied):
            intake_client_save(actor=actor, case=case, contact=ContactDetails(), details=details)
    assert not IntakeRecord.objects.exists()


def test_once_treatment_starts_the_answers_are_read_only(client, cast, blair_answered):
    case = cast.couple_case
    Case.objects.filter(pk=case.pk).update(phase=Phase.TREATMENT)
    login(client, cast.partner_b)
    page = client.get(_url(case)).content.decode()
    assert (
        "part of your record" in page and "B-SECRET-CONCERN" in page and "<form" not in page.split("<main")[1]
    )
    response = client.post(_url(case), {**ANSWERS, "presenting_concerns": "changed"})
    assert response.status_code == 400
    blair_answered.refresh_from_db()
    assert blair_answered.presenting_concerns == "B-SECRET-CONCERN"


def test_client_keeps_the_therapists_safety_notes(cast):
    case = cast.couple_case
    intake_save(
        actor=cast.therapist_a,
        case=case,
        client=case.partner_a,
        details=IntakeDetails(presenting_concerns="Taken at the desk", safety_notes="STAFF-SAFETY-NOTE"),
    )
    intake_client_save(
        actor=cast.partner_a, case=case, contact=ContactDetails(), details=IntakeDetails(medications="none")
    )
    record = IntakeRecord.objects.get(case=case, client=case.partner_a)
    assert record.safety_notes == "STAFF-SAFETY-NOTE" and record.entered_by == EnteredBy.CLIENT


def test_a_risk_answer_is_on_today_until_a_clinician_reviews_it(client, cast, blair_answered):
    case = cast.couple_case
    assert blair_answered.safety_to_review
    login(client, cast.therapist_a)
    today = client.get("/").content.decode()
    assert "Safety answers to review" in today and "intake of Blair" in today
    detail = client.get(reverse("cases:detail", kwargs={"case_id": case.pk})).content.decode()
    assert "safety answer to review" in detail and "filled in by Blair in the portal" in detail
    # Someone else's therapist, and the front desk, neither see it nor can clear it.
    review = reverse("pathway:intake_reviewed", kwargs={"case_id": case.pk, "client_id": case.partner_b.pk})
    for other in (cast.therapist_b, cast.coordinator):
        login(client, other)
        assert "intake of Blair" not in client.get("/").content.decode()
        assert client.post(review).status_code == 404
    login(client, cast.therapist_a)
    assert client.post(review).status_code == 302
    blair_answered.refresh_from_db()
    assert blair_answered.safety_reviewed_by == cast.therapist_a
    assert "intake of Blair" not in client.get("/").content.decode()
    assert AuditEvent.objects.filter(action="intake.safety_reviewed").count() == 1
    # Changing the safety answers puts them back on the list; other edits do not.
    intake_client_save(
        actor=cast.partner_b,
        case=case,
        contact=ContactDetails(),
        details=IntakeDetails(
            presenting_concerns="B-SECRET-CONCERN, more",
            safety_afraid_of_partner="yes",
            safety_pressured_into_sex="no",
            safety_self_harm_thoughts="no",
        ),
    )
    assert not IntakeRecord.objects.get(pk=blair_answered.pk).safety_to_review
    intake_client_save(
        actor=cast.partner_b,
        case=case,
        contact=ContactDetails(),
        details=IntakeDetails(
            safety_afraid_of_partner="yes", safety_pressured_into_sex="unsure", safety_self_harm_thoughts="no"
        ),
    )
    assert IntakeRecord.objects.get(pk=blair_answered.pk).safety_to_review
    assert "intake of Blair" in client.get("/").content.decode()


def test_review_is_refused_without_a_risk_answer(cast):
    case = cast.couple_case
    record = intake_client_save(
        actor=cast.partner_a, case=case, contact=ContactDetails(), details=IntakeDetails()
    )
    with pytest.raises(Refusal):
        intake_safety_review(actor=cast.therapist_a, record=record)


def test_portal_home_offers_the_intake_while_it_can_be_filled_in(client, cast):
    login(client, cast.partner_a)
    home = client.get(reverse("portal:home")).content.decode()
    assert "Fill in my intake form" in home and _url(cast.couple_case) in home
    client.post(_url(cast.couple_case), ANSWERS)
    assert "your answers are with your therapist" in client.get(reverse("portal:home")).content.decode()
    Case.objects.filter(pk=cast.couple_case.pk).update(phase=Phase.FOLLOW_UP)
    assert _url(cast.couple_case) not in client.get(reverse("portal:home")).content.decode()


def test_a_date_of_birth_in_the_future_is_refused_and_nothing_changes(client, cast):
    login(client, cast.partner_a)
    response = client.post(_url(cast.couple_case), {**ANSWERS, "date_of_birth": "2999-01-01"})
    assert response.status_code == 400
    assert "a day in the past" in response.content.decode()
    assert not IntakeRecord.objects.exists()
