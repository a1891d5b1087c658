"""Whom an individual assessment session was for is read from the booking (its client occupancy rows);
the therapist's own note, where made, still wins."""

import datetime as dt

import time_machine
from django.urls import reverse
from django.utils import timezone

from tandem.cases.models import Phase
from tandem.lib.time import practice_zone
from tandem.pathway.models import AssessmentSessionFor
from tandem.pathway.rules import assessment_gaps
from tandem.pathway.services import case_transition
from tandem.scheduling.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Occupancy,
    ResourceKind,
)
from tandem.scheduling.services import appointment_book
from tests.cast import Cast, login
from tests.pathway_support import session


def _hold(appointment: Appointment, *clients) -> None:
    """The client rows a booking for these clients writes."""
    Occupancy.objects.bulk_create(
        Occupancy(
            appointment=appointment,
            resource_kind=ResourceKind.CLIENT,
            resource_id=c.pk,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
        )
        for c in clients
    )


def _couple_sessions(cast: Cast) -> tuple[Appointment, Appointment]:
    case = cast.couple_case
    joint = session(case, AppointmentKind.JOINT_ASSESSMENT, therapist=cast.therapist_a, days_ago=9)
    _hold(joint, *case.partners)
    first = session(case, AppointmentKind.INDIVIDUAL_ASSESSMENT, therapist=cast.therapist_a, days_ago=6)
    second = session(case, AppointmentKind.INDIVIDUAL_ASSESSMENT, therapist=cast.therapist_a, days_ago=4)
    return first, second


def test_the_booked_partner_counts_without_a_note(cast):
    case = cast.couple_case
    first, second = _couple_sessions(cast)
    _hold(first, case.partner_a)
    _hold(second, case.partner_b)
    assert assessment_gaps(case) == []
    assert not AssessmentSessionFor.objects.exists()
    change = case_transition(actor=cast.therapist_a, case=case, to_phase=Phase.TREATMENT)
    assert change.override_reason == ""


def test_a_session_held_by_both_partners_says_nothing(cast):
    case = cast.couple_case
    first, second = _couple_sessions(cast)
    _hold(first, case.partner_a)
    _hold(second, *case.partners)
    assert assessment_gaps(case) == ["the individual session for Blair Partner has not taken place"]


def test_the_therapists_note_wins_over_the_booking(cast):
    case = cast.couple_case
    first, second = _couple_sessions(cast)
    _hold(first, case.partner_a)
    _hold(second, case.partner_a)  # booked for the wrong partner
    assert "Blair Partner" in " ".join(assessment_gaps(case))
    AssessmentSessionFor.objects.create(appointment=second, client=case.partner_b, set_by=cast.therapist_a)
    assert assessment_gaps(case) == []


def test_a_session_the_scheduling_service_booked_for_one_partner(cast):
    case = cast.couple_case
    start = dt.datetime.combine(
        timezone.localdate(timezone.now(), practice_zone()) + dt.timedelta(days=2),
        dt.time(10),
        tzinfo=practice_zone(),
    )
    individual = appointment_book(
        actor=cast.therapist_a,
        case=case,
        kind=AppointmentKind.INDIVIDUAL_ASSESSMENT,
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=50),
        therapists=[cast.therapist_a],
        room=cast.room,
        clients=[case.partner_b],
    )
    Appointment.objects.filter(pk=individual.pk).update(status=AppointmentStatus.ATTENDED)
    with time_machine.travel(start + dt.timedelta(hours=2)):
        gaps = assessment_gaps(case)
    assert "the individual session for Blair Partner has not taken place" not in gaps
    assert "the individual session for Alex Partner has not taken place" in gaps


def test_case_page_names_the_booked_partner_and_asks_only_when_unknown(client, cast):
    case = cast.couple_case
    first, second = _couple_sessions(cast)
    _hold(first, case.partner_a)
    _hold(second, *case.partners)
    login(client, cast.therapist_a)
    page = client.get(reverse("cases:detail", kwargs={"case_id": case.pk})).content.decode()
    assert 'for Alex Partner <span class="muted">(as booked)</span>' in page
    assert page.count("partner not said") == 1
    assert f"/sessions/{second.pk}/for/" in page
    assert f"/sessions/{first.pk}/for/" not in page
