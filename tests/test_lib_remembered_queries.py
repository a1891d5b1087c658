"""tandem.lib.remembered_queries: SQL compiled once per worker, run with each call's values; the rows are
what Django's own queryset gives, and a builder whose query hides a value is refused on its first call."""

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count, Prefetch, QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tandem.cases.models import Case, PhaseChange
from tandem.lib.lookups import Ids
from tandem.lib.remembered_queries import RememberedQueryError, remembered_query
from tandem.lib.time import practice_zone
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentStatus
from tandem.scheduling.services import appointment_book
from tests.cast import individual_case

pytestmark = pytest.mark.django_db


@remembered_query
def _case_with_people(*, case_id: int) -> QuerySet[Case]:
    return Case.objects.filter(pk=case_id).with_people().order_by()


@remembered_query
def _opened_between(*, first: dt.date, last: dt.date, phase: str) -> QuerySet[Case]:
    return Case.objects.filter(opened_on__gte=first, opened_on__lte=last, phase=phase).order_by("reference")


@remembered_query
def _sessions_from(*, case_id: int, since: dt.datetime) -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(case_id=case_id, starts_at__gte=since)
        .exclude(status=AppointmentStatus.CANCELLED)
        .prefetch_related(Prefetch("therapists"))
        .order_by("starts_at")
    )


@remembered_query
def _references(*, ids: Ids) -> QuerySet[Case]:
    return Case.objects.filter(pk__any_of=ids).order_by("reference")


@remembered_query
def _phase_counts(*, first: dt.date) -> QuerySet[Case, Any]:
    return Case.objects.filter(opened_on__gte=first).values("phase").annotate(n=Count("id")).order_by("phase")


def test_rows_are_the_querysets_rows_with_their_related_objects(cast):
    for case in (cast.couple_case, cast.solo_case):
        (remembered,) = _case_with_people.rows(case_id=case.pk)
        (expected,) = _case_with_people.queryset(case_id=case.pk)
        assert remembered == expected
        # select_related came back whole: no query for the people.
        with CaptureQueriesContext(connection) as queries:
            names = (remembered.partner_a.full_name, getattr(remembered.partner_b, "full_name", None))
            team = remembered.team and (remembered.team.first.username, remembered.team.second.username)
            therapist = remembered.therapist and remembered.therapist.username
        assert len(queries) == 0
        assert names == (expected.partner_a.full_name, getattr(expected.partner_b, "full_name", None))
        assert team == (expected.team and (expected.team.first.username, expected.team.second.username))
        assert therapist == (expected.therapist and expected.therapist.username)
    assert _case_with_people.rows(case_id=10**9) == []
    # first(): the one row, or None when there is none.
    assert _case_with_people.first(case_id=cast.solo_case.pk) == cast.solo_case
    assert _case_with_people.first(case_id=10**9) is None


def test_each_call_runs_its_own_values_in_one_query(cast):
    individual_case("T-0103", "Robin", "Three", phase="intake", opened_on=dt.date(2026, 3, 5))
    individual_case("T-0104", "Kit", "Four", phase="treatment", opened_on=dt.date(2026, 3, 9))
    args = [
        {"first": dt.date(2026, 3, 1), "last": dt.date(2026, 3, 31), "phase": "intake"},
        {"first": dt.date(2026, 3, 1), "last": dt.date(2026, 3, 31), "phase": "treatment"},
        {"first": dt.date(2026, 3, 6), "last": dt.date(2026, 12, 31), "phase": "assessment"},
        {"first": dt.date(2026, 1, 1), "last": dt.date(2026, 3, 4), "phase": "intake"},
    ]
    for values in args:
        with CaptureQueriesContext(connection) as queries:
            rows = _opened_between.rows(**values)
        assert len(queries) == 1
        assert [c.reference for c in rows] == [c.reference for c in _opened_between.queryset(**values)]
    assert [c.reference for c in _opened_between.rows(**args[0])] == ["T-0103"]
    assert [c.reference for c in _opened_between.rows(**args[2])] == ["T-0001"]


def test_datetimes_and_prefetches_work_as_for_the_queryset(cast):
    day = timezone.localdate(timezone.now(), practice_zone()) + dt.timedelta(days=3)
    start = dt.datetime.combine(day, dt.time(10), tzinfo=practice_zone())
    for days in (0, 1):
        appointment_book(
            actor=cast.director,
            case=cast.couple_case,
            kind=AppointmentKind.JOINT_ASSESSMENT,
            starts_at=start + dt.timedelta(days=days),
            ends_at=start + dt.timedelta(days=days, hours=1),
            therapists=[cast.therapist_a],
            room=cast.room,
        )
    for since, expected in (
        (start, 2),
        (start + dt.timedelta(hours=1), 1),
        (start + dt.timedelta(days=2), 0),
    ):
        rows = _sessions_from.rows(case_id=cast.couple_case.pk, since=since)
        assert len(rows) == expected
        assert rows == list(_sessions_from.queryset(case_id=cast.couple_case.pk, since=since))
        with CaptureQueriesContext(connection) as queries:
            therapists = [[t.username for t in a.therapists.all()] for a in rows]
        assert len(queries) == 0
        assert therapists == [[cast.therapist_a.username]] * expected


