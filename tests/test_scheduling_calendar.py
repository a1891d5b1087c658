"""Calendar pages: practice, therapist and room; day and week; practice zone; who sees what."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tandem.accounts.models import Gender, Role, TherapistProfile, WorkingHours
from tandem.cases.models import AbsentPartner, Case, Client, Phase
from tandem.demo.grid import occupancies
from tandem.lib.time import local_day_bounds
from tandem.practice.models import Location, PracticeClosure, Room
from tandem.scheduling.calendar import calendar_build, span_days, therapist_groups
from tandem.scheduling.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Mode,
    Occupancy,
    TimeOff,
)
from tests.cast import login, make_user

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Europe/Amsterdam")
# Monday 4 January 2027, 10:00 in Amsterdam.
NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
PRACTICE = "/scheduling/calendar/"
WEEK = f"{PRACTICE}?span=week"


@pytest.fixture(autouse=True)
def _clock(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    with time_machine.travel(NOW, tick=False):
        yield


def at(day: str, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time.fromisoformat(hhmm), tzinfo=ZONE)


def appointment(case, day, start, end, *, therapists=None, room=None, kind=AppointmentKind.STANDARD, **extra):
    """Written straight to the tables, with the occupancy a booking writes (a therapist's or a room's
    calendar finds its sessions by it): these tests read calendars, the booking rules have their own."""
    mode = extra.pop("mode", Mode.IN_PERSON if room is not None else Mode.VIDEO)
    row = Appointment.objects.create(
        case=case, kind=kind, mode=mode, starts_at=at(day, start), ends_at=at(day, end), room=room, **extra
    )
    row.therapists.set(therapists or case.clinicians)
    # The therapists' and the room's rows, which the calendars read; these tests are not about who attends.
    Occupancy.objects.bulk_create(occupancies(row, [t.pk for t in row.therapists.all()], []))
    return row


def page(client, user, url):
    login(client, user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_url_names_are_the_agreed_ones(cast):
    assert reverse("scheduling:calendar_practice") == PRACTICE
    assert reverse("scheduling:calendar_therapist", args=[7]) == "/scheduling/calendar/therapist/7/"
    assert reverse("scheduling:calendar_room", args=[3]) == "/scheduling/calendar/room/3/"


def test_coordinator_sees_times_type_mode_room_therapists_and_case_link(client, cast):
    appointment(
        cast.couple_case, "2027-01-05", "10:00", "11:30", room=cast.room, kind=AppointmentKind.INTENSIVE
    )
    html = page(client, cast.coordinator, WEEK)
    assert '<time datetime="2027-01-05T10:00:00+01:00">10:00</time>' in html
    assert '<time datetime="2027-01-05T11:30:00+01:00">11:30</time>' in html
    assert "Intensive session" in html
    assert "In person · Room 1, Canal Street" in html
    assert "Tess Assigned" in html and "Colin Cotherapist" in html
    assert f'href="/cases/{cast.couple_case.pk}/">T-0001</a>' in html
    # A calendar names cases by reference only: never the clients.
    assert "Alex" not in html and "Blair" not in html


def test_therapist_not_on_the_case_sees_busy_and_the_type_only(client, cast):
    appointment(cast.couple_case, "2027-01-05", "10:00", "11:00", room=cast.room)
    html = page(client, cast.therapist_b, WEEK)
    assert "<strong>Busy</strong> · Standard session" in html
    assert "T-0001" not in html
    assert f"/cases/{cast.couple_case.pk}/" not in html


def test_assigned_therapist_sees_the_reference_of_their_own_case(client, cast):
    appointment(cast.couple_case, "2027-01-05", "10:00", "11:00", room=cast.room)
    html = page(client, cast.cotherapist, WEEK)
    assert ">T-0001</a>" in html


@pytest.mark.parametrize(
    "url",
    [PRACTICE, "/scheduling/calendar/therapist/{therapist}/", "/scheduling/calendar/room/{room}/"],
)
def test_clients_never_see_a_calendar(client, cast, url):
    login(client, cast.partner_a)
    response = client.get(url.format(therapist=cast.therapist_a.pk, room=cast.room.pk))
    assert response.status_code == 404


def test_anonymous_visitor_is_sent_to_log_in(client, cast):
    response = client.get(PRACTICE)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_unknown_therapist_room_and_a_client_as_therapist_are_404(client, cast):
    login(client, cast.coordinator)
    assert client.get("/scheduling/calendar/therapist/999999/").status_code == 404
    assert client.get(f"/scheduling/calendar/therapist/{cast.partner_a.pk}/").status_code == 404
    assert client.get(f"/scheduling/calendar/therapist/{cast.coordinator.pk}/").status_code == 404
    assert client.get("/scheduling/calendar/room/999999/").status_code == 404


def test_every_staff_member_may_see_every_calendar(client, cast):
    for user in (cast.director, cast.coordinator, cast.therapist_b):
        login(client, user)
        assert client.get(f"/scheduling/calendar/therapist/{cast.therapist_a.pk}/").status_code == 200
        assert client.get(f"/scheduling/calendar/room/{cast.room.pk}/").status_code == 200


def test_therapist_and_room_calendars_show_only_their_own_appointments(client, cast):
    other_room = Room.objects.create(location=cast.room.location, name="Garden Room")
    appointment(cast.couple_case, "2027-01-05", "10:00", "11:00", room=cast.room)
    appointment(cast.solo_case, "2027-01-06", "14:00", "15:00", room=other_room)
    therapist_b_case = Case.objects.create(
        reference="T-0099",
        partner_a=Client.objects.create(first_name="Quinn", last_name="Elsewhere"),
        absent_partner=AbsentPartner.UNAVAILABLE,
        phase=Phase.TREATMENT,
        therapist=cast.therapist_b,
        opened_on=dt.date(2026, 10, 1),
    )
    appointment(therapist_b_case, "2027-01-07", "09:00", "10:00", room=other_room)

    cotherapist = page(client, cast.director, f"/scheduling/calendar/therapist/{cast.cotherapist.pk}/")
    assert "T-0001" in cotherapist and "T-0002" not in cotherapist and "T-0099" not in cotherapist
    room = page(client, cast.director, f"/scheduling/calendar/room/{other_room.pk}/")
    assert "T-0002" in room and "T-0099" in room and "T-0001" not in room


def test_cancelled_appointments_are_left_out(client, cast):
    appointment(
        cast.couple_case, "2027-01-05", "10:00", "11:00", room=cast.room, status=AppointmentStatus.CANCELLED
    )
    html = page(client, cast.coordinator, WEEK)
    assert "T-0001" not in html
    assert "0 appointments" in html


def test_week_runs_monday_to_sunday_and_navigation_moves_by_the_span(client, cast):
    html = page(client, cast.coordinator, f"{PRACTICE}?date=2027-01-07&span=week")
    days = re.findall(r'<h2 id="day-([0-9-]+)">', html)
    assert days == [f"2027-01-{d:02d}" for d in range(4, 11)]
    assert "?date=2026-12-31&amp;span=week" in html
    assert "?date=2027-01-14&amp;span=week" in html
    day = page(client, cast.coordinator, f"{PRACTICE}?date=2027-01-07&span=day")
    assert re.findall(r'<h2 id="day-([0-9-]+)">', day) == ["2027-01-07"]
    assert "?date=2027-01-06&amp;span=day" in day and "?date=2027-01-08&amp;span=day" in day


def test_practice_calendar_opens_on_today_and_links_each_entry_to_its_case(client, cast):
    appointment(cast.couple_case, "2027-01-04", "14:00", "15:00", room=cast.room)
    appointment(cast.couple_case, "2027-01-05", "10:00", "11:00", room=cast.room)
    html = page(client, cast.coordinator, PRACTICE)
    assert re.findall(r'<h2 id="day-([0-9-]+)">', html) == ["2027-01-04"]
    assert "New appointment on this day" in html
    case_url = reverse("cases:detail", kwargs={"case_id": cast.couple_case.pk})
    assert html.count(f'href="{case_url}">T-0001</a>') == 1
    week = page(client, cast.coordinator, WEEK)
    assert week.count(f'href="{case_url}">T-0001</a>') == 2
    # The therapist and room calendars still open on their week.
    therapist = page(client, cast.coordinator, f"/scheduling/calendar/therapist/{cast.therapist_a.pk}/")
    assert len(re.findall(r'<h2 id="day-([0-9-]+)">', therapist)) == 7


def test_default_is_this_week_and_bad_input_falls_back(client, cast):
    html = page(client, cast.coordinator, f"{PRACTICE}?date=not-a-date&span=month")
    assert re.findall(r'<h2 id="day-([0-9-]+)">', html)[0] == "2027-01-04"
    assert '<span class="badge">Today</span>' in html


def test_picker_sends_on_to_the_chosen_calendar(client, cast):
    login(client, cast.coordinator)
    response = client.get(f"{PRACTICE}?show=room-{cast.room.pk}&date=2027-02-03&span=day")
    assert response.status_code == 302
    assert response["Location"] == f"/scheduling/calendar/room/{cast.room.pk}/?date=2027-02-03&span=day"
    html = page(client, cast.coordinator, PRACTICE)
    assert f'<option value="therapist-{cast.therapist_a.pk}">Tess Assigned</option>' in html
    assert f'value="room-{cast.room.pk}"' in html
    assert "Alex Partner" not in html  # clients are not therapists


def test_nav_links_to_the_calendar_for_staff_only(client, cast):
    html = page(client, cast.coordinator, "/")
    assert f'href="{PRACTICE}"' in html
    login(client, cast.partner_a)
    response = client.get("/portal/", follow=True)
    assert f'href="{PRACTICE}"' not in response.content.decode()


def test_working_hours_time_off_and_closures_are_shown(client, cast):
    profile = cast.therapist_a.therapist_profile
    location = cast.room.location
    WorkingHours.objects.filter(therapist=profile).delete()
    WorkingHours.objects.create(
        therapist=profile, location=location, weekday=1, starts=dt.time(9), ends=dt.time(17)
    )
    TimeOff.objects.create(
        therapist=cast.therapist_a,
        starts_at=at("2027-01-06", "00:00"),
        ends_at=at("2027-01-07", "00:00"),
        reason="Private family matter",
    )
    TimeOff.objects.create(
        therapist=cast.therapist_a, starts_at=at("2027-01-07", "13:00"), ends_at=at("2027-01-07", "17:00")
    )
    PracticeClosure.objects.create(date=dt.date(2027, 1, 8), reason="Team training day")
    html = page(client, cast.coordinator, f"/scheduling/calendar/therapist/{cast.therapist_a.pk}/")
    monday = html.split('id="day-2027-01-04"')[1].split("</section>")[0]
    assert "No working hours." in monday
    tuesday = html.split('id="day-2027-01-05"')[1].split("</section>")[0]
    assert (
        "Working <time" in tuesday
        and ">09:00</time>" in tuesday
        and ">17:00</time> · Canal Street" in tuesday
    )
    wednesday = html.split('id="day-2027-01-06"')[1].split("</section>")[0]
    assert "time off all day" in wednesday
    thursday = html.split('id="day-2027-01-07"')[1].split("</section>")[0]
    assert "time off <time" in thursday and "13:00</time>–17:00" in thursday  # noqa: RUF001
    friday = html.split('id="day-2027-01-08"')[1].split("</section>")[0]
    assert "Practice closed: Team training day" in friday
    assert "Private family matter" not in html
    practice = page(client, cast.coordinator, WEEK)
    assert "Tess Assigned: time off all day" in practice
    assert 'Tess Assigned: <time datetime="2027-01-05T09:00:00+01:00">09:00</time>' in practice


# --- Daylight saving ------------------------------------------------------------------------------
def test_spring_week_has_a_23_hour_sunday_and_offsets_change(client, cast):
    appointment(cast.couple_case, "2027-03-26", "10:00", "11:00", room=cast.room)
    appointment(cast.couple_case, "2027-03-29", "10:00", "11:00", room=cast.room)
    # 00:30 and 23:30 on the short day itself belong to that day, not to its neighbours.
    appointment(cast.couple_case, "2027-03-28", "00:30", "01:30", room=cast.room)
    appointment(cast.couple_case, "2027-03-28", "23:00", "23:45", room=cast.room)
    cal = calendar_build(viewer=cast.coordinator, anchor=dt.date(2027, 3, 24), span="week")
    by_day = {day.date: day for day in cal.days}
    sunday = by_day[dt.date(2027, 3, 28)]
    assert sunday.hours == 23
    assert [e.start_label for e in sunday.entries] == ["00:30", "23:00"]
    assert [e.start_label for e in by_day[dt.date(2027, 3, 26)].entries] == ["10:00"]
    html = page(client, cast.coordinator, f"{PRACTICE}?date=2027-03-24&span=week")
    assert "this day has 23 hours" in html
    assert '<time datetime="2027-03-26T10:00:00+01:00">10:00</time>' in html
    assert '<time datetime="2027-03-28T23:00:00+02:00">23:00</time>' in html
    after = page(client, cast.coordinator, f"{PRACTICE}?date=2027-03-29&span=day")
    assert '<time datetime="2027-03-29T10:00:00+02:00">10:00</time>' in after
    assert "hours." not in after.split('id="day-2027-03-29"')[1]


def test_autumn_day_view_has_25_hours_and_keeps_late_evening_on_its_day(client, cast):
    appointment(cast.couple_case, "2027-10-31", "23:15", "23:55", room=cast.room)
    appointment(cast.couple_case, "2027-11-01", "00:15", "00:55", room=cast.room)
    cal = calendar_build(viewer=cast.coordinator, anchor=dt.date(2027, 10, 31), span="day")
    (day,) = cal.days
    assert day.hours == 25
    assert [e.start_label for e in day.entries] == ["23:15"]
    html = page(client, cast.coordinator, f"{PRACTICE}?date=2027-10-31&span=day")
    assert "this day has 25 hours" in html
    assert '<time datetime="2027-10-31T23:15:00+01:00">23:15</time>' in html


def test_an_appointment_over_midnight_shows_on_both_days(cast):
    appointment(cast.couple_case, "2027-01-05", "23:30", "23:59", room=cast.room)
    row = Appointment.objects.get()
    row.ends_at = at("2027-01-06", "00:30")
    row.save()
    cal = calendar_build(viewer=cast.coordinator, anchor=dt.date(2027, 1, 5), span="week")
    tuesday, wednesday = cal.days[1], cal.days[2]
    assert [(e.start_label, e.end_label) for e in tuesday.entries] == [("23:30", "Wed 6 Jan 00:30")]
    assert [(e.start_label, e.end_label) for e in wednesday.entries] == [("Tue 5 Jan 23:30", "00:30")]


def test_span_days_week_starts_on_monday():
    assert span_days(dt.date(2027, 1, 10), "week")[0] == dt.date(2027, 1, 4)
    assert span_days(dt.date(2027, 1, 4), "week")[-1] == dt.date(2027, 1, 10)
    assert span_days(dt.date(2027, 1, 6), "day") == [dt.date(2027, 1, 6)]


# --- Queries --------------------------------------------------------------------------------------
def _grow_practice(cast, size: int) -> None:
    """`size` more therapists, rooms, cases, appointments, working hours and time off this week."""
    location = Location.objects.create(practice=cast.room.location.practice, name=f"Annex {size}")
    for n in range(size):
        therapist = make_user(f"extra{size}.{n}", Role.THERAPIST, gender=Gender.FEMALE)
        room = Room.objects.create(location=location, name=f"Room {size}-{n}")
        WorkingHours.objects.create(
            therapist=TherapistProfile.objects.get(user=therapist),
            location=location,
            weekday=n % 5,
            starts=dt.time(9),
            ends=dt.time(17),
        )
        TimeOff.objects.create(
            therapist=therapist, starts_at=at("2027-01-08", "09:00"), ends_at=at("2027-01-08", "12:00")
        )
        # Each extra case its own half hour, so that therapist_b, who co-holds them all, is never
        # double-booked (PostgreSQL's occupancy constraint would refuse it).
        slot = Case.objects.filter(reference__startswith="T-9").count()
        start, end = (
            f"{7 + slot // 2:02d}:{30 * (slot % 2):02d}",
            f"{7 + slot // 2:02d}:{30 * (slot % 2) + 25:02d}",
        )
        case = Case.objects.create(
            reference=f"T-9{size:02d}{n:02d}",
            partner_a=Client.objects.create(first_name="Extra", last_name=f"Client{n}"),
            absent_partner=AbsentPartner.UNAVAILABLE,
            phase=Phase.TREATMENT,
            therapist=therapist,
            opened_on=dt.date(2026, 10, 1),
        )
        for day in range(4, 9):
            appointment(
                case,
                f"2027-01-{day:02d}",
                start,
                end,
                therapists=[therapist, cast.therapist_b],
                room=room,
            )
        appointment(case, "2027-01-09", "12:00", "12:30", therapists=[therapist], mode=Mode.PHONE)
    PracticeClosure.objects.get_or_create(date=dt.date(2027, 1, 6), defaults={"reason": "Closed"})


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("who", ["coordinator", "therapist_b"])
def test_practice_week_runs_a_constant_number_of_queries(client, cast, who):
    login(client, getattr(cast, who))
    _grow_practice(cast, 2)
    small = _queries(client, WEEK)
    small_count = Appointment.objects.count()
    _grow_practice(cast, 12)
    large = _queries(client, WEEK)
    assert Appointment.objects.count() > 5 * small_count
    assert large == small
    # The week shows the first five therapists; every appointment one of them holds is on it, so the
    # count above is not of an empty calendar, and the other pages hold the rest.
    groups = therapist_groups()
    assert len(groups) > 2 and len(groups[0].ids) == 5
    for group in groups:
        html = client.get(f"{WEEK}&group={group.number}").content.decode()
        held = Appointment.objects.filter(therapists__in=group.ids).distinct().count()
        assert held and html.count('class="cal-entry') == held
        # Its working hours and time off are the same therapists', not the whole practice's.
        cal = calendar_build(viewer=getattr(cast, who), anchor=NOW.date(), span="week", group=group.number)
        shown = {block.who for day in cal.days for block in (*day.working, *day.away)}
        assert shown and shown <= set(group.names)
    assert _queries(client, f"{WEEK}&group=3") == small
    # The day the practice calendar opens on pages the same five therapists (a large practice books
    # hundreds of sessions a day), with as few queries as its week; its links keep the page.
    start, end = local_day_bounds(NOW.date())
    for group in groups:
        html = client.get(f"{PRACTICE}?group={group.number}").content.decode()
        held = (
            Appointment.objects.between(start, end)
            .filter(therapists__in=group.ids)
            .exclude(status=AppointmentStatus.CANCELLED)
            .distinct()
            .count()
        )
        assert held and html.count('class="cal-entry') == held
        assert f"span=day&amp;group={group.number}" in html and f"span=week&amp;group={group.number}" in html
    assert _queries(client, PRACTICE) <= small


def test_therapist_and_room_weeks_run_a_constant_number_of_queries(client, cast):
    login(client, cast.coordinator)
    therapist_url = f"/scheduling/calendar/therapist/{cast.therapist_b.pk}/"
    _grow_practice(cast, 2)
    small = _queries(client, therapist_url)
    _grow_practice(cast, 10)
    assert _queries(client, therapist_url) == small
    room = Room.objects.order_by("-pk").first()
    assert room is not None
    assert _queries(client, f"/scheduling/calendar/room/{room.pk}/") <= small


# --- Booking from a day -----------------------------------------------------------------------------
NEW = "/scheduling/calendar/new/"


def booking(cast, **changes):
    data = {
        "case": "t-0001",
        "kind": AppointmentKind.JOINT_ASSESSMENT,
        "mode": Mode.IN_PERSON,
        "date": "2027-01-12",
        "start": "10:00",
        "end": "11:30",
        "room": str(cast.room.pk),
        "next": f"{PRACTICE}?date=2027-01-12&span=day",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_day_view_offers_a_new_appointment_prefilled_for_the_day(client, cast):
    url = f"/scheduling/calendar/room/{cast.room.pk}/?date=2027-01-12&span=day"
    html = page(client, cast.coordinator, url)
    assert f"{NEW}?date=2027-01-12&amp;room={cast.room.pk}&amp;next=" in html
    form = page(client, cast.coordinator, f"{NEW}?date=2027-01-12&room={cast.room.pk}")
    assert 'value="2027-01-12"' in form
    assert f'<option value="{cast.room.pk}" selected>Room 1, Canal Street</option>' in form


def test_coordinator_books_from_the_calendar(client, cast):
    login(client, cast.coordinator)
    response = client.post(NEW, booking(cast))
    assert response.status_code == 302
    assert response["Location"] == f"{PRACTICE}?date=2027-01-12&span=day"
    booked = Appointment.objects.get()
    assert booked.starts_at == at("2027-01-12", "10:00") and booked.ends_at == at("2027-01-12", "11:30")
    assert set(booked.therapists.all()) == {cast.therapist_a, cast.cotherapist}
    assert booked.room == cast.room and booked.case == cast.couple_case


def test_a_clash_is_refused_with_its_message_and_nothing_is_written(client, cast):
    # The helper writes the therapists' and the room's occupancy, which the booking checks against.
    appointment(cast.couple_case, "2027-01-12", "10:00", "11:00", room=cast.room)
    assert Appointment.objects.get().occupancies.filter(resource_id=cast.therapist_a.pk).exists()
    login(client, cast.coordinator)
    response = client.post(
        NEW,
        booking(
            cast, case="T-0002", kind=AppointmentKind.STANDARD, mode=Mode.VIDEO, room=None, start="10:30"
        ),
    )
    assert response.status_code == 400
    assert "Tess Assigned already has a session on Tue 12 January 10:00" in response.content.decode()
    assert Appointment.objects.count() == 1


def test_a_case_the_user_cannot_open_reads_as_unknown(client, cast):
    login(client, cast.therapist_b)
    response = client.post(NEW, booking(cast))
    assert response.status_code == 400
    assert "No case with that reference that you can book." in response.content.decode()
    assert not Appointment.objects.exists()


def test_a_foreign_next_is_ignored_and_clients_cannot_book(client, cast):
    login(client, cast.coordinator)
    response = client.post(NEW, booking(cast, next="https://evil.example/"))
    assert response["Location"] == f"{PRACTICE}?date=2027-01-12&span=day"
    login(client, cast.partner_a)
    assert client.get(NEW).status_code == 404
    assert client.post(NEW, booking(cast, start="14:00", end="15:00")).status_code == 404
    assert Appointment.objects.count() == 1
