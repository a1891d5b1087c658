"""Booking rules: every rule of the booking services, on whichever database the suite runs against."""

import datetime as dt
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from tandem.access.services import AccessDenied
from tandem.accounts.models import CoTherapyTeam, Gender, Role
from tandem.audit.models import AuditEvent
from tandem.cases.models import AbsentPartner, Case, Client, Phase
from tandem.practice.models import PracticeClosure, PracticePolicy, Room, TeamRule
from tandem.scheduling import occupancy, selectors, services
from tandem.scheduling.models import (
    Appointment,
    AppointmentChange,
    AppointmentKind,
    AppointmentSeries,
    AppointmentStatus,
    ChangeKind,
    Mode,
    Occupancy,
    ResourceKind,
)
from tandem.scheduling.services import BookingConflict, BookingInvalid
from tests.cast import make_user

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Europe/Amsterdam")
NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _clock(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    with time_machine.travel(NOW, tick=False):
        yield


def at(day: str, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time.fromisoformat(hhmm), tzinfo=ZONE)


def book(cast, case=None, start="10:00", end="12:00", day="2027-03-02", **kwargs):
    case = case or cast.couple_case
    defaults = {
        "actor": cast.coordinator,
        "case": case,
        "kind": AppointmentKind.JOINT_ASSESSMENT,
        "therapists": case.clinicians,
        "room": cast.room,
        "mode": Mode.IN_PERSON,
    }
    defaults.update(kwargs)
    return services.appointment_book(starts_at=at(day, start), ends_at=at(day, end), **defaults)


def other_case(cast, therapist, first="Quinn", last="Elsewhere", partner=None):
    client = partner or Client.objects.create(first_name=first, last_name=last)
    return Case.objects.create(
        reference=f"T-{first}-{client.pk}",
        partner_a=client,
        absent_partner=AbsentPartner.UNAVAILABLE,
        phase=Phase.TREATMENT,
        therapist=therapist,
        opened_on=dt.date(2026, 10, 1),
    )


def test_booking_writes_one_occupancy_row_per_resource_and_an_audit_event(cast):
    appointment = book(cast)
    held = set(appointment.occupancies.values_list("resource_kind", "resource_id"))
    assert held == {
        (ResourceKind.THERAPIST, cast.therapist_a.pk),
        (ResourceKind.THERAPIST, cast.cotherapist.pk),
        (ResourceKind.ROOM, cast.room.pk),
        (ResourceKind.CLIENT, cast.couple_case.partner_a_id),
        (ResourceKind.CLIENT, cast.couple_case.partner_b_id),
    }
    assert set(appointment.therapists.all()) == {cast.therapist_a, cast.cotherapist}
    assert AuditEvent.objects.filter(action="appointment.book", target_id=str(appointment.pk)).exists()


def test_therapist_clash_names_the_therapist_and_the_time(cast):
    book(cast)
    with pytest.raises(BookingConflict) as refused:
        book(cast, cast.solo_case, start="11:00", end="11:50", room=None, mode=Mode.VIDEO)
    assert str(refused.value) == "Tess Assigned already has a session on Tue 2 March 10:00–12:00."  # noqa: RUF001


def test_room_clash_names_the_room_but_not_the_other_clients(cast):
    book(cast)
    case = other_case(cast, cast.therapist_b)
    with pytest.raises(BookingConflict) as refused:
        book(cast, case, start="09:00", end="10:30")
    message = str(refused.value)
    assert message.startswith("Room 1 is taken on Tue 2 March 10:00")
    assert "another appointment" in message
    assert "Alex" not in message and "Partner" not in message and "T-0001" not in message


CONJ = AppointmentKind.CONJUNCTIVE


def test_client_clash_names_the_client(cast):
    alex = cast.couple_case.partner_a
    book(cast, therapists=[cast.therapist_a], room=None, mode=Mode.VIDEO, kind=CONJ, clients=[alex])
    with pytest.raises(BookingConflict) as refused:
        book(
            cast,
            therapists=[cast.cotherapist],
            room=None,
            mode=Mode.VIDEO,
            kind=CONJ,
            clients=[alex],
            start="11:30",
        )
    assert str(refused.value).startswith("Alex Partner already has an appointment on Tue 2 March 10:00")
    # The other partner was free: an appointment with Blair alone fits.
    book(
        cast,
        therapists=[cast.cotherapist],
        room=None,
        mode=Mode.VIDEO,
        kind=CONJ,
        clients=[cast.couple_case.partner_b],
        start="11:30",
        end="12:30",
    )


@pytest.mark.parametrize(
    ("start", "end"), [("10:00", "12:00"), ("09:00", "10:01"), ("11:59", "13:00"), ("10:30", "11:00")]
)
def test_exact_and_partial_overlaps_are_refused(cast, start, end):
    book(cast)
    with pytest.raises(BookingConflict):
        book(cast, start=start, end=end)
    assert Appointment.objects.count() == 1


def test_back_to_back_appointments_are_allowed(cast):
    book(cast, start="10:00", end="12:00")
    book(cast, start="12:00", end="13:00")
    book(cast, start="09:00", end="10:00")
    assert Appointment.objects.count() == 3
    assert selectors.overlapping_occupancy() == []


@pytest.mark.parametrize("who", ["therapist_b", "partner_a"])
def test_outsiders_cannot_book(cast, who):
    with pytest.raises(AccessDenied):
        book(cast, actor=getattr(cast, who))
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("who", ["coordinator", "director", "therapist_a", "cotherapist"])
def test_the_front_desk_director_and_the_cases_own_therapists_can_book(cast, who):
    assert book(cast, actor=getattr(cast, who)).pk


def test_a_therapist_not_on_the_case_cannot_be_booked_for_it(cast):
    with pytest.raises(BookingInvalid, match="Theo Other is not assigned to this case"):
        book(cast, therapists=[cast.therapist_b])


def test_a_client_outside_the_case_cannot_be_booked_into_it(cast):
    stranger = Client.objects.create(first_name="Stray", last_name="Person")
    with pytest.raises(BookingInvalid, match="Only the partners"):
        book(cast, clients=[stranger])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start": "12:00", "end": "10:00"}, "must end after it starts"),
        ({"start": "10:00", "end": "10:00"}, "must end after it starts"),
        ({"day": "2026-12-01"}, "in the past"),
        ({"room": None}, "needs a room"),
        ({"mode": Mode.VIDEO}, "takes no room"),
        ({"kind": "massage"}, "Unknown appointment type"),
        ({"mode": "telepathy", "room": None}, "Unknown mode"),
        ({"therapists": []}, "at least one therapist"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(cast, changes, message):
    with pytest.raises(BookingInvalid, match=message):
        book(cast, **changes)
    assert not Appointment.objects.exists() and not Occupancy.objects.exists()


def test_naive_times_and_overlong_appointments_are_refused(cast):
    with pytest.raises(BookingInvalid, match="UTC offset"):
        services.appointment_book(
            actor=cast.coordinator,
            case=cast.couple_case,
            kind=AppointmentKind.JOINT_ASSESSMENT,
            starts_at=dt.datetime(2027, 3, 2, 10),
            ends_at=dt.datetime(2027, 3, 2, 11),
            therapists=cast.couple_case.clinicians,
            room=cast.room,
        )
    with pytest.raises(BookingInvalid, match="12 hours"):
        book(cast, start="06:00", end="19:00")


def test_a_closed_case_cannot_be_booked(cast):
    Case.objects.filter(pk=cast.couple_case.pk).update(phase=Phase.DISCHARGED)
    cast.couple_case.refresh_from_db()
    with pytest.raises(BookingInvalid, match="is closed"):
        book(cast)


def test_no_booking_on_a_closure_day(cast):
    PracticeClosure.objects.create(date=dt.date(2027, 3, 2), reason="Staff training")
    with pytest.raises(BookingInvalid, match=r"closed on Tue 2 March 2027 \(Staff training\)"):
        book(cast)


# --- Intensive blocks -----------------------------------------------------------------------------
def intensive(cast, first_day="2027-03-01", start="09:00", **kwargs):
    defaults = {
        "actor": cast.coordinator,
        "case": cast.couple_case,
        "team": cast.couple_case.team,
        "room": cast.room,
    }
    defaults.update(kwargs)
    return services.intensive_book(
        first_day=dt.date.fromisoformat(first_day), start_time=dt.time.fromisoformat(start), **defaults
    )


def local_days(series):
    return [a.starts_at.astimezone(ZONE) for a in series.appointments.order_by("starts_at")]


def test_intensive_books_ten_weekdays_at_the_same_local_time(cast):
    series = intensive(cast)
    starts = local_days(series)
    assert len(starts) == 10
    assert all(s.weekday() < 5 and s.time() == dt.time(9, 0) for s in starts)
    assert starts[0].date() == dt.date(2027, 3, 1) and starts[-1].date() == dt.date(2027, 3, 12)
    appointments = series.appointments.all()
    assert all(a.kind == AppointmentKind.INTENSIVE and a.room == cast.room for a in appointments)
    assert all(a.ends_at - a.starts_at == dt.timedelta(minutes=120) for a in appointments)
    assert Occupancy.objects.count() == 10 * 5
    assert AuditEvent.objects.filter(action="intensive.book", target_id=str(series.pk)).exists()


def test_intensive_across_the_clocks_going_forward_keeps_nine_oclock_local(cast):
    # The clocks go forward in Amsterdam on Sunday 28 March 2027: 09:00 is 08:00 UTC before, 07:00 after.
    series = intensive(cast, first_day="2027-03-22")
    starts = local_days(series)
    assert [s.time() for s in starts] == [dt.time(9, 0)] * 10
    utc_hours = [s.astimezone(dt.UTC).hour for s in starts]
    assert utc_hours[:5] == [8] * 5 and utc_hours[5:] == [7] * 5


def test_intensive_skips_closures_and_can_run_every_day(cast):
    PracticeClosure.objects.create(date=dt.date(2027, 3, 3), reason="Public holiday")
    PracticePolicy.objects.create(intensive_weekdays_only=False)
    days = [s.date() for s in local_days(intensive(cast))]
    assert dt.date(2027, 3, 3) not in days
    assert days == [dt.date(2027, 3, d) for d in (1, 2, 4, 5, 6, 7, 8, 9, 10, 11)]


def test_intensive_is_booked_whole_or_not_at_all(cast):
    # Day seven of the block is taken for one therapist: nothing of the block may remain.
    book(cast, cast.solo_case, day="2027-03-09", start="10:30", end="11:20", room=None, mode=Mode.VIDEO)
    before = Occupancy.objects.count()
    with pytest.raises(BookingConflict, match="Tess Assigned already has a session on Tue 9 March 10:30"):
        intensive(cast)
    assert not Appointment.objects.filter(kind=AppointmentKind.INTENSIVE).exists()
    assert not AppointmentSeries.objects.exists()
    assert Occupancy.objects.count() == before


def test_intensive_day_length_and_first_day_follow_the_policy(cast):
    with pytest.raises(BookingInvalid, match="at most 120 minutes"):
        intensive(cast, minutes=150)
    with pytest.raises(BookingInvalid, match="not a clinic day"):
        intensive(cast, first_day="2027-03-06")
    PracticeClosure.objects.create(date=dt.date(2027, 3, 1), reason="Public holiday")
    with pytest.raises(BookingInvalid, match="not a clinic day"):
        intensive(cast)
    assert not Appointment.objects.exists()


def test_a_time_that_does_not_exist_is_refused(cast):
    PracticePolicy.objects.create(intensive_weekdays_only=False)
    with pytest.raises(BookingInvalid, match="does not exist"):
        intensive(cast, first_day="2027-03-27", start="02:30")


# --- The team rule --------------------------------------------------------------------------------
def same_gender_case(cast):
    male = make_user("mo.male", Role.THERAPIST, first="Mo", last="Male", gender=Gender.MALE)
    for hours in cast.therapist_b.therapist_profile.working_hours.all():
        hours.pk, hours.therapist = None, male.therapist_profile
        hours.save()
    team = CoTherapyTeam.objects.create(first=cast.therapist_b, second=male)
    case = other_case(cast, None)
    Case.objects.filter(pk=case.pk).update(therapist=None, team=team)
    return Case.objects.with_people().get(pk=case.pk), team


def test_mixed_gender_rule_refuses_a_same_gender_team(cast):
    case, team = same_gender_case(cast)
    with pytest.raises(BookingInvalid, match="one female and one male"):
        intensive(cast, case=case, team=team)
    with pytest.raises(BookingInvalid, match="one female and one male"):
        services.team_form(actor=cast.coordinator, first=cast.therapist_b, second=team.second)


def test_any_pair_rule_allows_a_same_gender_team(cast):
    PracticePolicy.objects.create(team_rule=TeamRule.ANY_PAIR)
    case, team = same_gender_case(cast)
    assert intensive(cast, case=case, team=team).appointments.count() == 10
    with pytest.raises(BookingInvalid, match=r"needs two therapists: .* alone"):
        intensive(cast, case=cast.solo_case, team=None, therapist=cast.therapist_a, first_day="2027-04-05")


def test_single_rule_allows_one_therapist(cast):
    PracticePolicy.objects.create(team_rule=TeamRule.SINGLE_ALLOWED)
    series = intensive(cast, case=cast.solo_case, team=None, therapist=cast.therapist_a)
    assert series.appointments.count() == 10


def test_team_form_applies_the_rule_and_is_for_the_front_desk(cast):
    fiona = make_user("fiona.f", Role.THERAPIST, first="Fiona", last="F", gender=Gender.FEMALE)
    with pytest.raises(AccessDenied):
        services.team_form(actor=cast.therapist_a, first=fiona, second=cast.therapist_b)
    team = services.team_form(actor=cast.coordinator, first=fiona, second=cast.therapist_b)
    assert team.active and AuditEvent.objects.filter(action="team.form").exists()
    with pytest.raises(BookingInvalid, match="already a team"):
        services.team_form(actor=cast.director, first=cast.therapist_b, second=fiona)
    with pytest.raises(BookingInvalid, match="not an active therapist"):
        services.team_form(actor=cast.director, first=fiona, second=cast.coordinator)


# --- Series ---------------------------------------------------------------------------------------
def series(cast, **kwargs):
    defaults = {
        "actor": cast.therapist_a,
        "case": cast.solo_case,
        "kind": AppointmentKind.STANDARD,
        "therapists": [cast.therapist_a],
        "first_day": dt.date(2027, 3, 1),
        "start_time": dt.time(16, 0),
        "minutes": 50,
        "weekdays": [0, 3],
        "room": cast.room,
    }
    defaults.update(kwargs)
    return services.series_book(**defaults)


def test_series_twice_a_week_by_count_skips_closures(cast):
    PracticeClosure.objects.create(date=dt.date(2027, 3, 4), reason="Public holiday")
    days = [s.date() for s in local_days(series(cast, count=5))]
    assert days == [dt.date(2027, 3, d) for d in (1, 8, 11, 15, 18)]


def test_series_weekly_until_a_day_across_the_clock_change(cast):
    starts = local_days(series(cast, weekdays=[2], until=dt.date(2027, 4, 7)))
    assert [s.date().day for s in starts] == [3, 10, 17, 24, 31, 7]
    assert {s.time() for s in starts} == {dt.time(16, 0)}


def test_series_is_whole_or_nothing(cast):
    book(cast, day="2027-03-15", start="16:30", end="17:00")
    with pytest.raises(BookingConflict, match="Mon 15 March 16:30"):
        series(cast, count=6)
    assert Appointment.objects.count() == 1 and not AppointmentSeries.objects.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"weekdays": [0, 2, 4], "count": 3}, "one or two weekdays"),
        ({"weekdays": [7], "count": 3}, "one or two weekdays"),
        ({}, "either a last day or a number"),
        ({"count": 3, "until": dt.date(2027, 4, 1)}, "either a last day or a number"),
        ({"count": 500}, "between 1 and"),
        ({"until": dt.date(2027, 2, 1)}, "within a year"),
    ],
)
def test_series_bad_input(cast, changes, message):
    with pytest.raises(BookingInvalid, match=message):
        series(cast, **changes)


