"""The pathway's pages by role, the forms' messages, the referral letter, Today and the case timeline."""

import datetime as dt
import html
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.audit.models import AuditEvent
from tandem.cases.models import Case, CaseProblem, Client, Phase, PresentingProblem
from tandem.pathway.models import FollowUpTask, Referral, SpecialistType, TreatmentPlan
from tandem.pathway.services import (
    case_transition,
    plan_save,
    referral_create,
    referral_mark_appointment,
    referral_record_result,
)
from tandem.practice.models import Practice
from tandem.scheduling.models import AppointmentKind
from tests.cast import Cast, individual_case, login
from tests.pathway_support import (
    follow_ups_done,
    full_assessment,
    intake_and_consent,
    session,
    treatment_plan,
)

ROLES = ["director", "therapist_a", "cotherapist", "therapist_b", "coordinator", "partner_a", "partner_b"]
OVERRIDE = "Blair's individual session is booked next week; the couple asked to start now."


def _referral(cast: Cast, *, urgency: str = "urgent") -> Referral:
    case = cast.couple_case
    return referral_create(
        actor=cast.therapist_a,
        case=case,
        client=case.partner_a,
        specialist_type=SpecialistType.objects.get(slug="urologist"),
        reason="Erectile difficulty for a year; please rule out a vascular cause.",
        urgency=urgency,
    )


def _discharged(cast: Cast) -> Case:
    case = cast.couple_case
    Case.objects.filter(pk=case.pk).update(phase=Phase.FOLLOW_UP)
    case.refresh_from_db()
    case_transition(actor=cast.director, case=case, to_phase=Phase.DISCHARGED)
    return case


# role -> statuses of the pages below, in order
EXPECTED = {
    #              move  intake consent findings refer plan letter resched summary
    "director": (200, 200, 200, 200, 200, 200, 200, 200, 200),
    "therapist_a": (200, 200, 200, 200, 200, 200, 200, 200, 200),
    "cotherapist": (200, 200, 200, 200, 200, 200, 200, 200, 200),
    "therapist_b": (404, 404, 404, 404, 404, 404, 404, 404, 404),
    # The front desk: consent and follow-up dates, closing before treatment; nothing clinical.
    "coordinator": (404, 404, 200, 404, 404, 404, 404, 200, 404),
    "partner_a": (404, 404, 404, 404, 404, 404, 404, 404, 404),
    "partner_b": (404, 404, 404, 404, 404, 404, 404, 404, 404),
}


@pytest.mark.parametrize("role", ROLES)
def test_pathway_pages_by_role(client, cast, role):
    couple = cast.couple_case
    referral = _referral(cast)
    discharged = Case.objects.create(
        reference="T-0003",
        partner_a=Client.objects.create(first_name="Dee", last_name="Done"),
        partner_b=Client.objects.create(first_name="Eli", last_name="Done"),
        team=couple.team,
        phase=Phase.DISCHARGED,
        opened_on=dt.date(2026, 1, 5),
    )
    task = FollowUpTask.objects.create(
        case=couple,
        label="2-week follow-up",
        mode="phone",
        due_on=dt.date(2027, 1, 1),
        planned_on=dt.date(2027, 1, 1),
        created_at=timezone.now(),
    )
    ids = {"case_id": couple.pk}
    urls = [
        reverse("pathway:transition", kwargs={**ids, "to_phase": Phase.TREATMENT}),
        reverse("pathway:intake", kwargs={**ids, "client_id": couple.partner_b_id}),
        reverse("pathway:consent", kwargs={**ids, "client_id": couple.partner_b_id}),
        reverse("pathway:findings", kwargs={**ids, "client_id": couple.partner_a_id}),
        reverse("pathway:referral_new", kwargs=ids),
        reverse("pathway:plan", kwargs=ids),
        reverse("pathway:referral_letter", kwargs={**ids, "referral_id": referral.pk}),
        reverse("pathway:follow_up_reschedule", kwargs={**ids, "task_id": task.pk}),
        reverse("pathway:discharge_summary", kwargs={"case_id": discharged.pk}),
    ]
    login(client, getattr(cast, role))
    assert tuple(client.get(url).status_code for url in urls) == EXPECTED[role]


