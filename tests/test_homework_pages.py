"""The therapists' homework page of a case, the unlock button, and the fragments for the case and Today."""

import datetime as dt

import pytest
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.access.services import care_scope
from tandem.demo.grid import occupancies
from tandem.homework.models import Assignment, AssignmentStatus
from tandem.homework.services import assignment_create
from tandem.lib.time import local_today
from tandem.scheduling.models import Appointment, AppointmentKind, Occupancy
from tests.cast import login
from tests.homework_support import couple_sensate, exercise, individual_for_b, log

ROLES = {
    "director": 200,
    "therapist_a": 200,
    "cotherapist": 200,
    "therapist_b": 404,  # not on the case
    "coordinator": 404,  # homework is clinical content
    "partner_a": 404,  # clients never reach staff pages
    "partner_b": 404,
}


def _page(case) -> str:
    return reverse("homework:case", kwargs={"case_id": case.pk})


@pytest.mark.parametrize(("role", "status"), ROLES.items())
def test_homework_page_by_role(client, cast, role, status):
    first = couple_sensate(cast)
    log(cast, "partner_a", first, shared=False, note="PRIVATE-A-NOTE")
    login(client, getattr(cast, role))
    response = client.get(_page(cast.couple_case))
    assert response.status_code == status
    if status == 404:
        assert b"PRIVATE-A-NOTE" not in response.content
    unlock = client.post(reverse("homework:unlock", kwargs={"assignment_id": first.pk}))
    first.refresh_from_db()
    if status == 404:
        assert unlock.status_code == 404 and first.status == AssignmentStatus.ACTIVE
    else:
        assert unlock.status_code == 302


def test_therapist_sees_both_partners_entries_including_private_ones(client, cast):
    first = couple_sensate(cast)
    log(cast, "partner_a", first, shared=False, note="PRIVATE-A-NOTE")
    log(cast, "partner_b", first, shared=True, note="SHARED-B-NOTE")
    individual_for_b(cast)
    login(client, cast.therapist_a)
    content = client.get(_page(cast.couple_case)).content.decode()
    assert "PRIVATE-A-NOTE" in content and "SHARED-B-NOTE" in content
    assert "SECRET-B-ASSIGNMENT-NOTE" in content and "Blair only" in content
    assert "1 of 3 done" in content
    assert "Unlock the next stage" in content


def test_therapist_assigns_through_the_form(client, cast):
    login(client, cast.therapist_a)
    response = client.post(
        _page(cast.couple_case),
        {"exercise": exercise("sensate-focus-1").pk, "for_whom": "couple", "times_expected": "3"},
    )
    assert response.status_code == 302
    assert Assignment.objects.get().times_expected == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"for_whom": "couple", "times_expected": "3"}, "Choose an exercise."),
        ({"exercise": "SF1", "for_whom": "couple"}, "Give a number of times, a due date, or both."),
        ({"exercise": "SF1", "for_whom": "B", "times_expected": "2"}, "done by both partners together"),
        ({"exercise": "ALONE", "for_whom": "couple", "times_expected": "2"}, "choose one partner"),
        ({"exercise": "SF1", "for_whom": "couple", "due_on": "2001-01-01"}, "cannot be in the past"),
        ({"exercise": "SF2", "for_whom": "couple", "times_expected": "2"}, "Choose one from the list."),
    ],
)
def test_invalid_assignment_says_why(client, cast, data, message):
    ids = {
        "SF1": exercise("sensate-focus-1").pk,
        "SF2": exercise("sensate-focus-2").pk,
        "ALONE": exercise("arousal-awareness").pk,
        "B": cast.couple_case.partner_b_id,
    }
    login(client, cast.therapist_a)
    response = client.post(_page(cast.couple_case), {k: ids.get(v, v) for k, v in data.items()})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Assignment.objects.exists()