# --- Moving and cancelling ------------------------------------------------------------------------
def test_move_keeps_history_and_frees_the_old_time(cast):
    appointment = book(cast)
    moved = services.appointment_move(
        actor=cast.therapist_a,
        appointment=appointment,
        starts_at=at("2027-03-03", "14:00"),
        ends_at=at("2027-03-03", "16:00"),
        reason="The couple asked for the afternoon.",
    )
    assert moved.starts_at == at("2027-03-03", "14:00")
    change = AppointmentChange.objects.get(appointment=appointment)
    assert change.kind == ChangeKind.MOVED and change.by == cast.therapist_a
    assert change.reason == "The couple asked for the afternoon."
    assert change.old_starts_at == at("2027-03-02", "10:00") and change.new_starts_at == moved.starts_at
    assert set(moved.occupancies.values_list("starts_at", flat=True)) == {moved.starts_at}
    assert moved.occupancies.count() == 5
    # The old time is free again; the new one is not.
    book(cast)
    with pytest.raises(BookingConflict):
        book(cast, day="2027-03-03", start="15:00", end="16:00")
    assert AuditEvent.objects.filter(action="appointment.move").exists()


def test_move_to_another_room_and_onto_a_clash(cast):
    room_2 = Room.objects.create(location=cast.room.location, name="Room 2")
    first = book(cast)
    second = book(cast, start="13:00", end="14:00")
    services.appointment_move(
        actor=cast.coordinator,
        appointment=second,
        starts_at=at("2027-03-02", "13:00"),
        ends_at=at("2027-03-02", "14:00"),
        room=room_2,
        reason="Room 1 is being painted.",
    )
    assert second.occupancies.filter(resource_kind=ResourceKind.ROOM).get().resource_id == room_2.pk
    with pytest.raises(BookingConflict, match="Cotherapist already has a session on Tue 2 March 10:00"):
        services.appointment_move(
            actor=cast.coordinator,
            appointment=second,
            starts_at=at("2027-03-02", "11:00"),
            ends_at=at("2027-03-02", "12:30"),
            reason="Earlier, please.",
        )
    second.refresh_from_db()
    assert second.starts_at == at("2027-03-02", "13:00") and second.changes.count() == 1
    assert first.occupancies.count() == 5 and second.occupancies.count() == 5
    # Moving within its own time (overlapping itself) is fine.
    services.appointment_move(
        actor=cast.coordinator,
        appointment=second,
        starts_at=at("2027-03-02", "13:30"),
        ends_at=at("2027-03-02", "14:30"),
        reason="Half an hour later.",
    )