def test_refused_pages_are_audited_and_post_changes_nothing(client, cast):
    login(client, cast.therapist_b)
    case = cast.couple_case
    response = client.post(
        reverse("pathway:transition", kwargs={"case_id": case.pk, "to_phase": Phase.TREATMENT}),
        {"override_reason": OVERRIDE},
    )
    assert response.status_code == 404
    assert Case.objects.get(pk=case.pk).phase == Phase.ASSESSMENT
    assert AuditEvent.objects.filter(action="access.denied", actor=cast.therapist_b).exists()


def test_a_referral_of_another_case_is_not_found(client, cast):
    referral = _referral(cast)
    login(client, cast.therapist_a)
    url = reverse(
        "pathway:referral_letter", kwargs={"case_id": cast.solo_case.pk, "referral_id": referral.pk}
    )
    assert client.get(url).status_code == 404


def test_blocked_move_says_why_and_override_is_kept_and_shown(client, cast):
    case = cast.couple_case
    session(case, AppointmentKind.JOINT_ASSESSMENT)
    session(
        case, AppointmentKind.INDIVIDUAL_ASSESSMENT, for_client=case.partner_a, therapist=cast.therapist_a
    )
    login(client, cast.therapist_a)
    url = reverse("pathway:transition", kwargs={"case_id": case.pk, "to_phase": Phase.TREATMENT})
    page = client.get(url).content.decode()
    assert "the individual session for Blair Partner has not taken place" in page
    response = client.post(url, {"override_reason": ""})
    assert response.status_code == 400
    assert (
        "Assessment is not complete: the individual session for Blair Partner has not taken place."
        in response.content.decode()
    )
    assert client.post(url, {"override_reason": "ok"}).status_code == 400
    response = client.post(url, {"override_reason": OVERRIDE})
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).phase == Phase.TREATMENT
    # Compared unescaped: the timeline is escaped by Jinja2 (&#39;), the rest of the page by Django (&#x27;).
    detail = html.unescape(client.get(reverse("cases:detail", kwargs={"case_id": case.pk})).content.decode())
    assert "Rule overridden: " + OVERRIDE in detail
    login(client, cast.coordinator)
    detail = client.get(reverse("cases:detail", kwargs={"case_id": case.pk})).content.decode()
    assert "Assessment → Treatment" in detail and "Rule overridden" not in detail


def test_coordinator_starts_intake_records_consent_and_closes(client, cast):
    case = cast.couple_case
    Case.objects.filter(pk=case.pk).update(phase=Phase.CONSULTATION)
    login(client, cast.coordinator)
    detail = client.get(reverse("cases:detail", kwargs={"case_id": case.pk})).content.decode()
    assert "Start intake" in detail and "Close without treatment" in detail
    move = reverse("pathway:transition", kwargs={"case_id": case.pk, "to_phase": Phase.INTAKE})
    assert client.post(move).status_code == 302
    consent = reverse("pathway:consent", kwargs={"case_id": case.pk, "client_id": case.partner_a_id})
    response = client.post(consent, {"version": "treatment-consent-2026-1"})
    assert "Confirm that they agreed to the consent text." in response.content.decode()
    assert client.post(consent, {"version": "treatment-consent-2026-1", "confirmed": "on"}).status_code == 302
    detail = client.get(reverse("cases:detail", kwargs={"case_id": case.pk})).content.decode()
    assert "Start assessment" not in detail  # a clinical step: not offered to the front desk
    close = reverse("pathway:transition", kwargs={"case_id": case.pk, "to_phase": Phase.CLOSED})
    response = client.post(close, {"reason": ""})
    assert response.status_code == 400 and "Write why the case is closed." in response.content.decode()
    assert client.post(close, {"reason": "They chose another clinic."}).status_code == 302
    assert Case.objects.get(pk=case.pk).phase == Phase.CLOSED


