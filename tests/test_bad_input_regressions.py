"""Each kind of server error the bad-input fuzz test found, pinned as a plain example: the answer is a
page, a form error or a 400 with a message, never a 500, and nothing is written."""

import datetime as dt
import json

import pytest
import time_machine
from django.test import Client as HttpClient

from tandem.planning.models import PlanningRun
from tandem.scheduling.models import Appointment
from tests.cast import login

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _clock(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    with time_machine.travel(NOW, tick=False):
        yield


def as_user(user) -> HttpClient:
    return login(HttpClient(raise_request_exception=False), user)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_calendars_at_the_ends_of_the_calendar_show_this_week(cast, day):
    client = as_user(cast.coordinator)
    for url in (
        "/scheduling/calendar/",
        f"/scheduling/calendar/therapist/{cast.therapist_a.pk}/",
        f"/scheduling/calendar/room/{cast.room.pk}/",
    ):
        response = client.get(url, {"date": day})
        assert response.status_code == 200, url
        assert "2027-01-04" in response.content.decode()


def test_ids_in_unusual_digits_are_not_ids(cast):
    client = as_user(cast.coordinator)
    assert client.get("/scheduling/calendar/", {"show": "room-\u00b2"}).status_code == 200
    assert (
        client.get("/scheduling/calendar/new/", {"therapist": "\u00b2", "room": "\u0663"}).status_code == 200
    )


def test_a_therapist_id_past_64_bits_is_a_form_error(cast):
    client = as_user(cast.coordinator)
    response = client.post(
        "/scheduling/calendar/new/",
        {
            "case": cast.couple_case.reference,
            "kind": "standard",
            "mode": "video",
            "date": "2027-03-02",
            "start": "10:00",
            "therapists": ["9" * 32],
        },
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    ("key", "value"),
    [("starts_at", "9999-12-31T23:59:59-14:00"), ("ends_at", "0001-01-01T00:00:00+14:00")],
)
def test_the_api_refuses_instants_at_the_ends_of_the_calendar(cast, key, value):
    body = {
        "case": cast.couple_case.pk,
        "kind": "joint_assessment",
        "starts_at": "2027-03-02T10:00:00+01:00",
        "ends_at": "2027-03-02T12:00:00+01:00",
        "therapists": [cast.therapist_a.pk, cast.cotherapist.pk],
        "room": cast.room.pk,
        key: value,
    }
    response = as_user(cast.coordinator).post(
        "/scheduling/api/appointments/", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == f"'{key}': Choose a date between 1900 and 2999."
    assert not Appointment.objects.exists()


def test_the_intensive_search_refuses_a_far_day_and_too_many_minutes(cast):
    client = as_user(cast.coordinator)
    url = f"/scheduling/cases/{cast.couple_case.pk}/availability/"
    response = client.get(url, {"first_day": "9999-12-31", "daily_minutes": "9" * 30})
    assert response.status_code == 400
    text = response.content.decode()
    assert "Choose a date between 1900 and 2999." in text
    assert "less than or equal to" in text


def test_the_planner_refuses_a_horizon_at_the_end_of_the_calendar(cast):
    response = as_user(cast.coordinator).post(
        "/planning/",
        {
            "first_day": "9999-12-31",
            "last_day": "9999-12-31",
            "location": cast.room.location_id,
            "time_limit": 5,
        },
    )
    assert response.status_code in (200, 400)
    assert "Choose a date between 1900 and 2999." in response.content.decode()
    assert not PlanningRun.objects.exists()


def test_an_export_release_with_a_nul_is_refused_not_stored(cast):
    response = as_user(cast.therapist_a).get(
        f"/consents/case/{cast.couple_case.pk}/export/", {"release": "a\x00b"}
    )
    assert response.status_code in (403, 404)
