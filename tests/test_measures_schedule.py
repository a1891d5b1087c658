"""The measurement schedule: which questionnaires each client owes, from the case's history and policy."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from tandem.cases.models import (
    AbsentPartner,
    Case,
    CaseProblem,
    Client,
    Phase,
    PhaseChange,
    PresentingProblem,
)
from tandem.lib.time import local_today
from tandem.measures import policy
from tandem.measures.loader import load_instruments
from tandem.measures.models import MeasureRequest
from tandem.measures.schedule import measures_schedule_for_case
from tandem.pathway.models import FollowUpTask, TreatmentFormat, TreatmentPlan
from tandem.pathway.services import case_transition
from tandem.scheduling.models import AppointmentKind, AppointmentStatus
from tests.measures_support import PHQ9_CALM, record
from tests.pathway_support import session


@pytest.fixture
def library(db):
    load_instruments()


def wanted(case: Case, **filters) -> set[tuple[str, str, str]]:
    rows = MeasureRequest.objects.filter(case=case, **filters).select_related("client", "instrument")
    return {(r.client.first_name, r.instrument.code, r.occasion) for r in rows}


def open_of(case: Case) -> set[tuple[str, str, str]]:
    return wanted(case, completed_at__isnull=True, cancelled_at__isnull=True)


def plan(case: Case, fmt: str, by) -> None:
    TreatmentPlan.objects.create(
        case=case,
        version=1,
        format=fmt,
        sessions_per_week=1 if fmt == TreatmentFormat.STANDARD else None,
        goals="Synthetic goals.",
        created_at=timezone.now(),
        created_by=by,
    )


def test_baseline_at_intake_for_both_partners(cast, library):
    case = cast.couple_case  # in assessment since 1 Sep 2026, no phase rows: intake counts from opening
    assert measures_schedule_for_case(case.pk) == 6
    assert open_of(case) == {
        (name, code, "intake") for name in ("Alex", "Blair") for code in ("CSI16", "PHQ9", "GAD7")
    }
    assert set(MeasureRequest.objects.filter(case=case).values_list("due_on", flat=True)) == {case.opened_on}
    assert set(MeasureRequest.objects.filter(case=case).values_list("reason", flat=True)) == {
        "Baseline at intake"
    }


def test_scheduling_is_idempotent(cast, library):
    case = cast.couple_case
    measures_schedule_for_case(case.pk)
    assert measures_schedule_for_case(case.pk) == 0
    assert MeasureRequest.objects.filter(case=case).count() == 6


def test_nothing_before_intake_and_nothing_without_a_library(cast, db):
    case = cast.couple_case
    assert measures_schedule_for_case(case.pk) == 0  # the library is not loaded
    load_instruments()
    Case.objects.filter(pk=case.pk).update(phase=Phase.CONSULTATION)
    assert measures_schedule_for_case(case.pk) == 0
    assert not MeasureRequest.objects.exists()


def test_sexual_function_instruments_follow_the_presenting_problems(cast, library):
    case = cast.couple_case
    problem = {p.slug: p for p in PresentingProblem.objects.all()}
    CaseProblem.objects.create(case=case, problem=problem["erectile-disorder"], client=case.partner_a)
    CaseProblem.objects.create(case=case, problem=problem["premature-ejaculation"], client=case.partner_a)
    CaseProblem.objects.create(case=case, problem=problem["vaginismus"], client=case.partner_b)
    # Unnamed on a couple case, or gender-neutral: nothing automatic.
    CaseProblem.objects.create(case=case, problem=problem["sexual-pain"])
    CaseProblem.objects.create(case=case, problem=problem["low-desire"], client=case.partner_b)
    measures_schedule_for_case(case.pk)
    sexual = {(n, c) for n, c, _o in open_of(case) if c not in ("CSI16", "PHQ9", "GAD7")}
    assert sexual == {("Alex", "IIEF5"), ("Alex", "PEDT"), ("Blair", "FSFI"), ("Blair", "FSDSR")}


def test_individual_case_without_partner_gets_no_couple_measure(cast, library):
    solo = cast.solo_case
    problem = PresentingProblem.objects.get(slug="female-orgasmic-disorder")
    CaseProblem.objects.create(case=solo, problem=problem)  # unnamed: the one client of an individual case
    Case.objects.filter(pk=solo.pk).update(absent_partner=AbsentPartner.NO_PARTNER)
    measures_schedule_for_case(solo.pk)
    assert {c for _n, c, _o in open_of(solo)} == {"PHQ9", "GAD7", "FSFI", "FSDSR"}


def test_standard_format_every_n_sessions_and_later_occasions_supersede(cast, library):
    case = cast.couple_case
    PhaseChange.objects.create(
        case=case,
        from_phase=Phase.ASSESSMENT,
        to_phase=Phase.TREATMENT,
        at=timezone.now() - dt.timedelta(days=60),
    )
    Case.objects.filter(pk=case.pk).update(phase=Phase.TREATMENT)
    plan(case, TreatmentFormat.STANDARD, cast.therapist_a)
    every = policy.SESSIONS_BETWEEN_MEASURES
    for n in range(every * 2 + 1):
        session(case, AppointmentKind.STANDARD, days_ago=50 - n)
    session(case, AppointmentKind.STANDARD, days_ago=2, status=AppointmentStatus.CANCELLED)
    measures_schedule_for_case(case.pk)
    occasions = {o for _n, _c, o in wanted(case)}
    assert occasions == {"intake", "assessment_end", f"session:{every}", f"session:{every * 2}"}
    # Only the latest due occasion per client and questionnaire is still open.
    assert {o for _n, _c, o in open_of(case)} == {f"session:{every * 2}"}
    assert {c for _n, c, _o in open_of(case)} == {"CSI16", "PHQ9", "GAD7"}
    superseded = MeasureRequest.objects.filter(case=case, occasion="intake").first()
    assert superseded is not None and superseded.cancelled_reason.startswith("A later occasion")


def test_intensive_daily_brief_check_and_full_set_at_block_end(cast, library, settings):
    case = cast.couple_case
    Case.objects.filter(pk=case.pk).update(phase=Phase.TREATMENT)
    plan(case, TreatmentFormat.INTENSIVE, cast.therapist_a)
    for days_ago in (3, 2, 1):
        session(case, AppointmentKind.INTENSIVE, days_ago=days_ago)
    session(case, AppointmentKind.INTENSIVE, days_ago=-1, status=AppointmentStatus.BOOKED)
    measures_schedule_for_case(case.pk)
    brief = wanted(case, instrument__code="CSI4")
    assert len(brief) == 6  # three attended days, both partners
    end = MeasureRequest.objects.filter(case=case, occasion="intensive_end")
    assert {r.instrument.code for r in end} == {"CSI16", "PHQ9", "GAD7"}
    assert {r.due_on for r in end} == {local_today() + dt.timedelta(days=1)}
    assert all(r.is_open for r in end)  # not yet due, so nothing supersedes it


def test_follow_ups_ask_again_and_move_with_the_task(cast, library):
    case = cast.couple_case
    Case.objects.filter(pk=case.pk).update(phase=Phase.FOLLOW_UP)
    task = FollowUpTask.objects.create(
        case=case,
        label="1-month follow-up",
        mode="phone",
        due_on=local_today() + dt.timedelta(days=10),
        planned_on=local_today() + dt.timedelta(days=10),
        created_at=timezone.now(),
    )
    measures_schedule_for_case(case.pk)
    key = f"follow_up:{task.pk}"
    assert MeasureRequest.objects.filter(case=case, occasion=key).count() == 6
    FollowUpTask.objects.filter(pk=task.pk).update(due_on=local_today() + dt.timedelta(days=20))
    measures_schedule_for_case(case.pk)
    assert set(MeasureRequest.objects.filter(case=case, occasion=key).values_list("due_on", flat=True)) == {
        local_today() + dt.timedelta(days=20)
    }


def test_closing_the_case_cancels_what_is_open(cast, library):
    case = cast.couple_case
    measures_schedule_for_case(case.pk)
    Case.objects.filter(pk=case.pk).update(phase=Phase.DISCHARGED)
    measures_schedule_for_case(case.pk)
    assert not open_of(case)


def test_a_response_completes_the_request(cast, library):
    case = cast.couple_case
    measures_schedule_for_case(case.pk)
    response = record(cast.therapist_a, case, case.partner_a, "PHQ9", PHQ9_CALM)
    done = MeasureRequest.objects.get(case=case, client=case.partner_a, instrument__code="PHQ9")
    assert done.response == response and done.completed_at is not None
    assert ("Blair", "PHQ9", "intake") in open_of(case)


def test_a_phase_change_through_the_pathway_schedules_after_commit(
    cast, library, django_capture_on_commit_callbacks
):
    case = cast.couple_case
    Case.objects.filter(pk=case.pk).update(phase=Phase.ASSESSMENT)
    case.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        case_transition(
            actor=cast.therapist_a,
            case=case,
            to_phase=Phase.TREATMENT,
            reason="Assessment complete.",
            override_reason="The assessment sessions were held before the practice used Tandem.",
        )
        # Nothing is scheduled before the transaction commits.
        assert not MeasureRequest.objects.filter(case=case).exists()
    assert {o for _n, _c, o in wanted(case)} >= {"assessment_end"}
    assert "assessment_end" in {o for _n, _c, o in open_of(case)}


def test_the_command_schedules_every_case_in_care(cast, library, capsys):
    stranger = Client.objects.create(first_name="Ola", last_name="Closed")
    Case.objects.create(
        reference="T-0099",
        partner_a=stranger,
        absent_partner=AbsentPartner.UNAVAILABLE,
        phase=Phase.CLOSED,
        opened_on=dt.date(2026, 1, 1),
    )
    call_command("measures_schedule")
    assert "9 questionnaire request(s) created" in capsys.readouterr().out  # 6 couple + 3 solo
    assert not MeasureRequest.objects.filter(case__reference="T-0099").exists()