def test_intake_and_findings_through_the_pages(client, cast):
    case = cast.solo_case
    login(client, cast.therapist_a)
    url = reverse("pathway:intake", kwargs={"case_id": case.pk, "client_id": case.partner_a_id})
    response = client.post(
        url,
        {
            "details_confirmed": "on",
            "presenting_concerns": "I avoid intimacy because it hurts.",
            "safety_afraid_of_partner": "no",
            "safety_pressured_into_sex": "no",
            "safety_self_harm_thoughts": "maybe",
        },
    )
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    data = {
        "details_confirmed": "on",
        "presenting_concerns": "I avoid intimacy because it hurts.",
        "safety_afraid_of_partner": "no",
        "safety_pressured_into_sex": "no",
        "safety_self_harm_thoughts": "no",
    }
    assert client.post(url, data).status_code == 302
    assert case.intake_records.get().is_complete
    findings = reverse("pathway:findings", kwargs={"case_id": case.pk, "client_id": case.partner_a_id})
    assert (
        client.post(
            findings, {"psychological": "Fear of pain.", "physical": "Possible vaginismus."}
        ).status_code
        == 302
    )
    detail = client.get(reverse("cases:detail", kwargs={"case_id": case.pk})).content.decode()
    assert "Possible vaginismus." in detail and "complete" in detail


def test_referral_loop_through_the_pages(client, cast):
    case = cast.couple_case
    login(client, cast.therapist_a)
    new = reverse("pathway:referral_new", kwargs={"case_id": case.pk})
    response = client.post(new, {"client": case.partner_a_id, "urgency": "soon", "reason": ""})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Choose the specialist." in body and "Write the reason for the referral." in body
    urologist = SpecialistType.objects.get(slug="urologist")
    response = client.post(
        new,
        {"client": case.partner_a_id, "specialist_type": urologist.pk, "urgency": "soon", "reason": "Check."},
    )
    assert response.status_code == 302
    referral = Referral.objects.get()
    ids = {"case_id": case.pk, "referral_id": referral.pk}
    result = reverse("pathway:referral_result", kwargs=ids)
    response = client.post(result, {"finding": "", "physical_cause": "ruled_out"})
    # Compared unescaped: the form's errors are escaped by Jinja2 (&#39;), the rest by Django (&#x27;).
    shown = html.unescape(response.content.decode())
    assert response.status_code == 400 and "Write the specialist's finding." in shown
    client.post(reverse("pathway:referral_appointment", kwargs=ids), {"appointment_on": "2026-12-03"})
    client.post(result, {"finding": "Normal Doppler study.", "physical_cause": "ruled_out"})
    referral.refresh_from_db()
    assert referral.status == "result_received" and referral.appointment_on == dt.date(2026, 12, 3)
    detail = client.get(reverse("cases:detail", kwargs={"case_id": case.pk})).content.decode()
    assert "Physical cause ruled out: Normal Doppler study." in detail


def test_referral_letter_holds_only_what_the_referral_needs(client, cast):
    case = cast.couple_case
    Practice.objects.filter(pk=cast.room.location.practice_id).update(phone="+31 20 555 0100")
    Client.objects.filter(pk=case.partner_a_id).update(date_of_birth=dt.date(1984, 5, 17))
    low_desire = PresentingProblem.objects.get(slug="low-desire")
    CaseProblem.objects.create(
        case=case, problem=low_desire, client=case.partner_b, note="Blair's own concern"
    )
    referral = _referral(cast)
    login(client, cast.therapist_a)
    response = client.get(
        reverse("pathway:referral_letter", kwargs={"case_id": case.pk, "referral_id": referral.pk})
    )
    page = response.content.decode()
    for expected in (
        "Alex Partner",
        "17 May 1984",
        "rule out a vascular cause",
        "Tess Assigned",
        "MSc, registered therapist",
        "Harbourview Relationship Clinic",
        "+31 20 555 0100",
        "Urologist",
        "css/letter.css",
    ):
        assert expected in page, expected
    for absent in ("Blair", "Synthetic presenting notes", low_desire.label, "Sam Solo"):
        assert absent not in page, absent
    # The content security policy forbids inline script and style.
    assert "<script" not in page and "<style" not in page and not re.search(r"\sstyle=", page)