def test_ids_and_values_querysets(cast):
    both = Ids([cast.couple_case.pk, cast.solo_case.pk])
    assert [c.reference for c in _references.rows(ids=both)] == ["T-0001", "T-0002"]
    assert [c.reference for c in _references.rows(ids=Ids([cast.solo_case.pk]))] == ["T-0002"]
    assert _references.rows(ids=Ids([])) == []
    assert _phase_counts.rows(first=dt.date(2026, 1, 1)) == [
        {"phase": "assessment", "n": 1},
        {"phase": "intake", "n": 1},
    ]
    assert _phase_counts.rows(first=dt.date(2026, 9, 15)) == [{"phase": "intake", "n": 1}]


def test_a_query_whose_text_depends_on_a_value_is_refused(cast):
    @remembered_query
    def limited(*, case_id: int) -> QuerySet[Case]:
        return Case.objects.filter(pk__gte=case_id).order_by("pk")[: case_id % 7 + 1]

    with pytest.raises(RememberedQueryError, match="text depends on its values"):
        limited.rows(case_id=cast.couple_case.pk)


def test_a_parameter_computed_from_a_value_is_refused(cast):
    @remembered_query
    def day_before(*, day: dt.date) -> QuerySet[Case]:
        return Case.objects.filter(opened_on__gte=day - dt.timedelta(days=1))

    with pytest.raises(RememberedQueryError, match="computed from a value"):
        day_before.rows(day=dt.date(2026, 9, 2))


def test_a_value_that_never_reaches_the_query_is_refused(cast):
    @remembered_query
    def ignores(*, case_id: int) -> QuerySet[Case]:
        return Case.objects.all()

    with pytest.raises(RememberedQueryError, match="never reach the query"):
        ignores.rows(case_id=cast.couple_case.pk)


@pytest.mark.parametrize("value", [None, True, 1.5, [1, 2]])
def test_values_that_would_change_the_text_are_refused(cast, value):
    @remembered_query
    def by_id(*, case_id: object) -> QuerySet[Case]:
        return Case.objects.filter(pk=case_id)

    with pytest.raises(RememberedQueryError):
        by_id.rows(case_id=value)


def test_the_check_catches_a_branch_the_stand_ins_cannot_see(cast, settings):
    # Small ids take another branch than the stand-ins do: the shape learnt is the wrong one for them.
    @remembered_query
    def sneaky(*, case_id: int) -> QuerySet[PhaseChange]:
        rows = PhaseChange.objects.filter(case_id=case_id)
        return rows.filter(to_phase="intake") if case_id < 10**9 else rows

    settings.TANDEM_CHECK_REMEMBERED_QUERIES = True
    with pytest.raises(RememberedQueryError, match="differs from Django's"):
        sneaky.rows(case_id=cast.couple_case.pk)
    # Unchecked (production), the call runs the remembered text: why the test suite keeps the check on.
    settings.TANDEM_CHECK_REMEMBERED_QUERIES = False
    assert isinstance(sneaky.rows(case_id=cast.couple_case.pk), list)


def test_a_date_read_inside_the_builder_is_refused(cast):
    # Today's date read when the query is built would stay the first call's past midnight.
    @remembered_query
    def opened_before_today(*, phase: str) -> QuerySet[Case]:
        return Case.objects.filter(phase=phase, opened_on__lt=timezone.localdate())

    if connection.vendor != "postgresql":
        pytest.skip("SQLite is sent dates as text, where a date cannot be told from other text")
    with pytest.raises(RememberedQueryError, match="must be given as a value"):
        opened_before_today.rows(phase="intake")


def test_an_id_no_column_can_hold_finds_nothing_as_djangos_queryset_does(cast):
    # An id typed into an address: Django answers with no rows rather than sending it to the database.
    for huge in (2**63, -(2**63) - 1, 10**30):
        assert _case_with_people.rows(case_id=huge) == []
    assert _case_with_people.rows(case_id=2**63 - 1) == []


def test_a_value_of_another_type_is_learnt_afresh_not_sent_in_the_old_place(cast):
    # Learnt with dates; a datetime where a date was is turned into a date by Django (computed from the
    # value, so refused), rather than sent as a timestamp in the date's place.
    individual_case("T-0105", "Ash", "Five", phase="intake", opened_on=dt.date(2026, 3, 5))
    as_dates = _opened_between.rows(first=dt.date(2026, 3, 1), last=dt.date(2026, 3, 31), phase="intake")
    assert [c.reference for c in as_dates] == ["T-0105"]
    midnight = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    with pytest.raises(RememberedQueryError, match="computed from a value"):
        _opened_between.rows(first=midnight, last=dt.date(2026, 3, 31), phase="intake")
    assert [
        c.reference
        for c in _opened_between.queryset(first=midnight, last=dt.date(2026, 3, 31), phase="intake")
    ] == ["T-0105"]