def test_unlock_from_the_page(client, cast):
    first = couple_sensate(cast)
    login(client, cast.therapist_a)
    response = client.post(reverse("homework:unlock", kwargs={"assignment_id": first.pk}), follow=True)
    assert "Sensate focus, stage 2" in response.content.decode()
    assert Assignment.objects.get(previous=first).exercise.slug == "sensate-focus-2"
    again = client.post(reverse("homework:unlock", kwargs={"assignment_id": first.pk}), follow=True)
    assert "already been unlocked" in again.content.decode()
    assert Assignment.objects.count() == 2


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_homework_page_queries_do_not_grow_with_assignments_and_entries(client, cast):
    login(client, cast.therapist_a)
    first = couple_sensate(cast)
    log(cast, "partner_a", first, shared=True, note="one")
    few = _queries(client, _page(cast.couple_case))
    for _ in range(4):
        more = assignment_create_reading(cast)
        log(cast, "partner_a", more, shared=True, note="x")
        log(cast, "partner_b", more, shared=False, note="y")
    individual_for_b(cast)
    many = _queries(client, _page(cast.couple_case))
    assert many == few
    assert many <= 20


def assignment_create_reading(cast) -> Assignment:
    return assignment_create(
        actor=cast.therapist_a,
        case=cast.couple_case,
        exercise=exercise("appreciation-exchange"),
        times_expected=5,
    )


def _render(template: str, user, **context) -> str:
    request = RequestFactory().get("/")
    request.user = user
    return Template(template).render(Context({"request": request, **context}))


def test_case_fragment_shows_adherence_to_clinicians_only(cast):
    first = couple_sensate(cast)
    log(cast, "partner_a", first, shared=False, note="n")
    fragment = "{% load homework %}{% case_adherence case %}"
    shown = _render(fragment, cast.therapist_a, case=cast.couple_case)
    assert "Sensate focus, stage 1" in shown and "1 of 3 done" in shown and "0 of 3 done" in shown
    assert _render(fragment, cast.coordinator, case=cast.couple_case).strip() == ""
    assert _render(fragment, cast.therapist_b, case=cast.couple_case).strip() == ""


def test_today_fragment_lists_homework_of_the_day_sessions(cast):
    first = couple_sensate(cast)
    log(cast, "partner_b", first, shared=True, note="n")
    start = timezone.make_aware(dt.datetime.combine(local_today(), dt.time(12, 0)))
    appointment = Appointment.objects.create(
        case=cast.couple_case,
        kind=AppointmentKind.STANDARD,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
    )
    appointment.therapists.set([cast.therapist_a, cast.cotherapist])
    # With the occupancy a booking writes: a clinician's sessions of the day are found by it.
    Occupancy.objects.bulk_create(occupancies(appointment, [cast.therapist_a.pk, cast.cotherapist.pk], []))
    fragment = "{% load homework %}{% today_adherence %}"
    shown = _render(fragment, cast.therapist_a)
    assert "Alex Partner &amp; Blair Partner" in shown and "1 of 3 done" in shown
    assert "Sensate focus" not in _render(fragment, cast.therapist_b)
    assert _render(fragment, cast.coordinator).strip() == ""
    # The director's block is about their own sessions as a clinician: the practice's day is the calendar's.
    assert "Sensate focus" not in _render(fragment, cast.director)
    appointment.therapists.add(cast.director)
    Occupancy.objects.bulk_create(occupancies(appointment, [cast.director.pk], []))
    assert "1 of 3 done" in _render(fragment, cast.director)
    # On Today the cases in care are read once for the whole page and handed over as `care`; alone, the
    # fragment reads them itself (one query more).
    care = care_scope(cast.therapist_a)
    with CaptureQueriesContext(connection) as ctx:
        assert "1 of 3 done" in _render(fragment, cast.therapist_a, care=care)
    assert len(ctx.captured_queries) <= 3
    with CaptureQueriesContext(connection) as ctx:
        _render(fragment, cast.therapist_a)
    assert len(ctx.captured_queries) <= 4
    # And Today hands over the cases of the day's sessions it has already read.
    with CaptureQueriesContext(connection) as ctx:
        shown = _render(fragment, cast.therapist_a, care=care, day_case_ids=[cast.couple_case.pk])
    assert "1 of 3 done" in shown and len(ctx.captured_queries) <= 2
    assert "Sensate focus" not in _render(fragment, cast.therapist_a, care=care, day_case_ids=[])
