"""Booking-time rules: working hours, time off, closures and appointment types, in every booking path."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tandem.accounts.models import WorkingHours
from tandem.practice.models import Location, PracticeClosure, Room
from tandem.scheduling import services
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentType, Mode, TimeOff
from tandem.scheduling.services import BookingInvalid

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Europe/Amsterdam")
NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
TUESDAY = dt.date(2027, 3, 2)


@pytest.fixture(autouse=True)
def _clock(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    with time_machine.travel(NOW, tick=False):
        yield


def at(day: dt.date, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=ZONE)


def set_hours(user, blocks, location=None):
    """Replace the therapist's week with `blocks`: (weekday, "HH:MM", "HH:MM")."""
    profile = user.therapist_profile
    location = location or WorkingHours.objects.filter(therapist=profile).first().location
    WorkingHours.objects.filter(therapist=profile).delete()
    for weekday, starts, ends in blocks:
        WorkingHours.objects.create(
            therapist=profile,
            location=location,
            weekday=weekday,
            starts=dt.time.fromisoformat(starts),
            ends=dt.time.fromisoformat(ends),
        )


def book(cast, start="10:00", end="11:00", day=TUESDAY, case=None, **kwargs):
    case = case or cast.couple_case
    values = {
        "actor": cast.coordinator,
        "case": case,
        "kind": AppointmentKind.STANDARD,
        "therapists": case.clinicians,
        "room": cast.room,
        "mode": Mode.IN_PERSON,
        "starts_at": at(day, start),
        "ends_at": at(day, end) if end else None,
    }
    values.update(kwargs)
    return services.appointment_book(**values)


def test_a_session_outside_working_hours_is_refused_naming_who_and_when(cast):
    set_hours(cast.cotherapist, [(1, "09:00", "17:00")])
    book(cast, "16:00", "17:00")  # ends exactly when the day ends
    with pytest.raises(BookingInvalid, match="Colin Cotherapist does not work on Tuesday 2 March at 16:30"):
        book(cast, "16:30", "17:30")
    with pytest.raises(BookingInvalid, match="Colin Cotherapist does not work on Wednesday 3 March at 10:00"):
        book(cast, day=TUESDAY + dt.timedelta(days=1))
    assert Appointment.objects.count() == 1


def test_a_team_booking_needs_both_therapists_working(cast):
    set_hours(cast.therapist_a, [(1, "13:00", "18:00")])
    set_hours(cast.cotherapist, [(1, "09:00", "15:00")])
    book(cast, "13:00", "14:30")
    with pytest.raises(BookingInvalid, match="Tess Assigned does not work on Tuesday 2 March at 11:00"):
        book(cast, "11:00", "12:00")
    with pytest.raises(BookingInvalid, match="Colin Cotherapist does not work on Tuesday 2 March at 15:00"):
        book(cast, "15:00", "16:00")


def test_a_session_must_fit_one_block_and_the_rooms_location(cast):
    set_hours(cast.cotherapist, [(1, "09:00", "12:00"), (1, "13:00", "17:00")])
    with pytest.raises(BookingInvalid, match="does not work on Tuesday 2 March at 11:30"):
        book(cast, "11:30", "13:30")
    elsewhere = Location.objects.create(practice=cast.room.location.practice, name="Harbour Annex")
    annex = Room.objects.create(location=elsewhere, name="Annex 1")
    with pytest.raises(BookingInvalid, match="Tess Assigned does not work at Harbour Annex"):
        book(cast, "09:00", "10:00", room=annex)
    # By video the location does not matter.
    book(cast, "09:00", "10:00", room=None, mode=Mode.VIDEO)


def test_time_off_is_refused_without_showing_its_reason(cast):
    TimeOff.objects.create(
        therapist=cast.therapist_a,
        starts_at=at(TUESDAY, "00:00"),
        ends_at=at(TUESDAY, "12:00"),
        reason="Surgery",
    )
    with pytest.raises(BookingInvalid, match="Tess Assigned is on leave") as refused:
        book(cast, "11:30", "12:30")
    assert "Surgery" not in str(refused.value)
    book(cast, "12:00", "13:00")  # back-to-back with the leave is fine


