"""Assigning, logging and unlocking stages through the services, with their rules and audit events."""

import datetime as dt

import pytest

from tandem.access.services import AccessDenied
from tandem.audit.models import AuditEvent
from tandem.cases.models import Phase
from tandem.homework.models import Assignment, AssignmentLog, AssignmentStatus, Category, Exercise
from tandem.homework.selectors import case_adherence, case_homework
from tandem.homework.services import assignment_create, assignment_log, assignment_unlock_next
from tandem.lib.errors import Refusal
from tandem.lib.time import local_today
from tests.homework_support import couple_sensate, exercise, individual_for_b, log


def test_starter_library_is_loaded_with_linked_sensate_focus_stages(db):
    stages = [exercise(f"sensate-focus-{n}") for n in (1, 2, 3, 4)]
    assert [s.stage for s in stages] == [1, 2, 3, 4]
    assert [s.next_stage for s in stages] == [*stages[1:], None]
    categories = set(Exercise.objects.values_list("category", flat=True))
    assert categories == {c.value for c in Category}
    assert all(len(e.instructions) > 200 for e in Exercise.objects.all())


def test_assigned_therapist_assigns_to_the_couple_and_it_is_audited(cast):
    assignment = couple_sensate(cast)
    assert assignment.for_couple and assignment.status == AssignmentStatus.ACTIVE
    event = AuditEvent.objects.get(action="homework.assign")
    assert event.case_id == cast.couple_case.pk and event.target_id == str(assignment.pk)


@pytest.mark.parametrize("who", ["therapist_b", "coordinator", "partner_a"])
def test_others_cannot_assign(cast, who):
    with pytest.raises(AccessDenied):
        assignment_create(
            actor=getattr(cast, who),
            case=cast.couple_case,
            exercise=exercise("sensate-focus-1"),
            times_expected=3,
        )
    assert not Assignment.objects.exists()


def test_director_and_cotherapist_may_assign(cast):
    for who in (cast.director, cast.cotherapist):
        assignment_create(
            actor=who, case=cast.couple_case, exercise=exercise("appreciation-exchange"), times_expected=5
        )
    assert Assignment.objects.count() == 2


@pytest.mark.parametrize(
    ("slug", "whom", "message"),
    [
        ("sensate-focus-1", "b", "both partners together"),
        ("arousal-awareness", None, "choose which partner"),
        ("sensate-focus-2", None, "assign that first"),
    ],
)
def test_assignment_rules_say_why(cast, slug, whom, message):
    client = cast.couple_case.partner_b if whom == "b" else None
    with pytest.raises(Refusal, match=message):
        assignment_create(
            actor=cast.therapist_a,
            case=cast.couple_case,
            exercise=exercise(slug),
            client=client,
            due_on=None,
            times_expected=2,
        )


def test_needs_times_or_due_date_and_no_past_date(cast):
    with pytest.raises(Refusal, match="due date, a number of times"):
        assignment_create(actor=cast.therapist_a, case=cast.couple_case, exercise=exercise("sensate-focus-1"))
    with pytest.raises(Refusal, match="past"):
        assignment_create(
            actor=cast.therapist_a,
            case=cast.couple_case,
            exercise=exercise("sensate-focus-1"),
            due_on=local_today() - dt.timedelta(days=1),
        )


def test_couple_exercise_cannot_go_to_an_individual_case_and_closed_cases_get_none(cast):
    with pytest.raises(Refusal, match="one client"):
        assignment_create(
            actor=cast.therapist_a,
            case=cast.solo_case,
            exercise=exercise("sensate-focus-1"),
            times_expected=1,
        )
    reading = assignment_create(
        actor=cast.therapist_a,
        case=cast.solo_case,
        exercise=exercise("reading-what-therapy-is"),
        due_on=local_today(),
    )
    assert reading.client == cast.solo_case.partner_a  # the only client of an individual case
    cast.solo_case.phase = Phase.DISCHARGED
    cast.solo_case.save()
    with pytest.raises(Refusal, match="closed"):
        assignment_create(
            actor=cast.therapist_a,
            case=cast.solo_case,
            exercise=exercise("pelvic-floor-relaxation"),
            times_expected=1,
        )


