"""The client portal: a partner sees their own and the couple's homework, not the other's private entries."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from tandem.audit.models import AuditEvent
from tandem.cases.models import Client
from tandem.homework.models import AssignmentLog
from tandem.homework.services import assignment_create, assignment_unlock_next
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentStatus
from tests.cast import login
from tests.homework_support import couple_sensate, exercise, individual_for_b, log

HOME = "/portal/"


def _assignment_url(assignment) -> str:
    return reverse("portal:assignment", kwargs={"assignment_id": assignment.pk})


@pytest.fixture
def material(cast):
    """Alex's private and shared entries, Blair's private entry and Blair's own individual exercise."""
    couple = couple_sensate(cast)
    log(cast, "partner_a", couple, shared=True, note="A-SHARED-NOTE")
    log(cast, "partner_a", couple, shared=False, note="A-PRIVATE-NOTE")
    log(cast, "partner_b", couple, shared=False, note="B-PRIVATE-NOTE")
    log(cast, "partner_b", couple, shared=True, note="B-SHARED-NOTE")
    alone = individual_for_b(cast)
    log(cast, "partner_b", alone, shared=False, note="B-INDIVIDUAL-ENTRY")
    return couple, alone


def test_portal_home_shows_own_and_shared_only(client, cast, material):
    login(client, cast.partner_a)
    content = client.get(HOME).content.decode()
    assert "Sensate focus, stage 1" in content
    assert "A-SHARED-NOTE" in content and "A-PRIVATE-NOTE" in content and "B-SHARED-NOTE" in content
    for secret in ("B-PRIVATE-NOTE", "B-INDIVIDUAL-ENTRY", "Arousal awareness", "SECRET-B-ASSIGNMENT-NOTE"):
        assert secret not in content
    assert "You have done it 2 of 3 times" in content


def test_partner_b_sees_their_individual_exercise(client, cast, material):
    _, alone = material
    login(client, cast.partner_b)
    content = client.get(HOME).content.decode()
    assert "Arousal awareness" in content and "Just for you" in content
    assert "A-PRIVATE-NOTE" not in content and "A-SHARED-NOTE" in content
    page = client.get(_assignment_url(alone)).content.decode()
    assert "SECRET-B-ASSIGNMENT-NOTE" in page and "B-INDIVIDUAL-ENTRY" in page


def test_guessing_the_partners_individual_exercise_is_not_found_and_audited(client, cast, material):
    _, alone = material
    login(client, cast.partner_a)
    assert client.get(_assignment_url(alone)).status_code == 404
    response = client.post(_assignment_url(alone), {"done": "yes", "rating": "9"})
    assert response.status_code == 404
    assert not AssignmentLog.objects.filter(assignment=alone, client=cast.couple_case.partner_a).exists()
    assert AuditEvent.objects.filter(action="access.denied", detail__object="assignment").count() == 2
    for bad in ("/portal/homework/999999/", "/portal/homework/abc/"):
        assert client.get(bad).status_code == 404


def test_couple_log_page_hides_the_partners_private_entries(client, cast, material):
    couple, _ = material
    login(client, cast.partner_a)
    page = client.get(_assignment_url(couple)).content.decode()
    assert "B-SHARED-NOTE" in page and "B-PRIVATE-NOTE" not in page
    assert "Let my partner see this entry" in page


def test_other_clients_cannot_see_the_couples_homework(client, cast, material, django_user_model):
    couple, _ = material
    stranger = django_user_model.objects.create_user(username="sam", password="x" * 16, role="client")
    solo = cast.solo_case.partner_a
    solo.user = stranger
    solo.save()
    login(client, stranger)
    assert client.get(_assignment_url(couple)).status_code == 404
    assert "Sensate" not in client.get(HOME).content.decode()
    assert Client.objects.filter(user=stranger).count() == 1


