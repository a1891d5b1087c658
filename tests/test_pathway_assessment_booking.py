"""Whom an individual assessment session was for is the booking's attendee: there is nothing to say
afterwards, except for a session booked for both partners before bookings named who attends."""

import datetime as dt

import time_machine
from django.urls import reverse
from django.utils import timezone

from tandem.cases.models import Phase
from tandem.lib.time import practice_zone
from tandem.pathway.rules import assessment_gaps
from tandem.pathway.services import case_transition
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentStatus
from tandem.scheduling.services import appointment_book
from tests.cast import Cast, login
from tests.pathway_support import session


def _attend(appointment: Appointment, *clients) -> None:
    appointment.attendees.set(clients)


def _couple_sessions(cast: Cast) -> tuple[Appointment, Appointment]:
    case = cast.couple_case
    session(case, AppointmentKind.JOINT_ASSESSMENT, therapist=cast.therapist_a, days_ago=9)
    first = session(case, AppointmentKind.INDIVIDUAL_ASSESSMENT, therapist=cast.therapist_a, days_ago=6)
    second = session(case, AppointmentKind.INDIVIDUAL_ASSESSMENT, therapist=cast.therapist_a, days_ago=4)
    return first, second


def test_the_attending_partner_counts_with_nothing_said_afterwards(cast):
    case = cast.couple_case
    first, second = _couple_sessions(cast)
    _attend(first, case.partner_a)
    _attend(second, case.partner_b)
    assert assessment_gaps(case) == []
    change = case_transition(actor=cast.therapist_a, case=case, to_phase=Phase.TREATMENT)
    assert change.override_reason == ""


def test_a_session_attended_by_both_partners_says_nothing(cast):
    case = cast.couple_case
    first, second = _couple_sessions(cast)
    _attend(first, case.partner_a)
    _attend(second, *case.partners)
    assert assessment_gaps(case) == ["the individual session for Blair Partner has not taken place"]


def test_a_session_booked_for_the_wrong_partner_counts_once_staff_correct_it(client, cast):
    case = cast.couple_case
    first, second = _couple_sessions(cast)
    _attend(first, case.partner_a)
    _attend(second, *case.partners)
    login(client, cast.therapist_a)
    url = reverse("pathway:session_for", kwargs={"case_id": case.pk, "appointment_id": second.pk})
    assert client.post(url, {"client": case.partner_b_id}).status_code == 302
    assert assessment_gaps(case) == []
    # Asked for a joint session, the page is not found: it has no single attendee.
    joint = Appointment.objects.get(case=case, kind=AppointmentKind.JOINT_ASSESSMENT)
    url = reverse("pathway:session_for", kwargs={"case_id": case.pk, "appointment_id": joint.pk})
    assert client.post(url, {"client": case.partner_b_id}).status_code == 404
    assert joint.attendees.count() == 2


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


def test_case_page_names_the_attending_partner_and_asks_only_when_unknown(client, cast):
    case = cast.couple_case
    first, second = _couple_sessions(cast)
    _attend(first, case.partner_a)
    _attend(second, *case.partners)
    login(client, cast.therapist_a)
    page = client.get(reverse("cases:detail", kwargs={"case_id": case.pk})).content.decode()
    assert "for Alex Partner" in page
    assert page.count("partner not said") == 1
    assert f"/sessions/{second.pk}/for/" in page
    assert f"/sessions/{first.pk}/for/" not in page