def test_each_partner_logs_and_adherence_counts_per_partner(cast):
    assignment = couple_sensate(cast, times=3)
    log(cast, "partner_a", assignment, shared=True, note="shared note")
    log(cast, "partner_a", assignment, shared=False, note="private note")
    assignment_log(actor=cast.partner_b, assignment=assignment, done=False, obstacles="work ran late")
    items = case_adherence(user=cast.therapist_a, case=cast.couple_case)
    assert items is not None
    rows = {row.client.first_name: row for row in items[0].adherence}
    assert (rows["Alex"].done, rows["Alex"].expected, rows["Alex"].percent) == (2, 3, 67)
    assert (rows["Blair"].done, rows["Blair"].not_done) == (0, 1)
    assert AuditEvent.objects.filter(action="homework.log").count() == 3
    # Therapists see private entries too.
    staff_view = case_homework(case=cast.couple_case)[0]
    assert {entry.note for entry in staff_view.logs} >= {"shared note", "private note"}


def test_adherence_is_hidden_from_those_without_clinical_access(cast):
    couple_sensate(cast)
    assert case_adherence(user=cast.coordinator, case=cast.couple_case) is None
    assert case_adherence(user=cast.therapist_b, case=cast.couple_case) is None


def test_logging_rules(cast):
    assignment = individual_for_b(cast)
    with pytest.raises(AccessDenied, match="not yours"):
        assignment_log(actor=cast.partner_a, assignment=assignment, done=True, rating=5)
    with pytest.raises(AccessDenied, match="clients themselves"):
        assignment_log(actor=cast.therapist_a, assignment=assignment, done=True, rating=5)
    entry = assignment_log(actor=cast.partner_b, assignment=assignment, done=True, rating=5, shared=True)
    assert entry.shared is False  # an individual exercise is never shared with the partner
    with pytest.raises(Refusal, match="0 to 10"):
        assignment_log(actor=cast.partner_b, assignment=assignment, done=True, rating=11)
    assert AssignmentLog.objects.count() == 1


def test_unlock_next_stage_closes_the_current_one_once(cast):
    stage1 = couple_sensate(cast, times=3)
    with pytest.raises(AccessDenied):
        assignment_unlock_next(actor=cast.therapist_b, assignment=stage1)
    stage2 = assignment_unlock_next(actor=cast.therapist_a, assignment=stage1)
    stage1.refresh_from_db()
    assert stage2.exercise.slug == "sensate-focus-2" and stage2.previous == stage1
    assert stage2.times_expected == 3 and stage2.for_couple
    assert stage1.status == AssignmentStatus.COMPLETED and stage1.completed_at is not None
    with pytest.raises(Refusal, match="already"):
        assignment_unlock_next(actor=cast.cotherapist, assignment=Assignment.objects.get(pk=stage1.pk))
    with pytest.raises(Refusal, match="closed this exercise"):
        assignment_log(actor=cast.partner_a, assignment=stage1, done=True, rating=5)
    # With stage 1 on record, stage 2 may also be assigned directly again later.
    assignment_create(
        actor=cast.therapist_a, case=cast.couple_case, exercise=exercise("sensate-focus-2"), times_expected=1
    )
    assert AuditEvent.objects.filter(action="homework.assign").count() == 3


def test_last_stage_has_nothing_to_unlock(cast):
    assignment = couple_sensate(cast)
    for _ in range(3):
        assignment = assignment_unlock_next(actor=cast.therapist_a, assignment=assignment)
    assert assignment.exercise.slug == "sensate-focus-4"
    with pytest.raises(Refusal, match="no next stage"):
        assignment_unlock_next(actor=cast.therapist_a, assignment=assignment)