def test_partner_logs_from_the_portal(client, cast):
    couple = couple_sensate(cast)
    login(client, cast.partner_b)
    response = client.post(
        _assignment_url(couple),
        {"done": "yes", "rating": "8", "obstacles": "tired", "note": "felt calm", "shared": "on"},
    )
    assert response.status_code == 302 and response["Location"] == HOME
    entry = AssignmentLog.objects.get()
    assert (entry.client, entry.done, entry.rating, entry.shared) == (
        cast.couple_case.partner_b,
        True,
        8,
        True,
    )
    assert entry.author == cast.partner_b


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Say whether you did it."),
        ({"done": "yes"}, "Choose how it went, from 0 to 10."),
        ({"done": "yes", "rating": "12"}, "Choose a number from 0 to 10."),
    ],
)
def test_log_form_says_what_is_missing(client, cast, data, message):
    couple = couple_sensate(cast)
    login(client, cast.partner_a)
    response = client.post(_assignment_url(couple), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AssignmentLog.objects.exists()


def test_closed_exercise_can_be_read_not_logged(client, cast):
    couple = couple_sensate(cast)
    assignment_unlock_next(actor=cast.therapist_a, assignment=couple)
    login(client, cast.partner_a)
    page = client.get(_assignment_url(couple)).content.decode()
    assert "closed this exercise" in page
    response = client.post(_assignment_url(couple), {"done": "yes", "rating": "5"})
    assert response.status_code == 400 and not AssignmentLog.objects.exists()


@pytest.mark.parametrize("role", ["director", "therapist_a", "coordinator"])
def test_staff_cannot_use_the_portal(client, cast, role):
    couple = couple_sensate(cast)
    login(client, getattr(cast, role))
    assert client.get(HOME).status_code == 404
    assert client.post(_assignment_url(couple), {"done": "yes", "rating": "5"}).status_code == 404
    assert not AssignmentLog.objects.exists()


def test_portal_home_lists_upcoming_booked_appointments(client, cast):
    now = timezone.now()
    for offset, status in (
        (2, AppointmentStatus.BOOKED),
        (3, AppointmentStatus.CANCELLED),
        (-2, AppointmentStatus.BOOKED),
    ):
        row = Appointment.objects.create(
            case=cast.couple_case,
            kind=AppointmentKind.STANDARD,
            starts_at=now + dt.timedelta(days=offset),
            ends_at=now + dt.timedelta(days=offset, hours=1),
            status=status,
        )
        row.attendees.set(cast.couple_case.partners)
    login(client, cast.partner_a)
    response = client.get(HOME)
    assert len(response.context["appointments"]) == 1


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(HOME).status_code == 200
    return len(ctx.captured_queries)


def _standard(cast, day: int) -> None:
    now = timezone.now()
    row = Appointment.objects.create(
        case=cast.couple_case,
        kind=AppointmentKind.STANDARD,
        starts_at=now + dt.timedelta(days=day),
        ends_at=now + dt.timedelta(days=day, hours=1),
    )
    row.attendees.set(cast.couple_case.partners)


def test_portal_home_queries_do_not_grow(client, cast):
    login(client, cast.partner_a)
    _standard(cast, 5)
    couple = couple_sensate(cast)
    log(cast, "partner_a", couple, shared=True, note="x")
    few = _queries(client)
    for _ in range(5):
        more = assignment_create(
            actor=cast.therapist_a,
            case=cast.couple_case,
            exercise=exercise("speaker-listener"),
            times_expected=2,
        )
        log(cast, "partner_a", more, shared=False, note="a")
        log(cast, "partner_b", more, shared=True, note="b")
    for day in range(1, 4):
        _standard(cast, day)
    # Constant, whatever the amount of homework. The bound leaves room for the page-read audit event and
    # the measures and consents cards other apps include in the page.
    assert _queries(client) == few <= 26


def _booked(cast, case, days: int = 2, status: str = AppointmentStatus.BOOKED) -> Appointment:
    start = timezone.now() + dt.timedelta(days=days)
    appointment = Appointment.objects.create(
        case=case,
        kind=AppointmentKind.INTENSIVE,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        room=cast.room,
        status=status,
    )
    appointment.attendees.set(case.partners)
    return appointment


def test_add_to_calendar_gives_time_and_place_and_nothing_clinical(client, cast):
    appointment = _booked(cast, cast.couple_case)
    login(client, cast.partner_b)
    assert "Add to my calendar" in client.get(HOME).content.decode()
    response = client.get(reverse("portal:calendar", kwargs={"appointment_id": appointment.pk}))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    event = Calendar.from_ical(response.content).walk("VEVENT")[0]
    assert event.decoded("dtstart") == appointment.starts_at.replace(microsecond=0)
    assert "Canal Street" in str(event.get("location"))
    text = response.content.decode()
    for clinical in ("Intensive", "Tess", "Colin", "T-0001"):
        assert clinical not in text


def test_calendar_of_someone_elses_or_cancelled_appointment_is_not_found(client, cast):
    other = _booked(cast, cast.solo_case)
    cancelled = _booked(cast, cast.couple_case, status=AppointmentStatus.CANCELLED)
    login(client, cast.partner_a)
    for appointment in (other, cancelled):
        url = reverse("portal:calendar", kwargs={"appointment_id": appointment.pk})
        assert client.get(url).status_code == 404
    login(client, cast.therapist_a)
    own = _booked(cast, cast.couple_case, days=3)
    assert client.get(reverse("portal:calendar", kwargs={"appointment_id": own.pk})).status_code == 404
