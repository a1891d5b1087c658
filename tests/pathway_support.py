"""Small builders for the pathway tests: attended sessions, complete intakes, consents."""

import datetime as dt

import time_machine
from django.utils import timezone

from tandem.accounts.models import User
from tandem.cases.models import Case, Client
from tandem.lib.time import practice_zone
from tandem.pathway.models import FollowUpTask
from tandem.pathway.services import IntakeDetails, consent_record, followup_complete, intake_save, plan_save
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentStatus

COMPLETE_INTAKE = IntakeDetails(
    details_confirmed=True,
    relationship_history="Together eight years, living together for five.",
    presenting_concerns="We have stopped being close and I miss it.",
    medications="None",
    conditions="None known",
    safety_afraid_of_partner="no",
    safety_pressured_into_sex="no",
    safety_self_harm_thoughts="no",
)


def session(
    case: Case,
    kind: str,
    *,
    status: str = AppointmentStatus.ATTENDED,
    days_ago: int = 3,
    therapist: User | None = None,
    for_client: Client | None = None,
) -> Appointment:
    """A session of the case (made directly: booking rules belong to the scheduling services)."""
    start = timezone.now() - dt.timedelta(days=days_ago)
    appt = Appointment.objects.create(
        case=case, kind=kind, starts_at=start, ends_at=start + dt.timedelta(hours=1), status=status
    )
    if therapist is not None:
        appt.therapists.set([therapist])
    # Who attends, as a booking would say: the one partner named, else all the case's clients (an
    # individual session of a couple with nobody named is one booked before bookings said who attends).
    appt.attendees.set([for_client] if for_client is not None else case.partners)
    return appt


def full_assessment(case: Case, therapist: User) -> None:
    session(case, AppointmentKind.JOINT_ASSESSMENT, therapist=therapist, days_ago=10)
    for client in case.partners:
        session(
            case, AppointmentKind.INDIVIDUAL_ASSESSMENT, therapist=therapist, for_client=client, days_ago=5
        )


def intake_and_consent(case: Case, actor: User) -> None:
    for client in case.partners:
        intake_save(actor=actor, case=case, client=client, details=COMPLETE_INTAKE)
        consent_record(actor=actor, case=case, client=client)


def treatment_plan(case: Case, therapist: User, fmt: str = "standard") -> None:
    """A plan, without which treatment cannot finish."""
    plan_save(
        actor=therapist,
        case=case,
        format=fmt,
        sessions_per_week=1 if fmt == "standard" else None,
        goals="Synthetic goals: talk about closeness again.",
    )


def follow_ups_done(case: Case, actor: User, outcome: str = "") -> None:
    """Record each open follow-up as done on the day its window opens (not before: the service refuses)."""
    for task in FollowUpTask.objects.open().filter(case=case):
        noon = dt.datetime.combine(task.opens_on, dt.time(12), tzinfo=practice_zone())
        with time_machine.travel(noon, tick=False):
            followup_complete(actor=actor, task=task, outcome=outcome)
