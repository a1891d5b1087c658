"""An appointment knows who attends: both partners of a joint session, exactly one partner of an
individual one, chosen on every booking path; only the attendees are occupied."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client as HttpClient

from tandem.access.services import AccessDenied
from tandem.audit.models import AuditEvent
from tandem.cases.models import AbsentPartner, Case, Phase
from tandem.scheduling import selectors, services
from tandem.scheduling.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Mode,
    Occupancy,
    ResourceKind,
)
from tandem.scheduling.services import BookingConflict, BookingInvalid
from tests.cast import login

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Europe/Amsterdam")
NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
IND = AppointmentKind.INDIVIDUAL_ASSESSMENT
CONJ = AppointmentKind.CONJUNCTIVE


@pytest.fixture(autouse=True)
def _clock(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    with time_machine.travel(NOW, tick=False):
        yield


def at(day: str, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time.fromisoformat(hhmm), tzinfo=ZONE)


def book(cast, case=None, start="10:00", end="11:00", day="2027-03-02", **kwargs):
    case = case or cast.couple_case
    values = {
        "actor": cast.coordinator,
        "case": case,
        "kind": AppointmentKind.JOINT_ASSESSMENT,
        "therapists": [cast.therapist_a],
        "room": None,
        "mode": Mode.VIDEO,
    }
    values.update(kwargs)
    return services.appointment_book(starts_at=at(day, start), ends_at=at(day, end), **values)


def held_clients(appointment: Appointment) -> set[int]:
    return set(
        appointment.occupancies.filter(resource_kind=ResourceKind.CLIENT).values_list(
            "resource_id", flat=True
        )
    )


def attendee_ids(appointment: Appointment) -> set[int]:
    return set(appointment.attendees.values_list("pk", flat=True))


# --- The services ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind",
    [
        AppointmentKind.JOINT_ASSESSMENT,
        AppointmentKind.STANDARD,
        AppointmentKind.FOLLOW_UP_VISIT,
        AppointmentKind.FOLLOW_UP_CALL,
    ],
)
def test_a_joint_session_is_attended_and_held_by_both_partners(cast, kind):
    appointment = book(cast, kind=kind, end="10:30")
    both = {cast.couple_case.partner_a_id, cast.couple_case.partner_b_id}
    assert attendee_ids(appointment) == both
    assert held_clients(appointment) == both
    event = AuditEvent.objects.get(action="appointment.book", target_id=str(appointment.pk))
    assert sorted(event.detail["attendees"]) == sorted(both)


@pytest.mark.parametrize("kind", [IND, CONJ])
def test_an_individual_session_is_attended_and_held_by_the_one_partner_chosen(cast, kind):
    blair = cast.couple_case.partner_b
    appointment = book(cast, kind=kind, clients=[blair])
    assert attendee_ids(appointment) == {blair.pk}
    assert held_clients(appointment) == {blair.pk}


@pytest.mark.parametrize("clients", [None, [], "both"])
def test_an_individual_session_of_a_couple_without_exactly_one_partner_is_refused(cast, clients):
    if clients == "both":
        clients = cast.couple_case.partners
    with pytest.raises(BookingInvalid, match="Choose which partner attends this individual assessment"):
        book(cast, kind=IND, clients=clients)
    assert not Appointment.objects.exists()
    assert not Occupancy.objects.exists()


def test_a_joint_session_for_one_partner_is_refused(cast):
    with pytest.raises(BookingInvalid, match="attended by both partners"):
        book(cast, clients=[cast.couple_case.partner_a])
    assert not Appointment.objects.exists()


def test_the_other_partner_of_an_individual_session_stays_free(cast):
    alex, blair = cast.couple_case.partners
    book(cast, kind=CONJ, clients=[alex])
    # Alex is held, Blair is not: Blair's own session at the same time fits, Alex's does not.
    other = book(cast, kind=CONJ, clients=[blair], therapists=[cast.cotherapist], end="10:30")
    assert attendee_ids(other) == {blair.pk}
    with pytest.raises(BookingConflict, match="Alex Partner already has an appointment"):
        book(cast, kind=CONJ, clients=[alex], therapists=[cast.cotherapist], start="10:30", end="11:30")
    # ...and a joint session needs both, so it clashes with either.
    with pytest.raises(BookingConflict):
        book(cast, therapists=[cast.cotherapist], start="10:30", end="11:30")


def test_an_individual_cases_only_client_needs_no_choosing(cast):
    appointment = book(cast, cast.solo_case, kind=IND)
    assert attendee_ids(appointment) == {cast.solo_case.partner_a_id}


def test_a_client_of_another_case_cannot_attend(cast):
    with pytest.raises(BookingInvalid, match="Only the partners"):
        book(cast, kind=IND, clients=[cast.solo_case.partner_a])
    assert not Appointment.objects.exists()


def test_a_conjunctive_series_is_attended_by_its_one_partner_throughout(cast):
    blair = cast.couple_case.partner_b
    series = services.series_book(
        actor=cast.coordinator,
        case=cast.couple_case,
        kind=CONJ,
        therapists=[cast.therapist_a],
        first_day=dt.date(2027, 3, 2),
        start_time=dt.time(10),
        weekdays=[1],
        count=3,
        mode=Mode.VIDEO,
        clients=[blair],
    )
    appointments = list(series.appointments.all())
    assert len(appointments) == 3
    assert all(attendee_ids(a) == {blair.pk} == held_clients(a) for a in appointments)


def test_a_conjunctive_series_without_a_partner_is_refused(cast):
    with pytest.raises(BookingInvalid, match="Choose which partner"):
        services.series_book(
            actor=cast.coordinator,
            case=cast.couple_case,
            kind=CONJ,
            therapists=[cast.therapist_a],
            first_day=dt.date(2027, 3, 2),
            start_time=dt.time(10),
            weekdays=[1],
            count=3,
            mode=Mode.VIDEO,
        )
    assert not Appointment.objects.exists()


def test_an_intensive_block_is_attended_by_both_partners(cast):
    series = services.intensive_book(
        actor=cast.coordinator,
        case=cast.couple_case,
        room=cast.room,
        first_day=dt.date(2027, 3, 1),
        start_time=dt.time(10),
        team=cast.couple_case.team,
        days=2,
    )
    both = {cast.couple_case.partner_a_id, cast.couple_case.partner_b_id}
    assert all(attendee_ids(a) == both for a in series.appointments.all())


# --- Saying who attends afterwards ---------------------------------------------------------------------
def test_staff_can_say_the_other_partner_attends_and_the_hold_moves(cast):
    alex, blair = cast.couple_case.partners
    appointment = book(cast, kind=IND, clients=[alex])
    services.appointment_set_attendee(actor=cast.therapist_a, appointment=appointment, client=blair)
    assert attendee_ids(appointment) == {blair.pk} == held_clients(appointment)
    event = AuditEvent.objects.get(action="appointment.attendee", target_id=str(appointment.pk))
    assert event.detail == {"from": [alex.pk], "to": [blair.pk]}
    # Alex is free again at that time.
    book(cast, kind=CONJ, clients=[alex], therapists=[cast.cotherapist])


def test_saying_who_attends_checks_the_new_partners_time(cast):
    alex, blair = cast.couple_case.partners
    appointment = book(cast, kind=IND, clients=[alex])
    book(cast, kind=CONJ, clients=[blair], therapists=[cast.cotherapist])
    with pytest.raises(BookingConflict, match="Blair Partner already has an appointment"):
        services.appointment_set_attendee(actor=cast.coordinator, appointment=appointment, client=blair)
    assert attendee_ids(appointment) == {alex.pk} == held_clients(appointment)


@pytest.mark.parametrize("who", ["therapist_b", "partner_a", "partner_b"])
def test_an_outsider_or_a_partner_cannot_say_who_attends(cast, who):
    alex, blair = cast.couple_case.partners
    appointment = book(cast, kind=IND, clients=[alex])
    with pytest.raises(AccessDenied):
        services.appointment_set_attendee(actor=getattr(cast, who), appointment=appointment, client=blair)
    assert attendee_ids(appointment) == {alex.pk}


def test_a_joint_session_has_no_single_attendee_to_set(cast):
    appointment = book(cast)
    with pytest.raises(BookingInvalid, match="Only an individual session"):
        services.appointment_set_attendee(
            actor=cast.coordinator, appointment=appointment, client=cast.couple_case.partner_a
        )
    assert len(attendee_ids(appointment)) == 2


# --- Selectors ----------------------------------------------------------------------------------------
def test_the_attendee_selectors_read_in_a_fixed_number_of_queries(cast, django_assert_num_queries):
    alex, blair = cast.couple_case.partners
    for hour in range(9, 15):
        kind, clients = (
            (CONJ, [alex if hour % 2 else blair]) if hour % 3 else (AppointmentKind.STANDARD, None)
        )
        book(cast, kind=kind, clients=clients, start=f"{hour:02}:00", end=f"{hour:02}:50")
    appointments = list(Appointment.objects.order_by("starts_at"))
    with django_assert_num_queries(1):
        found = selectors.appointment_attendees(appointments)
    assert [len(found[a.pk]) for a in appointments] == [2, 1, 1, 2, 1, 1]
    with django_assert_num_queries(2):
        rows = list(Appointment.objects.with_attendees().order_by("starts_at"))
        names = [[c.first_name for c in selectors.attendees_of(a)] for a in rows]
    assert names == [["Alex", "Blair"], ["Blair"], ["Alex"], ["Alex", "Blair"], ["Alex"], ["Blair"]]
    assert list(Appointment.objects.attended_by(blair).order_by("starts_at")) == [
        rows[0],
        rows[1],
        rows[3],
        rows[5],
    ]


# --- The booking paths: API, calendar form, weekly search ----------------------------------------------
def _api(cast, **changes):
    body = {
        "case": cast.couple_case.pk,
        "kind": "individual_assessment",
        "starts_at": "2027-03-02T10:00:00+01:00",
        "ends_at": "2027-03-02T11:00:00+01:00",
        "therapists": [cast.therapist_a.pk],
        "mode": "video",
    }
    body.update(changes)
    response = login(HttpClient(), cast.coordinator).post(
        "/scheduling/api/appointments/", json.dumps(body), content_type="application/json"
    )
    return response.status_code, response.json()


def test_the_api_books_an_individual_session_for_the_partner_named(cast):
    blair = cast.couple_case.partner_b
    status, answer = _api(cast, attendees=[blair.pk])
    assert status == 201
    assert answer["attendees"] == [blair.pk]
    assert attendee_ids(Appointment.objects.get(pk=answer["id"])) == {blair.pk}


@pytest.mark.parametrize(
    ("attendees", "message"),
    [
        (None, "Choose which partner attends"),
        ("x", "must be a list"),
        ("solo", "Only the partners"),
        ([987654], "Only the partners"),
    ],
)
def test_the_api_refuses_a_missing_or_foreign_attendee(cast, attendees, message):
    if attendees == "solo":
        attendees = [cast.solo_case.partner_a_id]
    changes = {} if attendees is None else {"attendees": attendees}
    status, answer = _api(cast, **changes)
    assert status == 400
    assert message in answer["error"]
    assert not Appointment.objects.exists()


def test_the_calendar_form_books_the_partner_chosen(cast):
    client = login(HttpClient(), cast.coordinator)
    form = {
        "case": "T-0001",
        "kind": IND,
        "mode": Mode.VIDEO,
        "date": "2027-03-02",
        "start": "10:00",
        "end": "11:00",
        "therapists": [cast.therapist_a.pk],
    }
    refused = client.post("/scheduling/calendar/new/", form)
    assert refused.status_code == 400
    assert "Choose which partner attends" in refused.content.decode()
    assert not Appointment.objects.exists()
    booked = client.post("/scheduling/calendar/new/", {**form, "attends": "b"})
    assert booked.status_code == 302
    assert attendee_ids(Appointment.objects.get()) == {cast.couple_case.partner_b_id}


def test_the_calendar_form_refuses_a_second_partner_on_an_individual_case(cast):
    client = login(HttpClient(), cast.coordinator)
    form = {
        "case": "T-0002",
        "kind": IND,
        "mode": Mode.VIDEO,
        "date": "2027-03-02",
        "start": "10:00",
        "therapists": [cast.therapist_a.pk],
        "attends": "b",
    }
    response = client.post("/scheduling/calendar/new/", form)
    assert response.status_code == 400
    assert "This case has one client" in response.content.decode()
    assert not Appointment.objects.exists()


def test_the_weekly_search_books_a_conjunctive_series_around_only_its_partners_time(cast):
    alex, blair = cast.couple_case.partners
    # Alex is busy every Tuesday at 07:00 from 2 March in a case of their own with another therapist; a
    # conjunctive series for Blair may still go there, a standard one for both may not.
    own = Case.objects.create(
        reference="T-0003",
        partner_a=alex,
        absent_partner=AbsentPartner.UNWILLING,
        phase=Phase.TREATMENT,
        therapist=cast.therapist_b,
        opened_on=dt.date(2026, 10, 1),
    )
    services.series_book(
        actor=cast.coordinator,
        case=own,
        kind=AppointmentKind.STANDARD,
        therapists=[cast.therapist_b],
        first_day=dt.date(2027, 3, 2),
        start_time=dt.time(7),
        weekdays=[1],
        count=12,
        mode=Mode.VIDEO,
    )
    client = login(HttpClient(), cast.coordinator)
    url = f"/scheduling/cases/{cast.couple_case.pk}/availability/"
    search = {
        "tab": "weekly",
        "first_day": "2027-03-02",
        "weekdays": "1",
        "per_week": "1",
        "weeks": "2",
        "minutes": "60",
        "mode": Mode.VIDEO,
    }
    page = client.get(url, {**search, "attends": str(blair.pk)}).content.decode()
    assert "Blair Partner alone: conjunctive sessions" in page
    assert 'name="start_time" value="07:00"' in page
    joint = client.get(url, search).content.decode()
    assert 'name="start_time" value="07:00"' not in joint
    booked = client.post(
        url,
        {
            "format": "weekly",
            "first_day": "2027-03-02",
            "until": "2027-03-09",
            "weekdays": "1",
            "start_time": "07:00",
            "minutes": "60",
            "mode": Mode.VIDEO,
            "room": "",
            "attends": str(blair.pk),
        },
    )
    assert booked.status_code == 302
    new = Appointment.objects.filter(case=cast.couple_case).order_by("starts_at")
    assert [a.kind for a in new] == [CONJ, CONJ]
    assert all(attendee_ids(a) == {blair.pk} for a in new)


# --- The data migration --------------------------------------------------------------------------------
BEFORE = [("scheduling", "0009_appointment_attendees"), ("pathway", "0003_intake_safety_review")]
AFTER = [("scheduling", "0010_fill_attendees")]


def _legacy(old, case, kind, hour, *, hold=(), status=AppointmentStatus.ATTENDED):
    starts_at = at("2026-12-01", f"{hour:02}:00")
    appointment = old.get_model("scheduling", "Appointment").objects.create(
        case=case,
        kind=kind,
        mode=Mode.VIDEO,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=50),
        status=status,
    )
    old.get_model("scheduling", "Occupancy").objects.bulk_create(
        old.get_model("scheduling", "Occupancy")(
            appointment=appointment,
            resource_kind=ResourceKind.CLIENT,
            resource_id=pk,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
        )
        for pk in hold
    )
    return appointment.pk


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_attendees_from_what_was_recorded():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        client = old.get_model("cases", "Client")
        alex, blair, sam = (
            client.objects.create(first_name=n, last_name="Legacy") for n in ("Alex", "Blair", "Sam")
        )
        cases = old.get_model("cases", "Case").objects
        couple = cases.create(
            reference="T-9001",
            partner_a=alex,
            partner_b=blair,
            phase="treatment",
            opened_on=dt.date(2026, 9, 1),
        )
        solo = cases.create(
            reference="T-9002",
            partner_a=sam,
            absent_partner="unwilling",
            phase="treatment",
            opened_on=dt.date(2026, 9, 1),
        )
        therapist = old.get_model("accounts", "User").objects.create(
            username="legacy.therapist", role="therapist"
        )
        joint = _legacy(old, couple, AppointmentKind.STANDARD, 8, hold=[alex.pk, blair.pk])
        booked_one = _legacy(old, couple, IND, 9, hold=[blair.pk])
        noted = _legacy(old, couple, IND, 10, hold=[alex.pk, blair.pk])
        old.get_model("pathway", "AssessmentSessionFor").objects.create(
            appointment_id=noted, client=alex, set_by=therapist
        )
        unclear = _legacy(old, couple, CONJ, 11, hold=[alex.pk, blair.pk])
        cancelled = _legacy(old, couple, CONJ, 12, status=AppointmentStatus.CANCELLED)
        alone = _legacy(old, solo, IND, 13, hold=[sam.pk])
        executor.loader.build_graph()
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps
        through = new.get_model("scheduling", "Appointment").attendees.through.objects
        occupancy = new.get_model("scheduling", "Occupancy").objects

        def attending(pk: int) -> set[int]:
            return set(through.filter(appointment_id=pk).values_list("client_id", flat=True))

        assert attending(joint) == {alex.pk, blair.pk}
        assert attending(booked_one) == {blair.pk}
        assert attending(noted) == {alex.pk}
        # The other partner's hold goes with the therapist's note.
        assert set(occupancy.filter(appointment_id=noted).values_list("resource_id", flat=True)) == {alex.pk}
        assert attending(unclear) == {alex.pk, blair.pk}  # nothing said who: kept as booked
        assert attending(cancelled) == {alex.pk, blair.pk}
        assert attending(alone) == {sam.pk}
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
