"""Intake, consent, findings, referrals, treatment plans and follow-up through their services."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, transaction

from tandem.access.services import AccessDenied
from tandem.audit.models import AuditEvent
from tandem.cases.models import Case, Client, Phase
from tandem.lib.errors import Refusal
from tandem.pathway.models import (
    FollowUpTask,
    IntakeRecord,
    Referral,
    ReferralStatus,
    SpecialistType,
    TreatmentConsent,
    TreatmentPlan,
)
from tandem.pathway.policy import CONSENT_VERSION
from tandem.pathway.rules import assessment_gaps
from tandem.pathway.services import (
    IntakeDetails,
    case_transition,
    consent_record,
    findings_save,
    followup_complete,
    followup_reschedule,
    intake_save,
    plan_save,
    referral_create,
    referral_mark_appointment,
    referral_record_result,
)
from tandem.scheduling.models import AppointmentKind
from tandem.scheduling.services import BookingInvalid, appointment_set_attendee
from tests.pathway_support import COMPLETE_INTAKE, session, treatment_plan

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def _referral(cast, urgency: str = "routine") -> Referral:
    case = cast.couple_case
    return referral_create(
        actor=cast.therapist_a,
        case=case,
        client=case.partner_a,
        specialist_type=SpecialistType.objects.get(slug="urologist"),
        reason="Erectile difficulty since a change of medication; rule out a physical cause.",
        urgency=urgency,
    )


def test_intake_is_kept_per_partner_and_only_clinicians_write_it(cast):
    case = cast.couple_case
    record = intake_save(actor=cast.therapist_a, case=case, client=case.partner_a, details=COMPLETE_INTAKE)
    assert record.is_complete and not record.safety_flagged and record.entered_by == "staff"
    partial = IntakeDetails(presenting_concerns="Pain during sex.", safety_pressured_into_sex="unsure")
    other = intake_save(actor=cast.director, case=case, client=case.partner_b, details=partial)
    assert not other.is_complete and other.safety_flagged
    assert IntakeRecord.objects.filter(case=case).count() == 2
    again = intake_save(actor=cast.therapist_a, case=case, client=case.partner_b, details=COMPLETE_INTAKE)
    assert again.pk == other.pk and again.is_complete
    actions = list(
        AuditEvent.objects.filter(action__startswith="intake.")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["intake.create", "intake.create", "intake.update"]
    for role in ("coordinator", "therapist_b", "partner_a"):
        with pytest.raises(AccessDenied):
            intake_save(actor=getattr(cast, role), case=case, client=case.partner_a, details=COMPLETE_INTAKE)
    stranger = Client.objects.create(first_name="Not", last_name="Here")
    with pytest.raises(Refusal, match="not a partner in this case"):
        intake_save(actor=cast.therapist_a, case=case, client=stranger, details=COMPLETE_INTAKE)


def test_consent_records_who_when_and_which_version(cast):
    case = cast.couple_case
    consent = consent_record(actor=cast.coordinator, case=case, client=case.partner_b)
    assert (consent.version, consent.recorded_by, consent.client) == (
        CONSENT_VERSION,
        cast.coordinator,
        case.partner_b,
    )
    assert AuditEvent.objects.get(action="consent.treatment").detail == {
        "client": case.partner_b_id,
        "version": CONSENT_VERSION,
    }
    with pytest.raises(AccessDenied):
        consent_record(actor=cast.therapist_b, case=case, client=case.partner_a)
    with pytest.raises(Refusal, match="which version"):
        consent_record(actor=cast.therapist_a, case=case, client=case.partner_a, version=" ")
    assert TreatmentConsent.objects.count() == 1


def test_individual_session_counts_for_the_partner_staff_say_attends(cast):
    case = cast.couple_case
    appt = session(case, AppointmentKind.INDIVIDUAL_ASSESSMENT)  # booked for both: says nothing
    assert "Blair Partner" in " ".join(assessment_gaps(case))
    appointment_set_attendee(actor=cast.therapist_a, appointment=appt, client=case.partner_b)
    assert "Blair Partner" not in " ".join(assessment_gaps(case))
    assert "Alex Partner" in " ".join(assessment_gaps(case))
    joint = session(case, AppointmentKind.JOINT_ASSESSMENT)
    with pytest.raises(BookingInvalid, match="Only an individual session"):
        appointment_set_attendee(actor=cast.therapist_a, appointment=joint, client=case.partner_a)
    with pytest.raises(AccessDenied):
        appointment_set_attendee(actor=cast.therapist_b, appointment=appt, client=case.partner_a)


def test_findings_per_partner(cast):
    case = cast.couple_case
    findings_save(
        actor=cast.therapist_a,
        case=case,
        client=case.partner_a,
        psychological="Performance anxiety.",
        physical="Possible medication side effect.",
    )
    updated = findings_save(
        actor=cast.cotherapist, case=case, client=case.partner_a, psychological="Anxiety.", physical=""
    )
    assert case.assessment_findings.get() == updated and updated.updated_by == cast.cotherapist
    with pytest.raises(AccessDenied):
        findings_save(
            actor=cast.coordinator, case=case, client=case.partner_a, psychological="x", physical=""
        )


@pytest.mark.parametrize(("urgency", "days"), [("urgent", 14), ("soon", 28), ("routine", 56)])
def test_referral_due_date_follows_urgency_in_local_days(cast, urgency, days):
    # 23:30 UTC on 31 Dec is already 1 January in Amsterdam: the due date counts from the local day.
    with time_machine.travel(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC), tick=False):
        referral = _referral(cast, urgency)
    assert referral.status == ReferralStatus.SENT
    assert referral.due_on == dt.date(2027, 1, 1) + dt.timedelta(days=days)


def test_referral_loop_sent_appointment_result(cast):
    referral = _referral(cast)
    with pytest.raises(Refusal, match="cannot be closed without its result"):
        referral_record_result(
            actor=cast.therapist_a, referral=referral, finding=" ", physical_cause="ruled_out"
        )
    with pytest.raises(Refusal, match="ruled in, ruled out"):
        referral_record_result(
            actor=cast.therapist_a, referral=referral, finding="Normal.", physical_cause=""
        )
    referral_mark_appointment(actor=cast.therapist_a, referral=referral, appointment_on=dt.date(2026, 12, 1))
    assert referral.status == ReferralStatus.APPOINTMENT_MADE
    with pytest.raises(Refusal, match="waiting for one"):
        referral_mark_appointment(
            actor=cast.therapist_a, referral=referral, appointment_on=dt.date(2026, 12, 2)
        )
    referral_record_result(
        actor=cast.cotherapist,
        referral=referral,
        finding="Normal vascular study.",
        physical_cause="ruled_out",
    )
    referral.refresh_from_db()
    assert (referral.status, referral.physical_cause) == (ReferralStatus.RESULT_RECEIVED, "ruled_out")
    with pytest.raises(Refusal, match="already recorded"):
        referral_record_result(
            actor=cast.therapist_a, referral=referral, finding="x", physical_cause="ruled_in"
        )
    actions = list(
        AuditEvent.objects.filter(action__startswith="referral.")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["referral.create", "referral.appointment_made", "referral.result"]


def test_referral_result_without_finding_is_impossible_in_the_database(cast):
    referral = _referral(cast)
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.filter(pk=referral.pk).update(status=ReferralStatus.RESULT_RECEIVED)


def test_referral_refusals(cast):
    case = cast.couple_case
    urologist = SpecialistType.objects.get(slug="urologist")
    for role in ("coordinator", "therapist_b"):
        with pytest.raises(AccessDenied):
            referral_create(
                actor=getattr(cast, role),
                case=case,
                client=case.partner_a,
                specialist_type=urologist,
                reason="x",
            )
    with pytest.raises(Refusal, match="reason for the referral"):
        referral_create(
            actor=cast.therapist_a, case=case, client=case.partner_a, specialist_type=urologist, reason=""
        )
    urologist.active = False
    urologist.save()
    with pytest.raises(Refusal, match="no longer refers"):
        referral_create(
            actor=cast.therapist_a, case=case, client=case.partner_a, specialist_type=urologist, reason="x"
        )


def test_specialist_list_is_seeded_with_the_adjunct(db):
    slugs = list(SpecialistType.objects.values_list("slug", flat=True))
    assert slugs[:3] == ["urologist", "gynaecologist", "endocrinologist"]
    assert SpecialistType.objects.get(slug="anxiety-phobia-treatment").adjunct
    assert {"pelvic-floor-physiotherapist", "psychiatrist", "other"} <= set(slugs)


def test_treatment_plan_is_versioned(cast):
    case = cast.couple_case
    first = plan_save(actor=cast.therapist_a, case=case, format="intensive", goals="Restore intimacy.")
    second = plan_save(
        actor=cast.cotherapist,
        case=case,
        format="standard",
        sessions_per_week=2,
        goals="Restore intimacy.",
        focus_areas="Sensate focus",
        conjunctive_client=case.partner_b,
        change_note="Intensive not possible: work commitments.",
    )
    assert (first.version, second.version) == (1, 2)
    first.refresh_from_db()
    assert first.format == "intensive" and first.sessions_per_week is None  # kept as it was
    assert list(TreatmentPlan.objects.filter(case=case).values_list("version", flat=True)) == [2, 1]
    assert AuditEvent.objects.filter(action="plan.version").count() == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"format": "standard", "goals": "x"}, "one or two sessions a week"),
        ({"format": "standard", "goals": "x", "sessions_per_week": 3}, "one or two sessions a week"),
        ({"format": "intensive", "goals": " "}, "at least one goal"),
        ({"format": "weekly", "goals": "x"}, "Choose the treatment format"),
    ],
)
def test_treatment_plan_refusals(cast, kwargs, message):
    with pytest.raises(Refusal, match=message):
        plan_save(actor=cast.therapist_a, case=cast.couple_case, **kwargs)
    assert not TreatmentPlan.objects.exists()


def test_individual_case_plan_rules(cast):
    case = cast.solo_case
    with pytest.raises(Refusal, match="An intensive is for a couple"):
        plan_save(actor=cast.therapist_a, case=case, format="intensive", goals="x")
    with pytest.raises(Refusal, match="Conjunctive individual therapy"):
        plan_save(
            actor=cast.therapist_a,
            case=case,
            format="individual",
            goals="x",
            conjunctive_client=case.partner_a,
        )
    with pytest.raises(AccessDenied):
        plan_save(actor=cast.coordinator, case=case, format="individual", goals="x")
    assert plan_save(actor=cast.therapist_a, case=case, format="individual", goals="x").version == 1


def _to_follow_up(cast, when: dt.datetime, mode: str = "visit") -> Case:
    case = cast.couple_case
    Case.objects.filter(pk=case.pk).update(phase=Phase.TREATMENT)
    case.refresh_from_db()
    treatment_plan(case, cast.therapist_a)
    with time_machine.travel(when, tick=False):
        case_transition(actor=cast.therapist_a, case=case, to_phase=Phase.FOLLOW_UP, follow_up_mode=mode)
    return case


def test_follow_up_schedule_follows_the_policy_across_daylight_saving(cast):
    # 00:30 local on Sunday 25 October 2026, the night summer time ends (still 24 October in UTC).
    case = _to_follow_up(cast, dt.datetime(2026, 10, 25, 0, 30, tzinfo=AMSTERDAM), mode="phone")
    tasks = list(FollowUpTask.objects.filter(case=case).order_by("due_on"))
    assert [(t.label, t.due_on, t.mode) for t in tasks] == [
        ("2-week follow-up", dt.date(2026, 11, 8), "phone"),
        ("1-month follow-up", dt.date(2026, 11, 25), "phone"),
        ("3-month follow-up", dt.date(2027, 1, 25), "phone"),
        ("6-month follow-up", dt.date(2027, 4, 25), "phone"),
    ]
    assert all(t.planned_on == t.due_on for t in tasks)


def test_follow_up_months_clamp_to_the_end_of_the_month(cast):
    case = _to_follow_up(cast, dt.datetime(2026, 8, 31, 12, 0, tzinfo=AMSTERDAM))
    due = list(FollowUpTask.objects.filter(case=case).order_by("due_on").values_list("due_on", flat=True))
    assert due == [dt.date(2026, 9, 14), dt.date(2026, 9, 30), dt.date(2026, 11, 30), dt.date(2027, 2, 28)]


def test_follow_up_done_or_rescheduled(cast):
    case = _to_follow_up(cast, dt.datetime(2026, 10, 1, 10, 0, tzinfo=AMSTERDAM))
    first, second = FollowUpTask.objects.filter(case=case).order_by("due_on")[:2]
    with time_machine.travel(dt.datetime(2026, 10, 10, 10, 0, tzinfo=AMSTERDAM), tick=False):
        with pytest.raises(Refusal, match="today or a later day"):
            followup_reschedule(actor=cast.coordinator, task=first, due_on=dt.date(2026, 10, 9))
        followup_reschedule(actor=cast.coordinator, task=first, due_on=dt.date(2026, 10, 20))
    # The 1-month follow-up (due 1 November) may be recorded from 25 October, when its window opens.
    with time_machine.travel(dt.datetime(2026, 10, 25, 10, 0, tzinfo=AMSTERDAM), tick=False):
        with pytest.raises(AccessDenied):
            followup_complete(actor=cast.coordinator, task=second)
        followup_complete(actor=cast.therapist_a, task=second, outcome="Doing well.")
        with pytest.raises(Refusal, match="already done"):
            followup_reschedule(actor=cast.therapist_a, task=second, due_on=dt.date(2026, 12, 1))
    first.refresh_from_db()
    assert (first.due_on, first.planned_on) == (dt.date(2026, 10, 20), dt.date(2026, 10, 15))
    assert second.status == "done" and second.done_by == cast.therapist_a
