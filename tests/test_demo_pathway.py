"""The demo practice's pathway records: every phase has what it should, and Today has something to show."""

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from tandem.accounts.models import User
from tandem.cases.models import Case, Phase
from tandem.pathway.models import (
    FollowUpTask,
    IntakeRecord,
    Referral,
    TreatmentConsent,
    TreatmentFormat,
    TreatmentPlan,
)
from tandem.pathway.rules import follow_ups_done, referrals_resolved
from tandem.pathway.selectors import intensive_block
from tandem.scheduling.models import Appointment, AppointmentKind
from tests.cast import login

pytestmark = pytest.mark.django_db

AFTER_INTAKE = (Phase.ASSESSMENT, Phase.TREATMENT, Phase.FOLLOW_UP, Phase.DISCHARGED)


@pytest.fixture
def demo(demo_practice, db) -> User:
    # Seeded once for the module (tests/conftest.py); each test's changes are rolled back after it.
    return User.objects.get(username="therapist")


def test_every_phase_has_its_records(demo, client):
    for case in Case.objects.filter(phase__in=AFTER_INTAKE).exclude(therapist=None, team=None):
        partners = {c.pk for c in case.partners}
        assert set(IntakeRecord.objects.filter(case=case).values_list("client_id", flat=True)) == partners
        assert set(TreatmentConsent.objects.filter(case=case).values_list("client_id", flat=True)) == partners
    formats = set(TreatmentPlan.objects.values_list("format", flat=True))
    assert {TreatmentFormat.INTENSIVE, TreatmentFormat.STANDARD} <= formats
    assert TreatmentPlan.objects.filter(version=2).exists()
    intensive_cases = Case.objects.filter(treatment_plans__format=TreatmentFormat.INTENSIVE).distinct()
    assert any(intensive_block(case=case) is not None for case in intensive_cases)
    assert Referral.objects.filter(status="result_received").exists()
    mine = Case.objects.assigned_to(demo)
    assert Referral.objects.overdue().filter(case__in=mine).exists()
    assert any(t.is_overdue for t in FollowUpTask.objects.filter(case__in=mine))
    intake_cases = Case.objects.filter(phase=Phase.INTAKE).exclude(therapist=None, team=None)
    assert IntakeRecord.objects.filter(case__in=intake_cases).exists()
    # (One seed serves several checks: seeding is the slow part.)
    _discharged_cases_meet_the_discharge_rules_and_have_a_summary(client)


def _discharged_cases_meet_the_discharge_rules_and_have_a_summary(client):
    discharged = list(Case.objects.filter(phase=Phase.DISCHARGED).with_people())
    assert discharged
    login(client, User.objects.get(username="director"))
    for case in discharged:
        assert follow_ups_done(case) == [] and referrals_resolved(case) == []
        assert FollowUpTask.objects.filter(case=case).count() == 4
        page = client.get(reverse("pathway:discharge_summary", kwargs={"case_id": case.pk}))
        assert page.status_code == 200 and "Referrals and results" in page.content.decode()


def test_each_couples_individual_assessment_says_whom_it_was_for(demo):
    for case in Case.objects.filter(phase__in=(Phase.TREATMENT, Phase.FOLLOW_UP, Phase.DISCHARGED)).exclude(
        partner_b=None
    ):
        sessions = Appointment.objects.filter(case=case, kind=AppointmentKind.INDIVIDUAL_ASSESSMENT)
        attending = Appointment.attendees.through.objects.filter(appointment__in=sessions)
        assert attending.count() == sessions.count()
        if sessions.count() == 2:
            assert set(attending.values_list("client_id", flat=True)) == {
                case.partner_a_id,
                case.partner_b_id,
            }
    _the_demo_therapists_today_page_has_every_pathway_list(demo)


def _the_demo_therapists_today_page_has_every_pathway_list(demo):
    http = login(HttpClient(), demo)
    page = http.get("/").content.decode()
    assert "Safety answers to review" in page
    assert "No referral is overdue." not in page
    assert "No follow-up is due this week." not in page
    assert "Every case in treatment has a plan." not in page
