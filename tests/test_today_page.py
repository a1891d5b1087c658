"""The front door ("/"): the staff Today page, and clients sent on to their portal."""

import datetime as dt

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tandem.demo.grid import occupancies
from tandem.lib.time import local_day_bounds, local_today
from tandem.scheduling.models import Appointment, AppointmentKind, Occupancy
from tests.cast import individual_case, login


def _count_queries(client, method: str, url: str, data: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = getattr(client, method)(url, data or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _session(cast, start: dt.datetime, *, minutes: int = 60, therapists=None, kind=AppointmentKind.STANDARD):
    appointment = Appointment.objects.create(
        case=cast.couple_case,
        kind=kind,
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=minutes),
        room=cast.room,
    )
    appointment.therapists.set(therapists or [cast.therapist_a])
    # With the therapists' occupancy, as a booking writes it: Today finds a clinician's sessions by it.
    Occupancy.objects.bulk_create(occupancies(appointment, [t.pk for t in appointment.therapists.all()], []))
    return appointment


def test_today_lists_my_appointments_in_the_practice_zone(client, cast):
    start, _ = local_day_bounds(local_today())
    _session(
        cast,
        start + dt.timedelta(hours=9),
        minutes=90,
        therapists=[cast.therapist_a, cast.cotherapist],
        kind=AppointmentKind.JOINT_ASSESSMENT,
    )
    with time_machine.travel(start + dt.timedelta(hours=8), tick=False):
        login(client, cast.therapist_a)
        page = client.get(reverse("today")).content.decode()
        assert (
            "09:00\u201310:30" in page
            and "Joint assessment" in page
            and "Alex Partner &amp; Blair Partner" in page
        )
        # A therapist's own table has no "With" column, and no practice's day.
        assert ">With<" not in page and "The practice today" not in page
        # The director's and the front desk's practice's day names both clinicians, and the room.
        names = f"{cast.therapist_a.get_full_name()} & {cast.cotherapist.get_full_name()}"
        names_swapped = f"{cast.cotherapist.get_full_name()} & {cast.therapist_a.get_full_name()}"
        for role in ("director", "coordinator"):
            login(client, getattr(cast, role))
            page = client.get(reverse("today")).content.decode()
            assert "The practice today" in page and "1 session today, 1 still to come or under way" in page
            assert ">With<" in page and (names in page or names_swapped in page) and cast.room.name in page
            assert f'<td class="optional">{cast.room.name}, Canal Street</td>' in page
            # The front desk sees no clients: no table of its own.
            assert ("My appointments" in page) == (role == "director")
        login(client, cast.therapist_b)
        assert "Joint assessment" not in client.get(reverse("today")).content.decode()


def test_the_practice_day_is_counted_and_lists_the_next_sessions_from_now(client, cast):
    start, _ = local_day_bounds(local_today())
    for i in range(25):
        _session(cast, start + dt.timedelta(hours=8, minutes=15 * i), minutes=10)
    # The director's own session of the day: theirs on Today, with its homework, beside the practice's.
    _session(cast, start + dt.timedelta(hours=7), minutes=30, therapists=[cast.director])
    calendar_day = f"{reverse('scheduling:calendar_practice')}?date={local_today():%Y-%m-%d}&amp;span=day"
    # (Logged in at each moment: a session idle for hours has expired.)
    # At 10:00 the sessions that began at 08:00 .. 09:45 are over (ten minutes each): 17 to come.
    with time_machine.travel(start + dt.timedelta(hours=10), tick=False):
        login(client, cast.director)
        page = client.get(reverse("today")).content.decode()
        assert "26 sessions today, 17 still to come or under way." in page
        assert page.count("<tr>") == 2 + 1 + 17  # own table: head and row; the practice's: head and 17
        assert "10:00\u201310:10" in page and "09:45\u201309:55" not in page and calendar_day in page
        assert "07:00\u201307:30" in page.split('id="practice-day-h"')[0]  # the director's own, first
    # At 08:00 all 26 but the director's own are to come; twenty are listed, the rest are a click away.
    with time_machine.travel(start + dt.timedelta(hours=7, minutes=45), tick=False):
        login(client, cast.director)
        page = client.get(reverse("today")).content.decode()
        assert "26 sessions today, 25 still to come or under way. The next 20:" in page
        assert "12:45\u201312:55" in page and "13:00\u201313:10" not in page
    # After the day: the count, no table, the calendar.
    with time_machine.travel(start + dt.timedelta(hours=20), tick=False):
        login(client, cast.director)
        page = client.get(reverse("today")).content.decode()
        assert "26 sessions today, 0 still to come or under way." in page and calendar_day in page
        assert page.count("<tr>") == 2


def test_today_query_count_does_not_grow_with_appointments(client, cast):
    start, _ = local_day_bounds(local_today())
    login(client, cast.director)

    def add(n: int) -> None:
        for i in range(n):
            appt = Appointment.objects.create(
                case=cast.couple_case,
                kind=AppointmentKind.STANDARD,
                starts_at=start + dt.timedelta(hours=8, minutes=10 * i),
                ends_at=start + dt.timedelta(hours=8, minutes=10 * i + 5),
            )
            appt.therapists.set([cast.therapist_a])

    # Before the first session, so every one is still to come whatever the clock says: a
    # page whose rows are all past draws no table and would count fewer queries.
    with time_machine.travel(start + dt.timedelta(hours=7), tick=False):
        login(client, cast.director)
        add(2)
        few = _count_queries(client, "get", reverse("today"))
        add(20)
        assert _count_queries(client, "get", reverse("today")) == few


def test_client_is_sent_to_their_portal(client, cast):
    login(client, cast.partner_a)
    response = client.get(reverse("today"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:home")
    assert response.status_code == 200 and "Your next appointments" in response.content.decode()


def test_today_links_the_cases_needing_action_by_their_partners_names(client, cast):
    from tandem.cases.models import Phase

    waiting = individual_case("T-0009", "Wren", "Waiting", phase=Phase.INTAKE, opened_on=dt.date(2026, 8, 1))
    login(client, cast.director)
    page = client.get(reverse("today")).content.decode()

    def section(title: str) -> str:
        return page[page.index(f"<h3>{title}</h3>") :].split("</ul>")[0]

    unassigned = section("Waiting for a therapist")
    assert (
        f'<a href="{reverse("cases:detail", args=[waiting.pk])}">Wren Waiting (individual)</a>' in unassigned
    )
    assert 'T-0009 · <span class="badge phase-intake">Intake</span>' in unassigned
    no_next = section("No next session booked")
    assert "Alex Partner &amp; Blair Partner</a>" in no_next and "Sam Solo (individual)" in no_next
    assert "Wren Waiting" not in no_next  # nobody to book it with yet
    unbooked = section("Assessment sessions not booked")
    assert 'T-0001 · <span class="badge phase-assessment">Assessment</span>' in unbooked