def test_closures_are_refused_for_single_bookings_and_moves(cast):
    PracticeClosure.objects.create(date=TUESDAY, reason="King's Day")
    with pytest.raises(BookingInvalid, match="closed on Tue 2 March 2027"):
        book(cast)
    appointment = book(cast, day=TUESDAY + dt.timedelta(days=1))
    with pytest.raises(BookingInvalid, match="closed"):
        services.appointment_move(
            actor=cast.coordinator,
            appointment=appointment,
            starts_at=at(TUESDAY, "10:00"),
            ends_at=at(TUESDAY, "11:00"),
            reason="Client asked",
        )


def test_moving_keeps_the_working_hours_and_time_off_rules(cast):
    appointment = book(cast)
    set_hours(cast.therapist_a, [(1, "09:00", "12:00")])
    with pytest.raises(BookingInvalid, match="Tess Assigned does not work on Tuesday 2 March at 14:00"):
        services.appointment_move(
            actor=cast.coordinator,
            appointment=appointment,
            starts_at=at(TUESDAY, "14:00"),
            ends_at=at(TUESDAY, "15:00"),
            reason="Later",
        )
    TimeOff.objects.create(
        therapist=cast.cotherapist, starts_at=at(TUESDAY, "11:00"), ends_at=at(TUESDAY, "11:30")
    )
    with pytest.raises(BookingInvalid, match="Colin Cotherapist is on leave"):
        services.appointment_move(
            actor=cast.coordinator,
            appointment=appointment,
            starts_at=at(TUESDAY, "10:30"),
            ends_at=at(TUESDAY, "11:30"),
            reason="Later",
        )
    moved = services.appointment_move(
        actor=cast.coordinator,
        appointment=appointment,
        starts_at=at(TUESDAY, "11:30"),
        ends_at=at(TUESDAY, "12:00"),
        reason="Later",
    )
    assert moved.starts_at == at(TUESDAY, "11:30")


def test_series_and_intensives_check_every_day(cast):
    set_hours(cast.therapist_a, [(d, "08:00", "18:00") for d in range(5)])
    TimeOff.objects.create(
        therapist=cast.therapist_a,
        starts_at=at(dt.date(2027, 3, 16), "00:00"),
        ends_at=at(dt.date(2027, 3, 17), "00:00"),
    )
    with pytest.raises(BookingInvalid, match="Tess Assigned is on leave"):
        services.series_book(
            actor=cast.coordinator,
            case=cast.solo_case,
            kind=AppointmentKind.STANDARD,
            therapists=[cast.therapist_a],
            first_day=TUESDAY,
            start_time=dt.time(10),
            weekdays=[1],
            count=4,
            room=cast.room,
        )
    with pytest.raises(BookingInvalid, match="Tess Assigned is on leave"):
        services.intensive_book(
            actor=cast.coordinator,
            case=cast.couple_case,
            room=cast.room,
            team=cast.couple_case.team,
            first_day=dt.date(2027, 3, 8),
            start_time=dt.time(9),
        )
    with pytest.raises(BookingInvalid, match="does not work on Monday 1 March at 17:00"):
        services.intensive_book(
            actor=cast.coordinator,
            case=cast.couple_case,
            room=cast.room,
            team=cast.couple_case.team,
            first_day=dt.date(2027, 3, 1),
            start_time=dt.time(17),
        )
    assert not Appointment.objects.exists()
    series = services.series_book(
        actor=cast.coordinator,
        case=cast.solo_case,
        kind=AppointmentKind.STANDARD,
        therapists=[cast.therapist_a],
        first_day=TUESDAY,
        start_time=dt.time(10),
        weekdays=[1],
        count=2,
        room=cast.room,
    )
    # No length given: the standard session's default length.
    assert {a.ends_at - a.starts_at for a in series.appointments.all()} == {dt.timedelta(minutes=60)}


