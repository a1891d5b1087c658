"""The co-therapy team rule is decided in one place (scheduling.rules.team_rule_problem) and every path
that makes a team or books an intensive session applies it: the set-up pages, the calendar's
single-appointment form, the booking API (one session and a block), a weekly series, the availability
search and the planner. Each refusal names the rule and the people."""

import datetime as dt
import html
import json

import pytest
import time_machine
from django.test import Client as HttpClient
from django.urls import reverse

from tandem.accounts.models import CoTherapyTeam
from tandem.cases.models import Case
from tandem.planning import adapter
from tandem.planning.explain import explain_unscheduled
from tandem.practice.models import PracticePolicy, TeamRule
from tandem.scheduling import services
from tandem.scheduling.availability import intensive_nothing_fits, intensive_options
from tandem.scheduling.models import Appointment, AppointmentKind
from tandem.scheduling.rules import team_rule_problem
from tests.cast import login
from tests.planning_support import plan_for

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
RULE = "The practice's team rule (one female and one male therapist)"


@pytest.fixture(autouse=True)
def _clock(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def two_men(cast):
    """The couple's case with a team of two male therapists, as if formed under an earlier "any two" rule."""
    team = CoTherapyTeam.objects.create(first=cast.therapist_b, second=cast.cotherapist)
    Case.objects.filter(pk=cast.couple_case.pk).update(team=team)
    return Case.objects.with_people().get(pk=cast.couple_case.pk), team


def _names_rule_and_people(text: str) -> bool:
    text = html.unescape(text)
    return RULE in text and "Theo Other" in text and "Colin Cotherapist" in text


def test_the_one_decision_names_the_rule_and_the_people(cast):
    assert team_rule_problem([cast.therapist_a, cast.cotherapist]) is None
    assert _names_rule_and_people(team_rule_problem([cast.therapist_b, cast.cotherapist]) or "")
    alone = team_rule_problem([cast.therapist_a]) or ""
    assert alone.startswith(RULE) and "Tess Assigned alone" in alone
    PracticePolicy.objects.create(team_rule=TeamRule.ANY_PAIR)
    assert team_rule_problem([cast.therapist_b, cast.cotherapist]) is None
    assert "(any two therapists) needs two therapists" in (team_rule_problem([cast.therapist_a]) or "")


def test_set_up_page_refuses_the_team_and_marks_teams_that_break_a_new_rule(cast):
    client = login(HttpClient(), cast.director)
    refused = client.post(
        reverse("setup:staff"),
        {"action": "team", "first": cast.therapist_b.pk, "second": cast.cotherapist.pk},
    )
    assert refused.status_code == 400 and _names_rule_and_people(refused.content.decode())
    assert not CoTherapyTeam.objects.filter(first=cast.therapist_b).exists()
    # Formed under "any two", the team breaks the rule once the practice goes back to mixed-gender:
    # saving the policy warns, and the staff page says so beside the team.
    PracticePolicy.objects.create(team_rule=TeamRule.ANY_PAIR)
    CoTherapyTeam.objects.create(first=cast.therapist_b, second=cast.cotherapist)
    policy = {
        "action": "policy",
        "team_rule": TeamRule.MIXED_GENDER,
        "intensive_days": 10,
        "intensive_minutes": 120,
        "intensive_weekdays_only": "on",
        "late_cancel_hours": 24,
    }
    saved = client.post(reverse("setup:practice"), policy, follow=True)
    page = html.unescape(saved.content.decode())
    assert "1 active team(s) break the new team rule" in page and "Theo Other & Colin Cotherapist" in page
    staff = client.get(reverse("setup:staff")).content.decode()
    assert "breaks the team rule" in staff and _names_rule_and_people(staff)


def test_single_appointment_form_refuses_an_intensive_session_with_one_therapist_or_a_bad_pair(cast):
    client = login(HttpClient(), cast.coordinator)
    base = {
        "case": cast.couple_case.reference,
        "kind": AppointmentKind.INTENSIVE,
        "mode": "in_person",
        "date": "2027-03-02",
        "start": "09:00",
        "end": "11:00",
        "room": cast.room.pk,
    }
    one = client.post(reverse("scheduling:calendar_new"), {**base, "therapists": [cast.therapist_a.pk]})
    assert one.status_code == 400
    assert RULE in html.unescape(one.content.decode()) and "Tess Assigned alone" in one.content.decode()
    assert not Appointment.objects.exists()
    # The case's own mixed-gender team may hold it.
    ok = client.post(
        reverse("scheduling:calendar_new"),
        {**base, "therapists": [cast.therapist_a.pk, cast.cotherapist.pk]},
    )
    assert ok.status_code == 302
    assert Appointment.objects.filter(kind=AppointmentKind.INTENSIVE).count() == 1


def test_calendar_form_refuses_a_rule_breaking_pair(cast, two_men):
    client = login(HttpClient(), cast.coordinator)
    refused = client.post(
        reverse("scheduling:calendar_new"),
        {
            "case": cast.couple_case.reference,
            "kind": AppointmentKind.INTENSIVE,
            "mode": "in_person",
            "date": "2027-03-02",
            "start": "09:00",
            "end": "11:00",
            "room": cast.room.pk,
        },
    )
    assert refused.status_code == 400 and _names_rule_and_people(refused.content.decode())
    assert not Appointment.objects.exists()


def _api(user, url: str, body: dict) -> tuple[int, dict]:
    response = login(HttpClient(), user).post(url, json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def test_api_refuses_one_session_and_a_block(cast, two_men):
    case, team = two_men
    status, answer = _api(
        cast.coordinator,
        reverse("scheduling:api_appointments"),
        {
            "case": case.pk,
            "kind": "intensive",
            "starts_at": "2027-03-02T09:00:00+01:00",
            "ends_at": "2027-03-02T11:00:00+01:00",
            "therapists": [cast.therapist_b.pk, cast.cotherapist.pk],
            "room": cast.room.pk,
        },
    )
    assert status == 400 and _names_rule_and_people(answer["error"])
    status, answer = _api(
        cast.coordinator,
        reverse("scheduling:api_intensives"),
        {
            "case": case.pk,
            "team": team.pk,
            "room": cast.room.pk,
            "first_day": "2027-03-01",
            "start_time": "09:00",
        },
    )
    assert status == 400 and _names_rule_and_people(answer["error"])
    assert not Appointment.objects.exists()


def test_a_weekly_series_of_intensive_sessions_keeps_the_rule(cast, two_men):
    case, _ = two_men
    with pytest.raises(services.BookingInvalid) as refusal:
        services.series_book(
            actor=cast.coordinator,
            case=case,
            kind=AppointmentKind.INTENSIVE,
            therapists=case.clinicians,
            first_day=dt.date(2027, 3, 1),
            start_time=dt.time(9),
            weekdays=[0],
            count=4,
            room=cast.room,
        )
    assert _names_rule_and_people(str(refusal.value))
    assert not Appointment.objects.exists()


def test_availability_search_names_the_rule_instead_of_working_hours(cast, two_men):
    case, _ = two_men
    assert intensive_options(case=case, first_day=dt.date(2027, 3, 1)) == []
    assert _names_rule_and_people(intensive_nothing_fits(case=case))
    page = login(HttpClient(), cast.coordinator).get(
        reverse("scheduling:availability", args=[case.pk]), {"first_day": "2027-03-01", "daily_minutes": 120}
    )
    text = page.content.decode()
    assert page.status_code == 200 and "No block fits" in text and _names_rule_and_people(text)
    assert "working hours" not in text.split("No block fits")[1].split("</p>")[0]


def test_availability_search_names_the_other_first_rules(cast):
    case = cast.couple_case
    # One therapist where two are needed.
    Case.objects.filter(pk=case.pk).update(team=None, therapist=cast.therapist_a)
    alone = Case.objects.with_people().get(pk=case.pk)
    assert "Tess Assigned alone" in intensive_nothing_fits(case=alone)
    # No team at all, for a case without one.
    Case.objects.filter(pk=case.pk).update(therapist=None)
    CoTherapyTeam.objects.update(active=False)
    assert "no active co-therapy team" in intensive_nothing_fits(
        case=Case.objects.with_people().get(pk=case.pk)
    )
    # A team that keeps the rule, but one of them has no working hours.
    CoTherapyTeam.objects.update(active=True)
    cast.cotherapist.therapist_profile.working_hours.all().delete()
    Case.objects.filter(pk=case.pk).update(team=CoTherapyTeam.objects.get())
    assert intensive_nothing_fits(case=Case.objects.with_people().get(pk=case.pk)).startswith(
        "Colin Cotherapist has no working hours"
    )


def test_planner_explains_a_team_that_breaks_the_rule():
    hours = {d: [["09:00", "17:00"]] for d in ["mon", "tue", "wed", "thu", "fri"]}
    instance = {
        "timezone": "Europe/Amsterdam",
        "horizon": {"first_day": "2027-03-01", "last_day": "2027-03-12"},
        "policy": {
            "block_days": 10,
            "clinic_days": ["mon", "tue", "wed", "thu", "fri"],
            "session_minutes": 120,
            "slot_starts": ["09:00"],
            "team": "mixed_gender",
        },
        "therapists": [
            {"id": "f", "gender": "female", "hours": hours},
            {"id": "m1", "gender": "male", "hours": hours},
            {"id": "m2", "gender": "male", "hours": hours},
        ],
        "rooms": [{"id": "r"}],
        # The couple's assigned team is m1 and m2: everyone else is excluded (as the adapter writes it).
        "couples": [{"id": "a", "weight": 1, "excluded_therapists": ["f"]}],
    }
    why = explain_unscheduled(instance, {"blocks": [], "unscheduled": [{"couple": "a"}]})["a"]
    assert why.startswith("The practice's team rule (one female and one male therapist)")
    assert "assigned therapists cannot form a mixed-gender team" in why


def test_planner_booking_path_refuses_a_rule_breaking_pair(cast):
    # Accepting a plan books through team_form and intensive_book, which apply the one rule.
    case = cast.couple_case
    plan_for(case, cast.director)
    days = [dt.date(2027, 3, 1) + dt.timedelta(days=k) for k in range(14)]
    sessions = [
        {"start": f"{day.isoformat()}T09:00:00+01:00", "end": f"{day.isoformat()}T11:00:00+01:00"}
        for day in days
        if day.weekday() < 5
    ]
    block = {
        "couple": f"c{case.pk}",
        "therapists": [f"t{cast.therapist_b.pk}", f"t{cast.cotherapist.pk}"],
        "room": f"r{cast.room.pk}",
        "sessions": sessions,
    }
    with pytest.raises(services.BookingInvalid) as refusal:
        adapter.book_block(actor=cast.coordinator, block=block)
    assert _names_rule_and_people(str(refusal.value))
    assert not Appointment.objects.exists()
    assert not CoTherapyTeam.objects.filter(first=cast.therapist_b).exists()
