"""The front door ("/"): the staff Today page, and clients sent on to their portal."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tandem.lib.time import local_day_bounds, local_today
from tandem.scheduling.models import Appointment, AppointmentKind
from tests.cast import login


def _count_queries(client, method: str, url: str, data: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = getattr(client, method)(url, data or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_today_lists_my_appointments_in_the_practice_zone(client, cast):
    start, _ = local_day_bounds(local_today())
    Appointment.objects.create(
        case=cast.couple_case,
        kind=AppointmentKind.JOINT_ASSESSMENT,
        starts_at=start + dt.timedelta(hours=9),
        ends_at=start + dt.timedelta(hours=10, minutes=30),
        room=cast.room,
    ).therapists.set([cast.therapist_a, cast.cotherapist])
    login(client, cast.therapist_a)
    page = client.get(reverse("today")).content.decode()
    assert (
        "09:00\u201310:30" in page
        and "Joint assessment" in page
        and "Alex Partner &amp; Blair Partner" in page
    )
    # A therapist's own table has no "With" column; the director's names both clinicians, and the room.
    assert ">With<" not in page
    login(client, cast.director)
    page = client.get(reverse("today")).content.decode()
    names = f"{cast.therapist_a.get_full_name()} & {cast.cotherapist.get_full_name()}"
    names_swapped = f"{cast.cotherapist.get_full_name()} & {cast.therapist_a.get_full_name()}"
    assert ">With<" in page and (names in page or names_swapped in page) and cast.room.name in page
    login(client, cast.therapist_b)
    assert "Joint assessment" not in client.get(reverse("today")).content.decode()


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

    add(2)
    few = _count_queries(client, "get", reverse("today"))
    add(20)
    assert _count_queries(client, "get", reverse("today")) == few


def test_client_is_sent_to_their_portal(client, cast):
    login(client, cast.partner_a)
    response = client.get(reverse("today"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:home")
    assert response.status_code == 200 and "Your next appointments" in response.content.decode()