def test_plan_versions_on_the_case_page(client, cast):
    case = cast.couple_case
    login(client, cast.therapist_a)
    url = reverse("pathway:plan", kwargs={"case_id": case.pk})
    response = client.post(url, {"format": "standard", "goals": "Less pressure."})
    assert response.status_code == 400 and "one or two sessions a week" in response.content.decode()
    client.post(url, {"format": "intensive", "goals": "Restore intimacy.", "focus_areas": "Sensate focus"})
    client.post(
        url,
        {
            "format": "standard",
            "sessions_per_week": "1",
            "goals": "Restore intimacy.",
            "conjunctive_client": case.partner_b_id,
            "change_note": "Intensive not possible this year.",
        },
    )
    assert list(TreatmentPlan.objects.values_list("version", "format")) == [(2, "standard"), (1, "intensive")]
    detail = client.get(reverse("cases:detail", kwargs={"case_id": case.pk})).content.decode()
    assert "Version 2" in detail and "Earlier versions (1)" in detail and "Version 1" in detail
    assert "conjunctive individual therapy for Blair Partner" in detail


def test_finishing_treatment_shows_the_follow_up_schedule(client, cast):
    case = cast.couple_case
    Case.objects.filter(pk=case.pk).update(phase=Phase.TREATMENT)
    treatment_plan(case, cast.therapist_a)
    login(client, cast.therapist_a)
    url = reverse("pathway:transition", kwargs={"case_id": case.pk, "to_phase": Phase.FOLLOW_UP})
    assert client.post(url, {"follow_up_mode": "phone"}).status_code == 302
    detail = client.get(reverse("cases:detail", kwargs={"case_id": case.pk})).content.decode()
    for label in ("2-week follow-up", "1-month follow-up", "3-month follow-up", "6-month follow-up"):
        assert label in detail
    assert detail.count("Telephone contact") == 4


def test_discharge_summary(client, cast):
    case = cast.couple_case
    full_assessment(case, cast.therapist_a)
    referral = _referral(cast)
    referral_mark_appointment(actor=cast.therapist_a, referral=referral, appointment_on=dt.date(2026, 11, 1))
    referral_record_result(
        actor=cast.therapist_a, referral=referral, finding="No cause found.", physical_cause="ruled_out"
    )
    plan_save(actor=cast.therapist_a, case=case, format="intensive", goals="Closeness.")
    case_transition(actor=cast.therapist_a, case=case, to_phase=Phase.TREATMENT)
    case_transition(actor=cast.therapist_a, case=case, to_phase=Phase.FOLLOW_UP)
    follow_ups_done(case, cast.therapist_a)
    case_transition(actor=cast.therapist_a, case=case, to_phase=Phase.DISCHARGED)
    login(client, cast.therapist_a)
    page = client.get(reverse("pathway:discharge_summary", kwargs={"case_id": case.pk})).content.decode()
    assert "Sessions attended: 3" in page and "Individual assessment: 2" in page
    assert "Physical cause ruled out — No cause found." in page
    assert "Treatment plan (version 1)" in page and "Follow-up" in page
    assert "Discharged" in page


def test_today_shows_overdue_referrals_to_the_case_clinicians_and_director(client, cast):
    with time_machine.travel(timezone.now() - dt.timedelta(days=30)):
        _referral(cast, urgency="urgent")  # due 14 days after: overdue now
    _referral(cast, urgency="routine")  # not yet due
    shown = {}
    for role in ("therapist_a", "cotherapist", "director", "therapist_b", "coordinator"):
        login(client, getattr(cast, role))
        page = client.get(reverse("today")).content.decode()
        shown[role] = page.count("Urologist for Alex")
    assert shown == {"therapist_a": 1, "cotherapist": 1, "director": 1, "therapist_b": 0, "coordinator": 0}


