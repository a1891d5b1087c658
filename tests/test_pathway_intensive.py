"""An intensive treatment plan shows the block that scheduling booked, or offers to book it."""

import datetime as dt

import pytest
from django.urls import NoReverseMatch, reverse

from tandem.lib.time import practice_zone
from tandem.pathway import selectors
from tandem.pathway.services import plan_save
from tandem.scheduling.models import (
    Appointment,
    AppointmentKind,
    AppointmentSeries,
    AppointmentStatus,
    SeriesKind,
)
from tests.cast import Cast, login


def _intensive_plan(cast: Cast) -> None:
    plan_save(
        actor=cast.therapist_a,
        case=cast.couple_case,
        format="intensive",
        goals="Rebuild touch without pressure; agree a way to talk about sex.",
    )


def _block(
    cast: Cast, first: dt.date, days: int, *, minutes: int = 120, status: str = AppointmentStatus.BOOKED
):
    """An intensive block as the scheduling services book it: one series, one appointment a day."""
    case = cast.couple_case
    series = AppointmentSeries.objects.create(
        case=case, kind=SeriesKind.INTENSIVE, created_by=cast.coordinator
    )
    for n in range(days):
        start = dt.datetime.combine(first + dt.timedelta(days=n), dt.time(9, 30), tzinfo=practice_zone())
        appointment = Appointment.objects.create(
            case=case,
            kind=AppointmentKind.INTENSIVE,
            starts_at=start,
            ends_at=start + dt.timedelta(minutes=minutes),
            status=status,
            series=series,
        )
        appointment.therapists.set([cast.therapist_a, cast.cotherapist])
    return series


def _page(client, cast: Cast, user=None) -> str:
    login(client, user or cast.therapist_a)
    return client.get(reverse("cases:detail", kwargs={"case_id": cast.couple_case.pk})).content.decode()


def test_plan_shows_the_booked_block(client, cast):
    _intensive_plan(cast)
    # An earlier booking that was replaced by a later one does not count.
    _block(cast, dt.date(2026, 11, 2), 2, minutes=90)
    _block(cast, dt.date(2026, 11, 16), 5)
    block = selectors.intensive_block(case=cast.couple_case)
    assert block is not None
    assert (block.first_day, block.last_day, len(block.days)) == (
        dt.date(2026, 11, 16),
        dt.date(2026, 11, 20),
        5,
    )
    assert block.minutes == [120]
    assert [t.pk for t in block.therapists] == [cast.therapist_a.pk, cast.cotherapist.pk]
    page = _page(client, cast)
    assert "Monday 16 November 2026 to Friday 20 November 2026" in page
    assert "Tess Assigned and Colin Cotherapist" in page or "Colin Cotherapist and Tess Assigned" in page
    assert "120 minutes" in page and "Book the intensive block" not in page


def test_cancelled_days_are_left_out(cast):
    _intensive_plan(cast)
    _block(cast, dt.date(2026, 11, 16), 3)
    Appointment.objects.filter(starts_at__date=dt.date(2026, 11, 17)).update(
        status=AppointmentStatus.CANCELLED
    )
    block = selectors.intensive_block(case=cast.couple_case)
    assert block is not None and block.days == [dt.date(2026, 11, 16), dt.date(2026, 11, 18)]


def test_unbooked_block_links_to_booking_when_the_page_exists(client, cast, monkeypatch):
    _intensive_plan(cast)
    try:
        real = reverse("scheduling:availability", kwargs={"case_id": cast.couple_case.pk})
    except NoReverseMatch:
        real = None
    page = _page(client, cast)
    assert "The intensive block is not booked yet." in page
    if real is None:
        assert "Book the intensive block" not in page
    else:
        assert f'href="{real}"' in page

    def fake_reverse(name: str, kwargs: dict) -> str:
        assert name == "scheduling:availability"
        return f"/scheduling/cases/{kwargs['case_id']}/availability/"

    monkeypatch.setattr(selectors, "reverse", fake_reverse)
    page = _page(client, cast)
    assert f'href="/scheduling/cases/{cast.couple_case.pk}/availability/">Book the intensive block' in page

    def missing(name: str, kwargs: dict) -> str:
        raise NoReverseMatch(name)

    monkeypatch.setattr(selectors, "reverse", missing)
    assert "Book the intensive block" not in _page(client, cast)


@pytest.mark.parametrize("fmt", ["standard", "individual"])
def test_other_formats_show_no_block(client, cast, fmt):
    plan_save(actor=cast.therapist_a, case=cast.couple_case, format=fmt, goals="Goals", sessions_per_week=1)
    _block(cast, dt.date(2026, 11, 16), 2)
    assert "Intensive block" not in _page(client, cast)
