"""Writes to homework: assigning, logging and unlocking the next stage. Each is one audited transaction."""

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from tandem.access.clinical import can_assign_homework
from tandem.access.services import AccessDenied
from tandem.accounts.models import Role, User
from tandem.audit.services import audit_record
from tandem.cases.models import OPEN_PHASES, Case, Client
from tandem.homework.models import (
    Assignment,
    AssignmentLog,
    AssignmentStatus,
    Audience,
    Exercise,
)
from tandem.lib.errors import Refusal
from tandem.lib.time import local_today


def _check_target(*, case: Case, exercise: Exercise, client: Client | None) -> Client | None:
    if client is not None and client.pk not in (case.partner_a_id, case.partner_b_id):
        raise Refusal("That person is not a partner in this case.")
    if not case.is_couple:
        if exercise.audience == Audience.COUPLE:
            raise Refusal("This exercise is for a couple; this case has one client.")
        return case.partner_a
    if exercise.audience == Audience.COUPLE and client is not None:
        raise Refusal("This exercise is done by both partners together: assign it to the couple.")
    if exercise.audience == Audience.INDIVIDUAL and client is None:
        raise Refusal("This exercise is done alone: choose which partner it is for.")
    return client


def _check_plan(*, times_expected: int | None, due_on: dt.date | None) -> None:
    if times_expected is None and due_on is None:
        raise Refusal("Give a due date, a number of times, or both.")
    if times_expected is not None and not 1 <= times_expected <= 50:
        raise Refusal("The number of times is between 1 and 50.")
    if due_on is not None and due_on < local_today():
        raise Refusal("The due date cannot be in the past.")


def _create(
    *,
    actor: User,
    case: Case,
    exercise: Exercise,
    client: Client | None,
    times_expected: int | None,
    due_on: dt.date | None,
    therapist_note: str,
    previous: Assignment | None,
) -> Assignment:
    assignment = Assignment.objects.create(
        case=case,
        exercise=exercise,
        client=client,
        times_expected=times_expected,
        due_on=due_on,
        therapist_note=therapist_note.strip(),
        previous=previous,
        assigned_by=actor,
        assigned_at=timezone.now(),
    )
    audit_record(
        actor=actor,
        action="homework.assign",
        target=assignment,
        case=case,
        detail={
            "exercise": exercise.slug,
            "client": client.pk if client else None,
            "previous": previous.pk if previous else None,
        },
    )
    return assignment


def assignment_create(
    *,
    actor: User,
    case: Case,
    exercise: Exercise,
    client: Client | None = None,
    times_expected: int | None = None,
    due_on: dt.date | None = None,
    therapist_note: str = "",
) -> Assignment:
    """Give an exercise to the couple (client None) or to one partner, until a date and/or n times."""
    if not can_assign_homework(actor, case):
        raise AccessDenied("Only the case's therapists or the clinical director can assign homework.")
    if case.phase not in OPEN_PHASES:
        raise Refusal("This case is closed: no new homework can be assigned.")
    if not exercise.active:
        raise Refusal("This exercise has been retired from the library.")
    client = _check_target(case=case, exercise=exercise, client=client)
    _check_plan(times_expected=times_expected, due_on=due_on)
    earlier = getattr(exercise, "previous_stage", None)
    if (
        earlier is not None
        and not Assignment.objects.filter(case=case, exercise=earlier, client=client).exists()
    ):
        raise Refusal(
            f"“{exercise.title}” follows “{earlier.title}”: assign that first, "
            "then unlock the next stage when they are ready."
        )
    with transaction.atomic():
        return _create(
            actor=actor,
            case=case,
            exercise=exercise,
            client=client,
            times_expected=times_expected,
            due_on=due_on,
            therapist_note=therapist_note,
            previous=None,
        )


def assignment_unlock_next(
    *,
    actor: User,
    assignment: Assignment,
    times_expected: int | None = None,
    due_on: dt.date | None = None,
    therapist_note: str = "",
) -> Assignment:
    """The couple is ready: close this stage and assign the next one to the same people."""
    case = assignment.case
    if not can_assign_homework(actor, case):
        raise AccessDenied("Only the case's therapists or the clinical director can unlock the next stage.")
    next_exercise = assignment.exercise.next_stage
    if next_exercise is None:
        raise Refusal("This exercise has no next stage.")
    if not next_exercise.active:
        raise Refusal("The next stage has been retired from the library.")
    if times_expected is None and due_on is None:
        # By default the next stage asks what the current one asked.
        times_expected = assignment.times_expected or next_exercise.times_per_week or 1
    _check_plan(times_expected=times_expected, due_on=due_on)
    with transaction.atomic():
        # Locked, so two clicks (or two therapists of a team) cannot unlock the next stage twice.
        current = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if current.status != AssignmentStatus.ACTIVE or Assignment.objects.filter(previous=current).exists():
            raise Refusal("The next stage has already been unlocked.")
        current.status = AssignmentStatus.COMPLETED
        current.completed_at = timezone.now()
        current.save(update_fields=["status", "completed_at"])
        assignment.status, assignment.completed_at = current.status, current.completed_at
        return _create(
            actor=actor,
            case=case,
            exercise=next_exercise,
            client=current.client,
            times_expected=times_expected,
            due_on=due_on,
            therapist_note=therapist_note,
            previous=current,
        )


def client_of(user: Any, case: Case) -> Client | None:
    """The partner of this case who logs in as `user`, if any."""
    for client in case.partners:
        if client.user_id is not None and client.user_id == user.pk:
            return client
    return None


def assignment_log(
    *,
    actor: User,
    assignment: Assignment,
    done: bool,
    rating: int | None = None,
    obstacles: str = "",
    note: str = "",
    shared: bool = False,
) -> AssignmentLog:
    """A partner records one time they did (or did not manage) an assignment. Only the client themself."""
    if actor.role != Role.CLIENT or not actor.is_active:
        raise AccessDenied("Only the clients themselves log their homework.")
    client = client_of(actor, assignment.case)
    if client is None or (assignment.client_id is not None and assignment.client_id != client.pk):
        raise AccessDenied("This exercise is not yours to log.")
    if assignment.status != AssignmentStatus.ACTIVE:
        raise Refusal("Your therapist has closed this exercise, so it cannot be logged any more.")
    if rating is not None and not 0 <= rating <= 10:
        raise Refusal("Choose how it went on a scale from 0 to 10.")
    if not done:
        rating = None
    # Sharing means sharing with the partner: an individual exercise has nobody to share with.
    shared = shared and assignment.for_couple and assignment.case.is_couple
    with transaction.atomic():
        entry = AssignmentLog.objects.create(
            assignment=assignment,
            client=client,
            author=actor,
            logged_at=timezone.now(),
            done=done,
            rating=rating,
            obstacles=obstacles.strip(),
            note=note.strip(),
            shared=shared,
        )
        audit_record(
            actor=actor,
            action="homework.log",
            target=entry,
            case=assignment.case,
            detail={"assignment": assignment.pk, "done": done, "shared": shared},
        )
    return entry
