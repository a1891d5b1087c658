"""The planner's database side: the waiting list, the instance built from the calendars (its plans valid
by tandem.planning.checker), the background run, accepting a plan into real bookings, and why a couple
stays unscheduled."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from tandem.audit.models import AuditEvent
from tandem.cases.models import Phase
from tandem.lib.errors import Refusal
from tandem.pathway.models import TreatmentFormat
from tandem.planning import adapter, services
from tandem.planning.checker import check_plan
from tandem.planning.core import plan_with_stats
from tandem.planning.explain import explain_unscheduled
from tandem.planning.instance import parse
from tandem.planning.models import PlanningRun, RunStatus
from tandem.practice.models import PracticeClosure
from tandem.scheduling.models import (
    Appointment,
    AppointmentKind,
    AppointmentSeries,
    AppointmentStatus,
    Occupancy,
    ResourceKind,
    TimeOff,
)
from tandem.scheduling.selectors import overlapping_occupancy
from tests.planning_support import (
    FIRST,
    LAST,
    NOW,
    at,
    hold,
    hold_client,
    plan_for,
    staff_hours,
    waiting_couple,
    work_week,
)

pytestmark = pytest.mark.django_db


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


def violations(instance: dict, plan: dict) -> list[str]:
    """The checker's complaints about the plan as stored (through JSON, as the run's fields are)."""
    return check_plan(json.loads(json.dumps(instance)), json.loads(json.dumps(plan)))


def plan_of(run: PlanningRun) -> dict:
    assert run.plan is not None
    return run.plan


def run_now(cast, first=FIRST, last=LAST, **kwargs) -> PlanningRun:
    run = services.run_queue(actor=cast.coordinator, first_day=first, last_day=last, time_limit=5, **kwargs)
    assert services.run_pending(worker="test") == 1
    run.refresh_from_db()
    return run


# --- The waiting list -----------------------------------------------------------------------------
def test_waiting_list_is_open_cases_whose_current_plan_is_intensive_without_a_booked_block(practice):
    cast = practice
    waiting = waiting_couple(cast, "Ada")
    standard = waiting_couple(cast, "Ben")
    plan_for(standard, cast.director, TreatmentFormat.STANDARD, version=2)  # changed its mind
    closed = waiting_couple(cast, "Cy", phase=Phase.CLOSED)
    booked = waiting_couple(cast, "Di")
    block = Appointment.objects.create(
        case=booked, kind=AppointmentKind.INTENSIVE, starts_at=at(FIRST, "09:00"), ends_at=at(FIRST, "11:00")
    )
    cancelled = waiting_couple(cast, "Ed")
    Appointment.objects.create(
        case=cancelled,
        kind=AppointmentKind.INTENSIVE,
        starts_at=at(FIRST, "09:00"),
        ends_at=at(FIRST, "11:00"),
        status=AppointmentStatus.CANCELLED,
    )
    listed = set(adapter.intensive_waiting_list().values_list("pk", flat=True))
    assert listed == {cast.couple_case.pk, waiting.pk, cancelled.pk}
    assert standard.pk not in listed and closed.pk not in listed and booked.pk not in listed
    block.status = AppointmentStatus.CANCELLED
    block.save()
    assert booked.pk in set(adapter.intensive_waiting_list().values_list("pk", flat=True))


def test_weight_grows_with_time_on_the_waiting_list():
    first = dt.date(2027, 3, 1)
    assert adapter.weight_for(first, first) == 1
    assert adapter.weight_for(first - dt.timedelta(weeks=4), first) == 2
    assert adapter.weight_for(first - dt.timedelta(weeks=100), first) == adapter.MAX_WEIGHT


# --- The instance ---------------------------------------------------------------------------------
def test_instance_carries_hours_busy_time_off_closures_rooms_and_couples(practice):
    cast = practice
    other = waiting_couple(cast, "Fay")
    PracticeClosure.objects.create(date=dt.date(2027, 4, 16), reason="Training day")
    hold(other, ResourceKind.THERAPIST, cast.therapist_b.pk, at(FIRST, "10:00"), at(FIRST, "11:00"))
    hold(
        other,
        ResourceKind.ROOM,
        cast.room.pk,
        at(dt.date(2027, 3, 3), "14:00"),
        at(dt.date(2027, 3, 3), "16:00"),
    )
    hold_client(other, other.partner_b, at(dt.date(2027, 3, 10), "18:00"), at(dt.date(2027, 3, 10), "19:00"))
    TimeOff.objects.create(
        therapist=cast.cotherapist,
        starts_at=at(dt.date(2027, 3, 15), "00:00"),
        ends_at=at(dt.date(2027, 3, 20), "00:00"),
    )
    instance = adapter.build_instance(first_day=FIRST, last_day=LAST)
    parse(instance)  # the command's own checks
    assert instance["timezone"] == "Europe/Amsterdam"
    assert instance["policy"]["closures"] == ["2027-04-16"]
    assert instance["policy"]["team"] == "mixed_gender"
    assert instance["policy"]["clinic_days"] == ["mon", "tue", "wed", "thu", "fri"]
    therapists = {t["id"]: t for t in instance["therapists"]}
    theo = therapists[f"t{cast.therapist_b.pk}"]
    assert theo["gender"] == "male"
    assert theo["hours"]["mon"] == [["08:30", "17:30"]]
    assert "sat" not in theo["hours"]
    assert theo["busy"] == [["2027-03-01T10:00", "2027-03-01T11:00"]]
    assert therapists[f"t{cast.cotherapist.pk}"]["busy"] == [["2027-03-15T00:00", "2027-03-20T00:00"]]
    (room,) = instance["rooms"]
    assert room == {
        "id": f"r{cast.room.pk}",
        "accessible": True,
        "busy": [["2027-03-03T14:00", "2027-03-03T16:00"]],
    }
    couples = {c["id"]: c for c in instance["couples"]}
    assert set(couples) == {f"c{cast.couple_case.pk}", f"c{other.pk}"}
    assert couples[f"c{other.pk}"]["unavailable"] == [["2027-03-10", "2027-03-10"]]
    assert couples[f"c{other.pk}"]["earliest_start"] == "2027-03-01"
    # The couple with a team keeps it: every other therapist is excluded.
    assert couples[f"c{cast.couple_case.pk}"]["excluded_therapists"] == [f"t{cast.therapist_b.pk}"]
    # Names never enter the instance.
    text = json.dumps(instance)
    assert "Tess" not in text and "Waiting" not in text and "Room 1" not in text

    plan, stats = plan_with_stats(instance, time_limit=3)
    assert violations(instance, plan) == []
    assert stats.weight == sum(c["weight"] for c in instance["couples"])  # both fit


def test_a_single_assigned_therapist_stays_in_the_team(practice):
    cast = practice
    case = waiting_couple(cast, "Gus", therapist=cast.therapist_b)
    instance = adapter.build_instance(first_day=FIRST, last_day=LAST)
    couple = next(c for c in instance["couples"] if c["id"] == f"c{case.pk}")
    # The other male therapist may not stand in for Theo; the female therapist may join him.
    assert couple["excluded_therapists"] == [f"t{cast.cotherapist.pk}"]


def test_a_daylight_saving_change_in_the_horizon_keeps_local_times(practice):
    cast = practice
    instance = adapter.build_instance(first_day=dt.date(2027, 3, 22), last_day=dt.date(2027, 4, 9))
    plan, _ = plan_with_stats(instance, time_limit=3)
    assert violations(instance, plan) == []
    (block,) = plan["blocks"]
    offsets = {s["start"][-6:] for s in block["sessions"]}
    assert offsets == {"+01:00", "+02:00"}  # the clocks go forward on 28 March
    run = run_now(cast, first=dt.date(2027, 3, 22), last=dt.date(2027, 4, 9))
    services.run_accept(actor=cast.coordinator, run=run)
    starts = Appointment.objects.filter(case=cast.couple_case, kind=AppointmentKind.INTENSIVE)
    local = {a.starts_at.astimezone(at(FIRST, "09:00").tzinfo).strftime("%H:%M") for a in starts}
    assert len(local) == 1 and starts.count() == 10


# --- The background run ---------------------------------------------------------------------------
def test_a_queued_run_is_solved_by_the_worker_with_figures(practice):
    cast = practice
    waiting_couple(cast, "Hal")
    run = services.run_queue(actor=cast.coordinator, first_day=FIRST, last_day=LAST, time_limit=5)
    assert run.status == RunStatus.QUEUED and run.plan is None and run.couples == 2
    assert AuditEvent.objects.filter(action="planning.queue", target_id=str(run.pk)).exists()
    assert services.run_pending(worker="w1") == 1
    assert services.run_pending(worker="w2") == 0  # nothing left to claim
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.claimed_by == "w1"
    assert run.scheduled == 2 and run.weight is not None and run.weight >= (run.baseline_weight or 0)
    assert run.weight_bound is not None and run.weight <= run.weight_bound
    assert violations(run.instance, plan_of(run)) == []


def test_a_failing_run_is_marked_failed_and_the_worker_goes_on(practice):
    cast = practice
    run = services.run_queue(actor=cast.coordinator, first_day=FIRST, last_day=LAST)
    PlanningRun.objects.filter(pk=run.pk).update(instance={"not": "an instance"})
    assert services.run_pending(worker="w") == 1
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "InstanceError" in run.error


def test_only_the_coordinator_or_director_queues_or_accepts(practice):
    cast = practice
    with pytest.raises(services.AccessDenied):
        services.run_queue(actor=cast.therapist_a, first_day=FIRST, last_day=LAST)
    run = run_now(cast)
    with pytest.raises(services.AccessDenied):
        services.run_accept(actor=cast.therapist_a, run=run)
    assert not AppointmentSeries.objects.exists()


# --- Accepting ------------------------------------------------------------------------------------
def test_accepting_books_every_block_with_occupancy_and_an_audit_event(practice):
    cast = practice
    other = waiting_couple(cast, "Ivy")
    run = run_now(cast)
    assert run.scheduled == 2
    outcome = services.run_accept(actor=cast.coordinator, run=run)
    assert all("series" in v for v in outcome.values()) and len(outcome) == 2
    for case in (cast.couple_case, other):
        block = next(b for b in plan_of(run)["blocks"] if b["couple"] == f"c{case.pk}")
        appointments = list(Appointment.objects.filter(case=case, kind=AppointmentKind.INTENSIVE))
        assert len(appointments) == 10
        assert [a.starts_at for a in appointments] == [
            dt.datetime.fromisoformat(s["start"]) for s in block["sessions"]
        ]
        therapists = {int(t[1:]) for t in block["therapists"]}
        held = set(
            Occupancy.objects.filter(appointment=appointments[0]).values_list("resource_kind", "resource_id")
        )
        assert held == {(ResourceKind.THERAPIST, pk) for pk in therapists} | {
            (ResourceKind.ROOM, cast.room.pk),
            *((ResourceKind.CLIENT, c.pk) for c in case.partners),
        }
    # The planner gave the unassigned couple a team: it is now the case's team.
    other.refresh_from_db()
    assert other.team is not None
    assert {other.team.first_id, other.team.second_id} == {
        int(t[1:]) for b in plan_of(run)["blocks"] if b["couple"] == f"c{other.pk}" for t in b["therapists"]
    }
    run.refresh_from_db()
    assert run.status == RunStatus.ACCEPTED and run.accepted_by == cast.coordinator
    event = AuditEvent.objects.get(action="planning.accept", target_id=str(run.pk))
    assert sorted(event.detail["booked"]) == sorted(outcome)
    assert not adapter.intensive_waiting_list().exists()
    assert overlapping_occupancy() == []
    with pytest.raises(Refusal, match="accepted"):
        services.run_accept(actor=cast.coordinator, run=run)


def test_a_block_that_clashes_at_acceptance_is_refused_whole_and_the_others_are_booked(practice):
    cast = practice
    other = waiting_couple(cast, "Jo")
    run = run_now(cast)
    mine = next(b for b in plan_of(run)["blocks"] if b["couple"] == f"c{cast.couple_case.pk}")
    third = dt.datetime.fromisoformat(mine["sessions"][2]["start"])
    # Since the run, someone booked Tess for an hour inside the third session.
    intruder = waiting_couple(cast, "Kit")
    hold(intruder, ResourceKind.THERAPIST, cast.therapist_a.pk, third, third + dt.timedelta(hours=1))
    outcome = services.run_accept(actor=cast.coordinator, run=run)
    refused = outcome[f"c{cast.couple_case.pk}"]
    assert "Tess Assigned already has a session on" in refused["error"]
    assert not Appointment.objects.filter(case=cast.couple_case, kind=AppointmentKind.INTENSIVE).exists()
    assert not AppointmentSeries.objects.filter(case=cast.couple_case).exists()
    if f"c{other.pk}" in outcome:
        booked = outcome[f"c{other.pk}"]
        # Tess is the only female therapist: the other block may share her, unless it clashed as well.
        if "series" in booked:
            assert Appointment.objects.filter(case=other, kind=AppointmentKind.INTENSIVE).count() == 10
    event = AuditEvent.objects.get(action="planning.accept", target_id=str(run.pk))
    assert f"c{cast.couple_case.pk}" in event.detail["refused"]


def test_a_clash_for_one_couple_keeps_the_other_couples_block(practice):
    cast = practice
    other = waiting_couple(cast, "Lu")
    run = run_now(cast)
    theirs = next(b for b in plan_of(run)["blocks"] if b["couple"] == f"c{other.pk}")
    fifth = dt.datetime.fromisoformat(theirs["sessions"][4]["start"])
    # A partner of the other couple got an appointment in the middle of their block.
    hold_client(other, other.partner_a, fifth, fifth + dt.timedelta(minutes=30))
    outcome = services.run_accept(actor=cast.coordinator, run=run)
    assert "already has an appointment" in outcome[f"c{other.pk}"]["error"]
    assert "series" in outcome[f"c{cast.couple_case.pk}"]
    assert Appointment.objects.filter(case=cast.couple_case, kind=AppointmentKind.INTENSIVE).count() == 10
    assert not Appointment.objects.filter(case=other, kind=AppointmentKind.INTENSIVE).exists()
    other.refresh_from_db()
    assert other.team is None  # the team chosen for the refused block was not assigned either


def test_only_the_ticked_blocks_are_booked(practice):
    cast = practice
    other = waiting_couple(cast, "Max")
    run = run_now(cast)
    outcome = services.run_accept(actor=cast.coordinator, run=run, couples=[f"c{other.pk}"])
    assert list(outcome) == [f"c{other.pk}"]
    assert not Appointment.objects.filter(case=cast.couple_case, kind=AppointmentKind.INTENSIVE).exists()


# --- Why a couple stays unscheduled ---------------------------------------------------------------
def test_a_partners_own_appointments_explain_an_unscheduled_couple(practice):
    cast = practice
    busy = waiting_couple(cast, "Ned")
    day = FIRST
    while day <= LAST:
        if day.weekday() == 2:  # every Wednesday: no ten consecutive weekdays avoid one
            hold_client(busy, busy.partner_b, at(day, "18:00"), at(day, "18:30"))
        day += dt.timedelta(days=1)
    run = run_now(cast)
    assert f"c{busy.pk}" in {u["couple"] for u in plan_of(run)["unscheduled"]}
    why = explain_unscheduled(run.instance, plan_of(run))[f"c{busy.pk}"]
    assert why.startswith("Their own calendar")
    # The worker stores the same plain reason in the plan, so the page need not work it out again.
    stored = {u["couple"]: u["reason"] for u in plan_of(run)["unscheduled"]}
    assert stored[f"c{busy.pk}"] == why


def test_assigned_therapists_who_never_work_together_long_enough_explain_it(practice):
    cast = practice
    cast.cotherapist.therapist_profile.working_hours.all().delete()
    work_week(cast.cotherapist, cast.room.location_id, weekdays=range(3))  # Mon to Wed only
    run = run_now(cast)
    why = explain_unscheduled(run.instance, plan_of(run))[f"c{cast.couple_case.pk}"]
    assert why.startswith("Their assigned therapists are not free together")


def test_no_team_at_all_and_no_room_and_losing_out_are_told_apart():
    base = {
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
            {
                "id": "f",
                "gender": "female",
                "hours": {d: [["09:00", "17:00"]] for d in ["mon", "tue", "wed", "thu", "fri"]},
            },
            {
                "id": "m",
                "gender": "male",
                "hours": {d: [["09:00", "17:00"]] for d in ["mon", "tue", "wed", "thu", "fri"]},
            },
        ],
        "rooms": [{"id": "r"}],
        "couples": [{"id": "a", "weight": 3}, {"id": "b", "weight": 1}],
    }
    plan, _ = plan_with_stats(base, time_limit=2)
    assert [b["couple"] for b in plan["blocks"]] == ["a"]
    assert "could have had a block on their own" in explain_unscheduled(base, plan)["b"]

    no_male = json.loads(json.dumps(base))
    no_male["therapists"][1]["hours"] = {"mon": [["09:00", "17:00"]]}
    plan, _ = plan_with_stats(no_male, time_limit=2)
    assert explain_unscheduled(no_male, plan)["a"].startswith("No male therapist is free")

    no_room = json.loads(json.dumps(base))
    no_room["rooms"][0]["busy"] = [["2027-03-05T08:00", "2027-03-05T12:00"]]
    plan, _ = plan_with_stats(no_room, time_limit=2)
    assert explain_unscheduled(no_room, plan)["a"].startswith("Whenever a mixed-gender team is free")


def test_the_worker_command_solves_queued_runs_and_a_stale_claim_is_taken_again(practice):
    cast = practice
    run = services.run_queue(actor=cast.coordinator, first_day=FIRST, last_day=LAST, time_limit=5)
    # A worker died while solving it long ago: its claim has expired.
    PlanningRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, claimed_by="dead", started_at=NOW - services.STALE_AFTER * 2
    )
    fresh = services.run_queue(actor=cast.coordinator, first_day=FIRST, last_day=LAST, time_limit=5)
    PlanningRun.objects.filter(pk=fresh.pk).update(
        status=RunStatus.RUNNING, claimed_by="alive", started_at=NOW
    )
    out = StringIO()
    call_command("planning_worker", "--once", stdout=out)
    assert "solved 1 planning run" in out.getvalue()
    run.refresh_from_db()
    fresh.refresh_from_db()
    assert run.status == RunStatus.DONE
    assert fresh.status == RunStatus.RUNNING and fresh.claimed_by == "alive"  # still being solved elsewhere