def test_move_needs_a_reason_and_a_booked_appointment(cast):
    appointment = book(cast)
    kwargs = {"starts_at": at("2027-03-03", "10:00"), "ends_at": at("2027-03-03", "11:00")}
    with pytest.raises(BookingInvalid, match="reason"):
        services.appointment_move(actor=cast.coordinator, appointment=appointment, reason="  ", **kwargs)
    with pytest.raises(AccessDenied):
        services.appointment_move(actor=cast.therapist_b, appointment=appointment, reason="x", **kwargs)
    services.appointment_cancel(actor=cast.coordinator, appointment=appointment, reason="Ill.")
    with pytest.raises(BookingInvalid, match="cancelled"):
        services.appointment_move(actor=cast.coordinator, appointment=appointment, reason="x", **kwargs)


def test_cancel_frees_the_slot_keeps_the_row_and_flags_late(cast):
    appointment = book(cast)
    cancelled = services.appointment_cancel(
        actor=cast.coordinator,
        appointment=appointment,
        reason="Client unwell.",
        now=at("2027-03-01", "12:00"),
    )
    assert cancelled.status == AppointmentStatus.CANCELLED
    assert not cancelled.occupancies.exists()
    change = cancelled.changes.get()
    assert change.kind == ChangeKind.CANCELLED and change.late and change.by == cast.coordinator
    assert change.reason == "Client unwell." and change.old_starts_at == at("2027-03-02", "10:00")
    again = book(cast)
    on_time = services.appointment_cancel(
        actor=cast.coordinator, appointment=again, reason="Rescheduling.", now=at("2027-02-28", "09:00")
    )
    assert not on_time.changes.get().late
    assert Appointment.objects.count() == 2
    assert AuditEvent.objects.filter(action="appointment.cancel").count() == 2


