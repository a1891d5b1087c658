"""The coordinator's planner pages: who may use them, queueing a run, reviewing and accepting a proposal,
and a runs list whose query count does not grow with the number of runs."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tandem.audit.models import AuditEvent
from tandem.planning import services
from tandem.planning.models import PlanningRun, RunStatus
from tandem.scheduling.models import Appointment, AppointmentKind
from tests.cast import login
from tests.planning_support import FIRST, LAST, NOW, plan_for, staff_hours, waiting_couple

pytestmark = pytest.mark.django_db

RUNS = reverse("planning:runs")


@pytest.fixture(autouse=True)
def _clock(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def practice(cast):
    staff_hours(cast)
    plan_for(cast.couple_case, cast.director)
    return cast


def solved_run(cast) -> PlanningRun:
    run = services.run_queue(actor=cast.coordinator, first_day=FIRST, last_day=LAST, time_limit=5)
    services.run_pending(worker="test")
    run.refresh_from_db()
    return run


@pytest.mark.parametrize("who", ["therapist_a", "therapist_b", "partner_a"])
def test_therapists_and_clients_get_404_everywhere(practice, client, who):
    cast = practice
    run = solved_run(cast)
    login(client, getattr(cast, who))
    assert client.get(RUNS).status_code == 404
    assert client.post(RUNS, {"first_day": "2027-03-01", "last_day": "2027-04-30"}).status_code == 404
    assert client.get(reverse("planning:run", kwargs={"run_id": run.pk})).status_code == 404
    accept = reverse("planning:accept", kwargs={"run_id": run.pk})
    assert client.post(accept, {"couple": f"c{cast.couple_case.pk}"}).status_code == 404
    assert PlanningRun.objects.count() == 1
    assert not Appointment.objects.filter(kind=AppointmentKind.INTENSIVE).exists()
    assert AuditEvent.objects.filter(action="access.denied", actor=getattr(cast, who)).exists()


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(RUNS)
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_nav_link_shows_for_the_coordinator_only(practice, client):
    login(client, practice.coordinator)
    assert RUNS in client.get(reverse("today")).content.decode()
    login(client, practice.therapist_a)
    assert RUNS not in client.get(reverse("today")).content.decode()


def test_coordinator_queues_a_run_and_sees_it_pending_then_done(practice, client):
    cast = practice
    login(client, cast.coordinator)
    page = client.get(RUNS)
    assert page.status_code == 200 and "1 case on the intensive waiting list" in page.content.decode()
    response = client.post(
        RUNS,
        {
            "first_day": "2027-03-01",
            "last_day": "2027-04-30",
            "location": cast.room.location_id,
            "time_limit": 5,
        },
    )
    run = PlanningRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "planning:run", kwargs={"run_id": run.pk}
    )
    pending = client.get(response["Location"]).content.decode()
    assert "Queued" in pending and 'hx-trigger="every 3s"' in pending
    services.run_pending(worker="test")
    done = client.get(response["Location"]).content.decode()
    assert "hx-trigger" not in done
    assert "Proposed blocks (1)" in done and cast.couple_case.reference in done
    assert "Tess Assigned &amp; Colin Cotherapist" in done or "Colin Cotherapist &amp; Tess Assigned" in done
    assert "First come, first served" in done and "Weighted wait" in done


def test_bad_horizons_are_refused_and_queue_nothing(practice, client):
    login(client, practice.coordinator)
    location = practice.room.location_id
    past = client.post(
        RUNS, {"first_day": "2027-01-04", "last_day": "2027-02-01", "location": location, "time_limit": 5}
    )
    assert "tomorrow or later" in past.content.decode()
    backwards = client.post(
        RUNS, {"first_day": "2027-03-10", "last_day": "2027-03-01", "location": location, "time_limit": 5}
    )
    assert "on or after the first day" in backwards.content.decode()
    too_long = client.post(
        RUNS, {"first_day": "2027-03-01", "last_day": "2028-03-01", "location": location, "time_limit": 5}
    )
    assert "six months" in too_long.content.decode()
    assert not PlanningRun.objects.exists()


def test_the_proposal_explains_an_unscheduled_couple(practice, client):
    cast = practice
    cast.cotherapist.therapist_profile.working_hours.filter(weekday__gte=3).delete()  # Mon to Wed only
    waiting_couple(cast, "Una")
    run = solved_run(cast)
    login(client, cast.coordinator)
    page = client.get(reverse("planning:run", kwargs={"run_id": run.pk})).content.decode()
    assert "Not scheduled (1)" in page
    assert "Their assigned therapists are not free together" in page


def test_accepting_from_the_page_books_the_ticked_blocks(practice, client):
    cast = practice
    other = waiting_couple(cast, "Vic")
    run = solved_run(cast)
    login(client, cast.coordinator)
    accept = reverse("planning:accept", kwargs={"run_id": run.pk})
    assert client.post(accept, {}).status_code == 302  # nothing ticked: nothing happens
    assert PlanningRun.objects.get().status == RunStatus.DONE
    response = client.post(accept, {"couple": [f"c{cast.couple_case.pk}", f"c{other.pk}"]}, follow=True)
    page = response.content.decode()
    assert "All 2 blocks are booked." in page
    assert Appointment.objects.filter(kind=AppointmentKind.INTENSIVE).count() == 20
    assert page.count("Booked") >= 2
    again = client.post(accept, {"couple": [f"c{other.pk}"]}, follow=True)
    assert "has not been accepted yet" in again.content.decode()
    assert Appointment.objects.filter(kind=AppointmentKind.INTENSIVE).count() == 20


def test_the_director_may_use_the_planner(practice, client):
    login(client, practice.director)
    assert client.get(RUNS).status_code == 200


def test_runs_list_query_count_does_not_grow_with_runs_or_the_waiting_list(practice, client):
    cast = practice
    login(client, cast.coordinator)

    def make(n: int) -> None:
        for k in range(n):
            run = PlanningRun.objects.create(
                requested_by=cast.coordinator,
                requested_at=NOW + dt.timedelta(minutes=k),
                first_day=FIRST,
                last_day=LAST,
                instance={"couples": []},
                status=RunStatus.ACCEPTED if k % 2 else RunStatus.DONE,
                accepted_by=cast.director if k % 2 else None,
                weight=3,
                baseline_weight=2,
                scheduled=1,
            )
            assert run.pk

    make(2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(RUNS).status_code == 200
    make(8)
    for name in ("Wes", "Xan", "Yul"):
        waiting_couple(cast, name)
    with CaptureQueriesContext(connection) as many:
        page = client.get(RUNS)
    assert page.content.decode().count("/planning/runs/") == 10
    assert "4 cases on the intensive waiting list" in page.content.decode()
    assert len(many) == len(few)
    # The count is the kept list's (planning/waiting.py): no plan version is read to draw the page.
    assert not any("pathway_treatmentplan" in q["sql"] for q in many.captured_queries)


def test_proposal_page_query_count_does_not_grow_with_couples(practice, client):
    cast = practice
    login(client, cast.coordinator)
    small = solved_run(cast)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("planning:run", kwargs={"run_id": small.pk}))
    for name in ("Wes", "Xan", "Yul"):
        waiting_couple(cast, name)
    large = solved_run(cast)
    assert large.couples == 4
    with CaptureQueriesContext(connection) as many:
        page = client.get(reverse("planning:run", kwargs={"run_id": large.pk}))
    assert "Proposed blocks" in page.content.decode()
    assert len(many) == len(few)
