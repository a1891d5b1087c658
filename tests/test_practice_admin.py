"""Set-up admin for the practice (policy, closures, rooms, locations) and for calendar feeds."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib import admin

from tandem.audit.models import AuditEvent
from tandem.practice.models import Location, PracticeClosure, PracticePolicy, Room, TeamRule
from tandem.scheduling import feeds
from tandem.scheduling.models import Appointment, AppointmentKind, CalendarFeed, Mode
from tests.cast import login

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Europe/Amsterdam")
POLICY = {
    "team_rule": TeamRule.ANY_PAIR,
    "intensive_days": "8",
    "intensive_minutes": "90",
    "intensive_weekdays_only": "on",
    "late_cancel_hours": "48",
}


@pytest.fixture(autouse=True)
def _clock(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    with time_machine.travel(dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def director(client, cast):
    cast.director.is_staff = True
    cast.director.is_superuser = True
    cast.director.save()
    login(client, cast.director)
    return cast.director


def test_practice_tables_are_registered():
    assert {PracticePolicy, PracticeClosure, Room, Location, CalendarFeed} <= set(admin.site._registry)


@pytest.mark.parametrize(
    "url",
    [
        "/setup/practice/practicepolicy/",
        "/setup/practice/practicepolicy/add/",
        "/setup/practice/practiceclosure/",
        "/setup/practice/practiceclosure/add/",
        "/setup/practice/room/",
        "/setup/practice/location/",
        "/setup/scheduling/calendarfeed/",
    ],
)
def test_pages_load_for_the_director(client, director, url):
    assert client.get(url).status_code == 200


def test_other_staff_cannot_reach_the_policy(client, cast):
    cast.coordinator.is_staff = True
    cast.coordinator.save()
    login(client, cast.coordinator)
    assert client.get("/setup/practice/practicepolicy/", follow=True).status_code == 403


def test_policy_is_one_row_saved_with_an_audit_event(client, director):
    response = client.post("/setup/practice/practicepolicy/add/", POLICY)
    assert response.status_code == 302
    policy = PracticePolicy.current()
    assert (policy.team_rule, policy.intensive_days, policy.intensive_minutes) == (TeamRule.ANY_PAIR, 8, 90)
    assert policy.late_cancel_hours == 48
    event = AuditEvent.objects.get(action="setup.add")
    assert event.detail["model"] == "practice.practicepolicy" and "team_rule" in event.detail["fields"]
    # A second policy row cannot be added, nor the one deleted.
    assert client.get("/setup/practice/practicepolicy/add/").status_code == 403
    assert client.get(f"/setup/practice/practicepolicy/{policy.pk}/delete/").status_code == 403


def test_policy_form_refuses_what_booking_would_refuse(client, director):
    response = client.post("/setup/practice/practicepolicy/add/", {**POLICY, "intensive_days": "40"})
    assert response.status_code == 200
    assert "between 1 and 31 days" in response.content.decode()
    response = client.post("/setup/practice/practicepolicy/add/", {**POLICY, "intensive_minutes": "5"})
    assert "between 15 minutes and 12 hours" in response.content.decode()
    assert not PracticePolicy.objects.exists()


def test_closing_a_booked_day_warns_and_is_audited(client, director, cast):
    row = Appointment.objects.create(
        case=cast.couple_case,
        kind=AppointmentKind.STANDARD,
        mode=Mode.IN_PERSON,
        room=cast.room,
        starts_at=dt.datetime(2027, 4, 27, 10, tzinfo=ZONE),
        ends_at=dt.datetime(2027, 4, 27, 11, tzinfo=ZONE),
    )
    row.therapists.set(cast.couple_case.clinicians)
    response = client.post(
        "/setup/practice/practiceclosure/add/", {"date": "2027-04-27", "reason": "King's Day"}, follow=True
    )
    assert PracticeClosure.objects.get().reason == "King's Day"
    assert "1 appointment(s) are still booked on Tuesday 27 April 2027" in response.content.decode()
    assert AuditEvent.objects.filter(action="setup.add", detail__model="practice.practiceclosure").exists()


def test_taking_a_room_out_of_use_keeps_it_and_audits(client, director, cast):
    response = client.post(
        "/setup/practice/room/", {"action": "take_out_of_use", "_selected_action": [cast.room.pk]}
    )
    assert response.status_code == 302
    cast.room.refresh_from_db()
    assert cast.room.active is False
    assert AuditEvent.objects.filter(action="setup.change", target_id=str(cast.room.pk)).exists()


def test_director_can_switch_off_a_therapists_feed(client, director, cast):
    _, token = feeds.calendar_feed_issue(actor=cast.therapist_a)
    feed = CalendarFeed.objects.get()
    page = client.get("/setup/scheduling/calendarfeed/").content.decode()
    assert feed.token_hash not in page and token not in page
    response = client.post(
        "/setup/scheduling/calendarfeed/", {"action": "switch_off", "_selected_action": [feed.pk]}
    )
    assert response.status_code == 302
    assert feeds.feed_for_token(token) is None
    event = AuditEvent.objects.get(action="calendar_feed.revoke")
    assert event.actor_id == cast.director.pk and event.detail == {"therapist": cast.therapist_a.pk}


def test_only_the_director_switches_off_another_persons_feed(cast):
    feeds.calendar_feed_issue(actor=cast.therapist_a)
    with pytest.raises(feeds.AccessDenied):
        feeds.calendar_feed_revoke(actor=cast.therapist_b, therapist=cast.therapist_a)
    with pytest.raises(feeds.AccessDenied):
        feeds.calendar_feed_revoke(actor=cast.coordinator, therapist=cast.therapist_a)
    assert CalendarFeed.objects.get().active
