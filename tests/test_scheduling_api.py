"""The booking API: 201 / 400 / 403 / 404 / 409 answers, each with JSON, and nothing changed on refusal."""

import datetime as dt
import json

import pytest
import time_machine
from django.test import Client as HttpClient

from tandem.scheduling.models import Appointment, AppointmentStatus, Occupancy
from tests.cast import login

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
BOOK = "/scheduling/api/appointments/"
INTENSIVE = "/scheduling/api/intensives/"


@pytest.fixture(autouse=True)
def _clock(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    with time_machine.travel(NOW, tick=False):
        yield


def post(client: HttpClient, url: str, body: object) -> tuple[int, dict]:
    raw = body if isinstance(body, str) else json.dumps(body)
    response = client.post(url, raw, content_type="application/json")
    return response.status_code, response.json()


def as_user(user) -> HttpClient:
    return login(HttpClient(), user)


def booking(cast, **changes):
    body = {
        "case": cast.couple_case.pk,
        "kind": "joint_assessment",
        "starts_at": "2027-03-02T10:00:00+01:00",
        "ends_at": "2027-03-02T12:00:00+01:00",
        "therapists": [cast.therapist_a.pk, cast.cotherapist.pk],
        "room": cast.room.pk,
    }
    body.update(changes)
    return body


def test_book_then_clash_then_back_to_back(cast):
    client = as_user(cast.coordinator)
    status, answer = post(client, BOOK, booking(cast))
    assert status == 201 and Appointment.objects.filter(pk=answer["id"]).exists()
    status, answer = post(client, BOOK, booking(cast, starts_at="2027-03-02T11:00:00+01:00"))
    assert status == 409
    assert answer["error"].startswith("Colin Cotherapist already has a session on Tue 2 March 10:00")
    status, _ = post(
        client,
        BOOK,
        booking(cast, starts_at="2027-03-02T12:00:00+01:00", ends_at="2027-03-02T13:00:00+01:00"),
    )
    assert status == 201
    assert Appointment.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ({"case": None}, "'case' is required"),
        ({"starts_at": "tomorrow"}, "ISO 8601"),
        ({"starts_at": "2027-03-02T10:00:00"}, "UTC offset"),
        ({"therapists": "3"}, "list of ids"),
        ({"therapists": [999999]}, "No such therapist"),
        ({"room": 999999}, "No such room"),
        ({"room": None}, "needs a room"),
        ({"ends_at": "2027-03-02T09:00:00+01:00"}, "must end after it starts"),
        ({"kind": "spa_day"}, "Unknown appointment type"),
    ],
)
def test_bad_input_answers_400_with_a_message_and_changes_nothing(cast, body, message):
    status, answer = post(
        as_user(cast.coordinator), BOOK, body if isinstance(body, str) else booking(cast, **body)
    )
    assert status == 400
    assert message in answer["error"]
    assert not Appointment.objects.exists() and not Occupancy.objects.exists()


def test_a_case_the_user_may_not_see_is_404(cast):
    status, answer = post(as_user(cast.therapist_b), BOOK, booking(cast))
    assert (status, answer) == (404, {"error": "Not found."})
    status, _ = post(as_user(cast.therapist_b), BOOK, booking(cast, case=99999))
    assert status == 404
    assert not Appointment.objects.exists()


def test_clients_get_404(cast):
    status, _ = post(as_user(cast.partner_a), BOOK, booking(cast))
    assert status == 404


def test_only_post_and_csrf_is_enforced(cast):
    client = as_user(cast.coordinator)
    assert client.get(BOOK).status_code == 405
    strict = login(HttpClient(enforce_csrf_checks=True), cast.coordinator)
    response = strict.post(BOOK, json.dumps(booking(cast)), content_type="application/json")
    assert response.status_code == 403
    assert not Appointment.objects.exists()


def test_intensive_endpoint_books_a_block_or_names_the_clash(cast):
    client = as_user(cast.coordinator)
    body = {
        "case": cast.couple_case.pk,
        "team": cast.couple_case.team_id,
        "room": cast.room.pk,
        "first_day": "2027-03-22",
        "start_time": "09:00",
    }
    status, answer = post(client, INTENSIVE, body)
    assert status == 201 and len(answer["appointments"]) == 10
    status, answer = post(client, INTENSIVE, {**body, "first_day": "2027-03-29", "start_time": "10:00"})
    assert status == 409 and "already has a session on Mon 29 March 09:00" in answer["error"]
    status, answer = post(client, INTENSIVE, {**body, "minutes": 180})
    assert status == 400 and "at most 120 minutes" in answer["error"]
    status, answer = post(client, INTENSIVE, {**body, "first_day": "22 March"})
    assert status == 400 and "YYYY-MM-DD" in answer["error"]
    assert Appointment.objects.count() == 10


def test_move_and_cancel_endpoints(cast):
    client = as_user(cast.therapist_a)
    _, answer = post(client, BOOK, booking(cast))
    pk = answer["id"]
    move = f"/scheduling/api/appointments/{pk}/move/"
    status, answer = post(
        client, move, {"starts_at": "2027-03-03T10:00:00+01:00", "ends_at": "2027-03-03T11:00:00+01:00"}
    )
    assert status == 400 and "reason" in answer["error"]
    status, _ = post(
        client,
        move,
        {
            "starts_at": "2027-03-03T10:00:00+01:00",
            "ends_at": "2027-03-03T11:00:00+01:00",
            "reason": "Asked.",
        },
    )
    assert status == 200
    status, _ = post(as_user(cast.therapist_b), f"/scheduling/api/appointments/{pk}/cancel/", {"reason": "x"})
    assert status == 404
    status, answer = post(client, f"/scheduling/api/appointments/{pk}/cancel/", {"reason": "Unwell."})
    assert (status, answer) == (200, {"id": pk, "late": False})
    assert Appointment.objects.get(pk=pk).status == AppointmentStatus.CANCELLED