def test_today_shows_follow_ups_due_and_overdue(client, cast):
    case = cast.couple_case
    Case.objects.filter(pk=case.pk).update(phase=Phase.TREATMENT)
    case.refresh_from_db()
    treatment_plan(case, cast.therapist_a)
    with time_machine.travel(timezone.now() - dt.timedelta(days=20)):
        case_transition(actor=cast.therapist_a, case=case, to_phase=Phase.FOLLOW_UP)
    for role, count in (("therapist_a", 1), ("coordinator", 1), ("director", 1), ("therapist_b", 0)):
        login(client, getattr(cast, role))
        page = client.get(reverse("today")).content.decode()
        assert page.count("2-week follow-up") == count, role
        assert ("overdue since" in page) == bool(count)
        assert page.count("2-week follow-up (office visit), <strong>overdue since") == count
        assert "1-month follow-up" not in page  # not due within the week


def test_today_query_count_does_not_grow_with_pathway_rows(client, cast):
    login(client, cast.director)

    def add(n: int) -> None:
        for i in range(n):
            a = Client.objects.create(first_name=f"P{i}", last_name="Many")
            other = Case.objects.create(
                reference=f"M-{Case.objects.count():04d}",
                partner_a=a,
                absent_partner="unwilling",
                therapist=cast.therapist_a,
                phase=Phase.TREATMENT,
                opened_on=dt.date(2026, 1, 1),
            )
            Referral.objects.create(
                case=other,
                client=a,
                specialist_type=SpecialistType.objects.first(),
                reason="x",
                sent_at=timezone.now(),
                due_on=dt.date(2020, 1, 1),
                referred_by=cast.therapist_a,
            )
            FollowUpTask.objects.create(
                case=other,
                label="2-week follow-up",
                mode="visit",
                due_on=dt.date(2020, 1, 1),
                planned_on=dt.date(2020, 1, 1),
                created_at=timezone.now(),
            )

    add(2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("today")).status_code == 200
    add(15)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("today"))
    assert len(many.captured_queries) == len(few.captured_queries)


def test_timeline_in_date_order_with_constant_queries(client, cast):
    case = cast.couple_case
    login(client, cast.therapist_a)
    url = reverse("cases:detail", kwargs={"case_id": case.pk})

    def grow() -> None:
        session(case, AppointmentKind.JOINT_ASSESSMENT, days_ago=40)
        referral = _referral(cast)
        referral_record_result(
            actor=cast.therapist_a, referral=referral, finding="Fine.", physical_cause="ruled_out"
        )
        plan_save(actor=cast.therapist_a, case=case, format="intensive", goals="Closeness.")

    grow()
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for _ in range(5):
        grow()
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)
    timeline = response.context["timeline"]
    assert [e.at for e in timeline] == sorted(e.at for e in timeline)
    assert {e.kind for e in timeline} == {"session", "referral", "plan"}
    assert timeline[0].kind == "session"  # 40 days ago, before everything else
    assert sum(e.kind == "plan" for e in timeline) == 6


def test_coordinator_sees_no_clinical_pathway_content(client, cast):
    case = cast.couple_case
    intake_and_consent(case, cast.therapist_a)
    _referral(cast)
    plan_save(actor=cast.therapist_a, case=case, format="intensive", goals="Secret goals.")
    login(client, cast.coordinator)
    page = client.get(reverse("cases:detail", kwargs={"case_id": case.pk})).content.decode()
    assert "Consent to treatment" in page and "given" in page
    for clinical in ("Urologist", "Secret goals", "Referrals", "Treatment plan", "Intake</dt>", "vascular"):
        assert clinical not in page, clinical


