"""The kept intensive waiting list (planning/waiting.py) always equals its definition.

These tests commit for real (transactional test database): the rows are rewritten after each change
commits, which is when lib.later runs its handlers.
"""

from __future__ import annotations

import datetime as dt
import threading
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem.cases.models import Case, Client, Phase
from tandem.lib.errors import Refusal
from tandem.pathway.models import TreatmentFormat
from tandem.pathway.services import case_transition, plan_save
from tandem.planning.models import WaitingCase
from tandem.planning.waiting import intensive_waiting_list, waiting_count, waiting_refresh
from tandem.scheduling import services as scheduling
from tandem.scheduling.errors import BookingError
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentStatus
from tandem.scheduling.selectors import future_bookings
from tests.planning_support import NOW, at

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _clock(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    with time_machine.travel(NOW, tick=False):
        yield


def kept() -> set[int]:
    return set(WaitingCase.objects.values_list("case_id", flat=True))


def defined() -> set[int]:
    return set(intensive_waiting_list().values_list("pk", flat=True))


def plan(cast, case: Case, fmt: str) -> None:
    plan_save(
        actor=cast.director,
        case=case,
        format=fmt,
        goals="Synthetic goals.",
        sessions_per_week=1 if fmt == TreatmentFormat.STANDARD else None,
    )


def block(cast, case: Case, first_day: dt.date):
    return scheduling.intensive_book(
        actor=cast.coordinator,
        case=case,
        team=cast.couple_case.team,
        room=cast.room,
        first_day=first_day,
        start_time=dt.time(9),
        days=3,
    )


def single(cast, case: Case, day: dt.date) -> Appointment:
    start = at(day, "14:00")
    return scheduling.appointment_book(
        actor=cast.coordinator,
        case=case,
        kind=AppointmentKind.INTENSIVE,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        therapists=[cast.therapist_a, cast.cotherapist],
        room=cast.room,
    )


def cancel(cast, appointment: Appointment) -> None:
    scheduling.appointment_cancel(actor=cast.coordinator, appointment=appointment, reason="Synthetic reason.")


def test_every_change_that_moves_a_case_on_or_off_the_list_keeps_its_row(cast):
    case = cast.couple_case
    plan(cast, case, TreatmentFormat.INTENSIVE)
    assert kept() == defined() == {case.pk} and waiting_count() == 1
    series = block(cast, case, dt.date(2027, 3, 1))
    assert kept() == defined() == set()
    sessions = list(series.appointments.order_by("starts_at"))
    cancel(cast, sessions[0])
    assert kept() == defined() == set()  # two sessions of the block still stand
    for session in sessions[1:]:
        cancel(cast, session)
    assert kept() == defined() == {case.pk}
    plan(cast, case, TreatmentFormat.STANDARD)
    assert kept() == defined() == set()
    plan(cast, case, TreatmentFormat.INTENSIVE)
    assert kept() == defined() == {case.pk}
    one = single(cast, case, dt.date(2027, 3, 8))
    assert kept() == defined() == set()
    moved = at(dt.date(2027, 3, 9), "14:00")
    scheduling.appointment_move(
        actor=cast.coordinator,
        appointment=one,
        starts_at=moved,
        ends_at=moved + dt.timedelta(hours=2),
        reason="Synthetic reason.",
    )
    assert kept() == defined() == set()
    cancel(cast, one)
    assert kept() == defined() == {case.pk}
    # Closing the case ends its wait; its future bookings would be cancelled with it (none stand now).
    case_transition(actor=cast.director, case=case, to_phase=Phase.CLOSED, reason="Synthetic reason.")
    assert kept() == defined() == set()


def test_ending_care_with_an_intensive_booked_leaves_the_list_as_defined(cast):
    case = cast.couple_case
    plan(cast, case, TreatmentFormat.INTENSIVE)
    series = block(cast, case, dt.date(2027, 3, 1))
    booked = list(series.appointments.values_list("pk", flat=True))
    case_transition(
        actor=cast.director,
        case=case,
        to_phase=Phase.CLOSED,
        reason="Synthetic reason.",
        cancel_bookings=booked,
    )
    assert not Appointment.objects.filter(pk__in=booked).exclude(status=AppointmentStatus.CANCELLED).exists()
    assert kept() == defined() == set()


def test_the_rebuild_command_restores_the_rows_from_the_definition(cast):
    case = cast.couple_case
    plan(cast, case, TreatmentFormat.INTENSIVE)
    # A refresh that failed after its commit: the row is missing, and a stale one is left behind.
    WaitingCase.objects.all().delete()
    WaitingCase.objects.create(case=cast.solo_case)
    out = StringIO()
    call_command("waiting_list_rebuild", stdout=out)
    assert kept() == {case.pk}
    assert "1 case waiting" in out.getvalue()


def _couple(n: int) -> Case:
    a = Client.objects.create(first_name=f"Pat{n}", last_name="Synthetic")
    b = Client.objects.create(first_name=f"Quin{n}", last_name="Synthetic")
    return Case.objects.create(
        reference=f"T-H-{a.pk}",
        partner_a=a,
        partner_b=b,
        phase=Phase.ASSESSMENT,
        opened_on=dt.date(2026, 9, 1),
    )


operations = st.lists(
    st.tuples(
        st.sampled_from(["intensive", "standard", "block", "single", "cancel", "close"]),
        st.integers(min_value=0, max_value=1),  # which of the example's two cases
        st.integers(min_value=0, max_value=60),  # which day ahead, for bookings
    ),
    min_size=1,
    max_size=8,
)


@given(ops=operations)
@settings(deadline=None, max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_after_any_sequence_of_changes_the_kept_list_equals_the_definition(cast, ops):
    # The database is shared by the examples (real commits): each one works on two new couples, and the
    # whole practice's list must agree after every step.
    cast.couple_case.team.refresh_from_db()
    cases = [_couple(n) for n in range(2)]
    for team_case in cases:
        Case.objects.filter(pk=team_case.pk).update(team=cast.couple_case.team)
    for name, which, ahead in ops:
        case = Case.objects.get(pk=cases[which].pk)
        day = dt.date(2027, 2, 1) + dt.timedelta(days=ahead)
        try:
            if name in ("intensive", "standard"):
                plan(cast, case, name)
            elif name == "block":
                block(cast, case, day)
            elif name == "single":
                single(cast, case, day)
            elif name == "cancel":
                standing = Appointment.objects.filter(
                    case=case, kind=AppointmentKind.INTENSIVE, status=AppointmentStatus.BOOKED
                ).first()
                if standing is not None:
                    cancel(cast, standing)
            else:
                standing = future_bookings(case, now=NOW)
                case_transition(
                    actor=cast.director,
                    case=case,
                    to_phase=Phase.CLOSED,
                    reason="Synthetic reason.",
                    cancel_bookings=[a.pk for a in standing],
                )
        except (BookingError, Refusal):
            pass  # refused: nothing changed, and the list must still agree
        assert kept() == defined()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need a shared database: PostgreSQL")
def test_changes_committed_at_once_leave_the_row_as_defined(cast):
    # A plan version and an intensive booking for one case commit together; each refresh runs after its
    # own commit, under the case's lock, so the one that runs last reads both.
    case = cast.couple_case
    plan(cast, case, TreatmentFormat.STANDARD)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(work) -> None:
        try:
            start.wait()
            work()  # the clock is frozen for every thread (time_machine patches the process)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    for first_day in (dt.date(2027, 3, 1), dt.date(2027, 3, 15), dt.date(2027, 3, 29)):
        threads = [
            threading.Thread(target=run, args=(lambda: plan(cast, case, TreatmentFormat.INTENSIVE),)),
            threading.Thread(target=run, args=(lambda d=first_day: block(cast, case, d),)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        assert kept() == defined()
        waiting_refresh()
        assert kept() == defined()