def test_working_hours_are_local_wall_clock_across_the_clock_change(cast):
    # Summer time starts Sunday 28 March 2027: 09:00 local is 08:00 UTC before and 07:00 UTC after.
    set_hours(cast.therapist_a, [(d, "09:00", "12:00") for d in range(7)])
    set_hours(cast.cotherapist, [(d, "09:00", "12:00") for d in range(7)])
    before = book(cast, "09:00", "10:00", day=dt.date(2027, 3, 27))
    on_the_day = book(cast, "09:00", "10:00", day=dt.date(2027, 3, 28))
    assert before.starts_at.astimezone(dt.UTC).hour == 8
    assert on_the_day.starts_at.astimezone(dt.UTC).hour == 7
    with pytest.raises(BookingInvalid, match="does not work on Sunday 28 March at 08:30"):
        book(cast, "08:30", "09:30", day=dt.date(2027, 3, 28))
    # 08:00 UTC on the 29th is 10:00 local: inside the hours although it was 09:00 local on the 27th.
    services.appointment_book(
        actor=cast.coordinator,
        case=cast.couple_case,
        kind=AppointmentKind.STANDARD,
        therapists=cast.couple_case.clinicians,
        room=cast.room,
        starts_at=dt.datetime(2027, 3, 29, 8, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2027, 3, 29, 9, 0, tzinfo=dt.UTC),
    )
    # 09:30-10:30 UTC is 11:30-12:30 local: past the end of the hours, though 10:30 UTC was 11:30 in winter.
    with pytest.raises(BookingInvalid, match="does not work on Monday 29 March at 11:30"):
        services.appointment_book(
            actor=cast.coordinator,
            case=cast.couple_case,
            kind=AppointmentKind.STANDARD,
            therapists=cast.couple_case.clinicians,
            room=cast.room,
            starts_at=dt.datetime(2027, 3, 29, 9, 30, tzinfo=dt.UTC),
            ends_at=dt.datetime(2027, 3, 29, 10, 30, tzinfo=dt.UTC),
        )


def test_a_therapist_without_working_hours_cannot_be_booked(cast):
    WorkingHours.objects.filter(therapist=cast.therapist_a.therapist_profile).delete()
    with pytest.raises(BookingInvalid, match="Tess Assigned does not work on Tuesday 2 March at 10:00"):
        book(cast, case=cast.solo_case)


class TestAppointmentTypes:
    def test_default_length_when_no_end_is_given(self, cast):
        assessment = book(cast, end=None, kind=AppointmentKind.JOINT_ASSESSMENT)
        assert assessment.ends_at - assessment.starts_at == dt.timedelta(minutes=90)
        call = book(cast, "14:00", None, kind=AppointmentKind.FOLLOW_UP_CALL, room=None, mode=Mode.PHONE)
        assert call.ends_at - call.starts_at == dt.timedelta(minutes=30)

    def test_the_longest_length_and_the_modes_are_enforced(self, cast):
        with pytest.raises(BookingInvalid, match="follow-up phone call lasts at most 45 minutes"):
            book(cast, "10:00", "11:00", kind=AppointmentKind.FOLLOW_UP_CALL, room=None, mode=Mode.PHONE)
        with pytest.raises(BookingInvalid, match="follow-up phone call is held phone or video"):
            book(cast, "10:00", "10:30", kind=AppointmentKind.FOLLOW_UP_CALL)
        assert not Appointment.objects.exists()

    def test_the_clinic_edits_a_type(self, cast):
        AppointmentType.objects.create(
            kind=AppointmentKind.STANDARD, default_minutes=50, max_minutes=50, in_person=True
        )
        session = book(cast, end=None)
        assert session.ends_at - session.starts_at == dt.timedelta(minutes=50)
        with pytest.raises(BookingInvalid, match="standard session is held in person"):
            book(cast, "13:00", "13:50", room=None, mode=Mode.VIDEO)
        with pytest.raises(BookingInvalid, match="at most 50 minutes"):
            book(cast, "14:00", "15:00")