def test_today_lists_assessments_whose_sessions_are_not_booked(client, cast):
    case = cast.couple_case  # in assessment, nothing booked
    login(client, cast.therapist_a)

    def listed() -> bool:
        listed = client.get(reverse("today")).context["pathway"]["assessment_unbooked"]
        return case.pk in [link.pk for link in listed]

    assert listed()
    session(case, AppointmentKind.JOINT_ASSESSMENT)
    session(
        case, AppointmentKind.INDIVIDUAL_ASSESSMENT, for_client=case.partner_a, therapist=cast.therapist_a
    )
    assert listed()
    session(case, AppointmentKind.INDIVIDUAL_ASSESSMENT, status="booked", days_ago=-3)
    assert not listed()
    login(client, cast.therapist_b)
    assert client.get(reverse("today")).context["pathway"]["assessment_unbooked"] == []
    login(client, cast.coordinator)
    assert client.get(reverse("today")).context["pathway"]["assessment_unbooked"] is None


def test_assessment_unbooked_counts_sessions_that_took_place_or_lie_ahead(cast):
    from tandem.pathway.selectors import assessment_unbooked

    solo = cast.solo_case
    solo.phase = Phase.ASSESSMENT
    solo.save(update_fields=["phase"])

    def unbooked() -> list[str]:
        return [c.reference for c in assessment_unbooked(user=cast.director, now=timezone.now())]

    # Oldest opened first; an individual case needs one session of either kind.
    assert unbooked() == ["T-0001", "T-0002"]
    session(solo, AppointmentKind.INDIVIDUAL_ASSESSMENT, status="cancelled", days_ago=-2)
    session(solo, AppointmentKind.INDIVIDUAL_ASSESSMENT, status="booked", days_ago=2)  # booked, passed
    session(solo, AppointmentKind.STANDARD)
    assert unbooked() == ["T-0001", "T-0002"]
    session(solo, AppointmentKind.JOINT_ASSESSMENT, status="booked", days_ago=-2)
    assert unbooked() == ["T-0001"]
    # A couple needs the joint interview and two individual sessions.
    full_assessment(cast.couple_case, cast.therapist_a)
    assert unbooked() == []
    assert [c.reference for c in assessment_unbooked(user=cast.therapist_b, now=timezone.now())] == []
    assert assessment_unbooked(user=cast.coordinator, now=timezone.now()) == []


def test_assessment_unbooked_keeps_the_oldest_up_to_its_limit(cast):
    from tandem.pathway.selectors import assessment_unbooked

    for n in range(3):
        individual_case(
            f"T-01{n}", f"Ola{n}", "Older", phase=Phase.ASSESSMENT, opened_on=dt.date(2026, 1, 3 - n)
        )
    found = assessment_unbooked(user=cast.director, now=timezone.now(), limit=2)
    assert [c.reference for c in found] == ["T-012", "T-011"]
    assert found[0].display_name == "Ola2 Older (individual)"


def test_therapist_says_which_partner_an_individual_session_was_for(client, cast):
    case = cast.couple_case
    appt = session(case, AppointmentKind.INDIVIDUAL_ASSESSMENT, therapist=cast.therapist_a)
    url = reverse("pathway:session_for", kwargs={"case_id": case.pk, "appointment_id": appt.pk})
    login(client, cast.therapist_a)
    assert (
        "partner not said"
        in client.get(reverse("cases:detail", kwargs={"case_id": case.pk})).content.decode()
    )
    both = {case.partner_a_id, case.partner_b_id}
    client.post(url, {"client": ""})
    assert set(appt.attendees.values_list("pk", flat=True)) == both
    assert client.post(url, {"client": case.partner_b_id}).status_code == 302
    assert list(appt.attendees.values_list("pk", flat=True)) == [case.partner_b_id]
    for role in ("coordinator", "therapist_b", "partner_a"):
        login(client, getattr(cast, role))
        assert client.post(url, {"client": case.partner_a_id}).status_code == 404
    assert list(appt.attendees.values_list("pk", flat=True)) == [case.partner_b_id]