def test_late_cancellation_follows_the_policy(cast):
    PracticePolicy.objects.create(late_cancel_hours=48)
    appointment = book(cast)
    services.appointment_cancel(
        actor=cast.coordinator, appointment=appointment, reason="Away.", now=at("2027-02-28", "12:00")
    )
    assert appointment.changes.get().late


def test_a_cancelled_appointment_cannot_be_cancelled_twice_or_once_started(cast):
    appointment = book(cast)
    with pytest.raises(BookingInvalid, match="already started"):
        services.appointment_cancel(
            actor=cast.coordinator, appointment=appointment, reason="x", now=at("2027-03-02", "10:30")
        )
    services.appointment_cancel(actor=cast.coordinator, appointment=appointment, reason="x")
    with pytest.raises(BookingInvalid, match="cancelled"):
        services.appointment_cancel(actor=cast.coordinator, appointment=appointment, reason="x")


# --- The database guarantee -----------------------------------------------------------------------
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the exclusion constraint exists on PostgreSQL only"
)


@postgres_only
def test_the_database_refuses_overlapping_occupancy(cast):
    appointment = book(cast)
    with pytest.raises(IntegrityError), transaction.atomic():
        Occupancy.objects.create(
            appointment=appointment,
            resource_kind=ResourceKind.ROOM,
            resource_id=cast.room.pk + 1000,
            starts_at=at("2027-03-02", "09:00"),
            ends_at=at("2027-03-02", "09:30"),
        )
        Occupancy.objects.create(
            appointment=book(cast, start="13:00", end="14:00"),
            resource_kind=ResourceKind.ROOM,
            resource_id=cast.room.pk + 1000,
            starts_at=at("2027-03-02", "09:15"),
            ends_at=at("2027-03-02", "09:45"),
        )


@postgres_only
def test_a_race_past_the_check_is_answered_with_the_clash(cast):
    book(cast)
    # As if another transaction committed between the check and the insert: the constraint answers.
    with (
        mock.patch.object(occupancy, "find_clash", side_effect=[None, "named by the second look"]),
        pytest.raises(BookingConflict, match="named by the second look"),
    ):
        book(cast, start="11:00", end="13:00")
    assert Appointment.objects.count() == 1
    assert selectors.overlapping_occupancy() == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite guarantee only")
def test_sqlite_takes_the_write_lock_when_a_booking_transaction_begins():
    # The check-then-insert in the booking services is safe on SQLite only because of this setting.
    assert connection.settings_dict["OPTIONS"].get("transaction_mode") == "IMMEDIATE"
