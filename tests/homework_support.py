"""Shared helpers for the homework and portal tests."""

from tandem.homework.models import Assignment, AssignmentLog, Exercise
from tandem.homework.services import assignment_create, assignment_log
from tests.cast import Cast


def exercise(slug: str) -> Exercise:
    return Exercise.objects.get(slug=slug)


def couple_sensate(cast: Cast, times: int = 3) -> Assignment:
    return assignment_create(
        actor=cast.therapist_a,
        case=cast.couple_case,
        exercise=exercise("sensate-focus-1"),
        times_expected=times,
    )


def individual_for_b(cast: Cast) -> Assignment:
    return assignment_create(
        actor=cast.therapist_a,
        case=cast.couple_case,
        exercise=exercise("arousal-awareness"),
        client=cast.couple_case.partner_b,
        times_expected=2,
        therapist_note="SECRET-B-ASSIGNMENT-NOTE",
    )


def log(cast: Cast, who: str, assignment: Assignment, *, shared: bool, note: str) -> AssignmentLog:
    return assignment_log(
        actor=getattr(cast, who), assignment=assignment, done=True, rating=7, note=note, shared=shared
    )
