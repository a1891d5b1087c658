"""The director's set-up pages and the services behind them: who reaches them, what each write does."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tandem.accounts.models import CoTherapyTeam, Gender, Role, WorkingHours
from tandem.audit.models import AuditEvent
from tandem.lib.time import local_day_bounds
from tandem.practice import services
from tandem.practice.models import Location, PracticeClosure, PracticePolicy, Room, TeamRule
from tandem.scheduling.models import AppointmentKind, AppointmentType, TimeOff
from tandem.scheduling.services import appointment_book
from tandem.scheduling.setup_services import appointment_type_save, time_off_add, working_hours_add
from tests.accounts_support import csp_safe
from tests.cast import login, make_user

PAGES = [
    "setup:practice",
    "setup:locations",
    "setup:closures",
    "setup:types",
    "setup:staff",
    "setup:hours",
]


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


@pytest.mark.parametrize("name", PAGES)
def test_only_the_director_reaches_the_set_up_pages(cast, name):
    page = login(HttpClient(), cast.director).get(reverse(name))
    assert page.status_code == 200
    assert csp_safe(page.content.decode())
    assert 'href="/practice/setup/"' in page.content.decode()  # the navigation link
    for role in ("therapist_a", "coordinator", "partner_a"):
        other = login(HttpClient(), getattr(cast, role))
        assert other.get(reverse(name)).status_code == 404
        assert other.post(reverse(name), {"action": "policy"}).status_code == 404
    assert _actions().count("access.denied") == 6


def test_the_set_up_link_is_in_the_directors_navigation_only(cast):
    assert "Set-up</a>" in login(HttpClient(), cast.director).get("/").content.decode()
    assert "Set-up</a>" not in login(HttpClient(), cast.therapist_a).get("/").content.decode()


def test_services_refuse_anyone_but_the_director(cast):
    with pytest.raises(PermissionDenied):
        services.closure_add(actor=cast.coordinator, date=dt.date(2027, 1, 4), reason="Training")
    with pytest.raises(PermissionDenied):
        services.practice_save(actor=cast.therapist_a, name="Elsewhere")
    assert not PracticeClosure.objects.exists()


def test_policy_is_created_with_its_defaults_on_first_save_and_audited(cast):
    assert PracticePolicy.objects.count() == 0
    client = login(HttpClient(), cast.director)
    page = client.get(reverse("setup:practice"))
    assert page.context["policy_form"].initial["team_rule"] == TeamRule.MIXED_GENDER
    data = {
        "action": "policy",
        "team_rule": TeamRule.ANY_PAIR,
        "intensive_days": 5,
        "intensive_minutes": 180,
        "late_cancel_hours": 48,
    }
    assert client.post(reverse("setup:practice"), data).status_code == 302
    policy = PracticePolicy.current()
    assert (policy.team_rule, policy.intensive_days, policy.intensive_weekdays_only) == (
        TeamRule.ANY_PAIR,
        5,
        False,
    )
    event = AuditEvent.objects.get(action="setup.policy_save")
    assert event.actor_id == cast.director.pk
    bad = client.post(reverse("setup:practice"), {**data, "intensive_days": 99})
    assert bad.status_code == 400 and PracticePolicy.current().intensive_days == 5


def test_locations_rooms_and_taking_a_room_out_of_use(cast):
    client = login(HttpClient(), cast.director)
    url = reverse("setup:locations")
    assert (
        client.post(
            url, {"action": "location", "location-name": "Harbour Road", "location-address": "1 Harbour Road"}
        ).status_code
        == 302
    )
    harbour = Location.objects.get(name="Harbour Road")
    assert (
        client.post(
            url, {"action": "room", "room-location": harbour.pk, "room-name": "Blue room", "room-capacity": 3}
        ).status_code
        == 302
    )
    blue = Room.objects.get(name="Blue room")
    dup = client.post(
        url, {"action": "room", "room-location": harbour.pk, "room-name": "blue ROOM", "room-capacity": 3}
    )
    assert dup.status_code == 400 and "already has a room" in dup.content.decode()
    assert client.post(url, {"action": "toggle", "room": blue.pk}).status_code == 302
    blue.refresh_from_db()
    assert not blue.active
    assert {"setup.location_add", "setup.room_add", "setup.room_in_use"} <= set(_actions())


def test_closures_by_hand_and_the_countrys_public_holidays(cast, settings):
    settings.PRACTICE_COUNTRY = "NL"
    client = login(HttpClient(), cast.director)
    url = reverse("setup:closures")
    assert (
        client.post(url, {"action": "add", "date": "2027-03-01", "reason": "Team training"}).status_code
        == 302
    )
    assert client.post(url, {"action": "import", "year": 2027}).status_code == 302
    days = dict(PracticeClosure.objects.values_list("date", "reason"))
    assert days[dt.date(2027, 3, 1)] == "Team training"
    assert dt.date(2027, 4, 27) in days  # King's Day
    assert dt.date(2027, 12, 25) in days
    before = PracticeClosure.objects.count()
    services.closures_import_holidays(actor=cast.director, year=2027)  # again: nothing doubled
    assert PracticeClosure.objects.count() == before
    event = AuditEvent.objects.filter(action="setup.closures_import").first()
    assert event is not None and event.detail["country"] == "NL"


def test_appointment_types_saved_and_bad_lengths_refused(cast):
    client = login(HttpClient(), cast.director)
    url = reverse("setup:types")
    kind = AppointmentKind.STANDARD
    data = {
        "type": kind,
        f"{kind}-kind": kind,
        f"{kind}-default_minutes": 50,
        f"{kind}-max_minutes": 90,
        f"{kind}-video": "on",
    }
    assert client.post(url, data).status_code == 302
    row = AppointmentType.for_kind(kind)
    assert (row.default_minutes, row.max_minutes, row.modes) == (50, 90, ("video",))
    bad = client.post(url, {**data, f"{kind}-default_minutes": 100})
    assert bad.status_code == 400 and AppointmentType.for_kind(kind).default_minutes == 50
    with pytest.raises(ValidationError):
        appointment_type_save(
            actor=cast.director,
            kind=kind,
            default_minutes=50,
            max_minutes=90,
            in_person=False,
            phone=False,
            video=False,
        )


def test_types_page_reads_in_one_query_for_the_types(cast, django_assert_max_num_queries):
    client = login(HttpClient(), cast.director)
    client.get(reverse("setup:types"))
    with django_assert_max_num_queries(12):
        client.get(reverse("setup:types"))


def test_working_hours_and_time_off(cast):
    client = login(HttpClient(), cast.director)
    WorkingHours.objects.filter(therapist__user=cast.therapist_b).delete()
    url = reverse("setup:hours") + f"?therapist={cast.therapist_b.pk}"
    location = Location.objects.get()
    data = {"action": "hours", "location": location.pk, "weekday": 1, "starts": "09:00", "ends": "13:00"}
    assert client.post(url, data).status_code == 302
    overlap = client.post(url, {**data, "starts": "12:00", "ends": "15:00"})
    assert overlap.status_code == 400 and "already works" in overlap.content.decode()
    backwards = client.post(url, {**data, "starts": "15:00", "ends": "14:00"})
    assert backwards.status_code == 400
    assert list(
        WorkingHours.objects.filter(therapist__user=cast.therapist_b).values_list("weekday", "starts")
    ) == [(1, dt.time(9))]
    off = {
        "action": "time_off",
        "starts_at": "2027-02-01T00:00",
        "ends_at": "2027-02-08T00:00",
        "reason": "Leave",
    }
    assert client.post(url, off).status_code == 302
    block = TimeOff.objects.get(therapist=cast.therapist_b)
    assert block.starts_at.utcoffset() is not None
    assert "Leave" not in str(AuditEvent.objects.get(action="setup.time_off_add").detail)
    with pytest.raises(ValidationError):
        time_off_add(
            actor=cast.director, therapist=cast.therapist_b, starts_at=block.ends_at, ends_at=block.starts_at
        )
    with pytest.raises(PermissionDenied):
        working_hours_add(
            actor=cast.coordinator,
            therapist=cast.therapist_b,
            location=location,
            weekday=2,
            starts=dt.time(9),
            ends=dt.time(10),
        )


def test_team_rule_refused_in_set_up_names_the_rule_and_the_people(cast):
    client = login(HttpClient(), cast.director)
    url = reverse("setup:staff")
    # Theo and Colin are both male: the mixed-gender rule (the default) refuses them, by name.
    refused = client.post(
        url, {"action": "team", "first": cast.therapist_b.pk, "second": cast.cotherapist.pk}
    )
    assert refused.status_code == 400
    text = refused.content.decode()
    assert (
        "one female and one male therapist" in text and "Theo Other" in text and "Colin Cotherapist" in text
    )
    assert not CoTherapyTeam.objects.filter(first=cast.therapist_b).exists()
    assert "team.form" not in _actions()
    # Under "any two therapists" the same pair may form a team.
    services.policy_save(
        actor=cast.director,
        team_rule=TeamRule.ANY_PAIR,
        intensive_days=10,
        intensive_minutes=120,
        intensive_weekdays_only=True,
        late_cancel_hours=24,
    )
    assert (
        client.post(
            url, {"action": "team", "first": cast.therapist_b.pk, "second": cast.cotherapist.pk}
        ).status_code
        == 302
    )
    assert CoTherapyTeam.objects.filter(first=cast.therapist_b, second=cast.cotherapist).exists()


def test_staff_page_lists_staff_in_a_fixed_number_of_queries(cast):
    client = login(HttpClient(), cast.director)
    client.get(reverse("setup:staff"))
    with CaptureQueriesContext(connection) as before:
        client.get(reverse("setup:staff"))
    for n in range(5):
        make_user(f"extra{n}", Role.THERAPIST, gender=Gender.FEMALE)
    with CaptureQueriesContext(connection) as after:
        client.get(reverse("setup:staff"))
    assert len(after.captured_queries) == len(before.captured_queries)


def test_closing_a_day_with_bookings_says_they_are_still_booked(cast):
    day = dt.date(2027, 3, 2)
    start, _ = local_day_bounds(day)
    appointment_book(
        actor=cast.director,
        case=cast.couple_case,
        kind=AppointmentKind.JOINT_ASSESSMENT,
        starts_at=start + dt.timedelta(hours=10),
        ends_at=start + dt.timedelta(hours=11),
        therapists=[cast.therapist_a, cast.cotherapist],
        room=cast.room,
    )
    client = login(HttpClient(), cast.director)
    page = client.post(
        reverse("setup:closures"),
        {"action": "add", "date": day.isoformat(), "reason": "Training"},
        follow=True,
    )
    assert "1 appointment(s) are still booked on Tuesday 02 March 2027" in page.content.decode()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("setup:closures", {"action": "remove", "pk": "not-a-number"}),
        ("setup:staff", {"action": "reset", "pk": "-3"}),
        ("setup:locations", {"action": "toggle", "room": "999999"}),
    ],
)
def test_a_bad_row_reference_gets_a_message_and_changes_nothing(cast, name, data):
    client = login(HttpClient(), cast.director)
    before = AuditEvent.objects.count()
    page = client.post(reverse(name), data)
    assert page.status_code == 400
    assert "That row is no longer there" in page.content.decode()
    assert AuditEvent.objects.count() == before
