"""tandem.lib.jinja's filters: dates remembered, choice labels from a table; always what Django prints."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.template.defaultfilters import date as django_date
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from tandem.cases.models import Case
from tandem.lib import jinja
from tandem.scheduling.models import Appointment

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NEW_YORK = ZoneInfo("America/New_York")
FORMATS = ["j M", "j M Y", "H:i", "D j M Y, H:i", "c", "j M, H:i", "l j F", "O T", "U"]


@given(
    at=st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2040, 1, 1),
        timezones=st.sampled_from([AMSTERDAM, NEW_YORK, dt.UTC]),
    ),
    fmt=st.sampled_from(FORMATS),
)
def test_an_instant_prints_as_django_prints_it(at, fmt):
    assert jinja.date(at, fmt) == django_date(at, fmt)
    # Asked again (now from the memory): the same.
    assert jinja.date(at, fmt) == django_date(at, fmt)


def test_the_same_instant_in_two_zones_prints_each_zones_time():
    utc = dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC)
    assert jinja.date(utc.astimezone(AMSTERDAM), "H:i") == "15:00"
    assert jinja.date(utc.astimezone(NEW_YORK), "H:i") == "09:00"
    assert jinja.date(utc, "H:i") == "14:00"


def test_either_side_of_the_autumn_change_keeps_its_own_offset():
    # 02:30 on the last Sunday of October happens twice in Amsterdam: equal as datetimes, an hour apart.
    first = dt.datetime(2026, 10, 25, 2, 30, tzinfo=AMSTERDAM, fold=0)
    second = first.replace(fold=1)
    assert jinja.date(first, "c") == "2026-10-25T02:30:00+02:00"
    assert jinja.date(second, "c") == "2026-10-25T02:30:00+01:00"


def test_a_day_and_a_day_with_a_time_are_not_confused():
    # Equal hashes are not the danger here (a date is never equal to a datetime), but the key says so.
    assert jinja.date(dt.date(2026, 12, 7), "j M Y") == "7 Dec 2026"
    assert jinja.date(dt.datetime(2026, 12, 7, 9, 30), "j M Y, H:i") == "7 Dec 2026, 09:30"
    assert jinja.date(dt.datetime(2026, 12, 7), "j M Y") == "7 Dec 2026"


def test_the_language_is_part_of_what_is_remembered():
    day = dt.date(2026, 3, 2)
    assert jinja.date(day, "j F") == "2 March"
    with translation.override("nl"):
        assert jinja.date(day, "j F") == django_date(day, "j F") == "2 maart"
    assert jinja.date(day, "j F") == "2 March"


def test_what_is_not_a_date_goes_to_django_as_before():
    assert jinja.date(None, "j M") == django_date(None, "j M") == ""
    assert jinja.date("", "j M") == ""


def test_the_memory_stays_bounded():
    start = dt.date(2000, 1, 1)
    for n in range(jinja._DATES_KEPT + 10):
        jinja.date(start + dt.timedelta(days=n), "j M Y")
    assert len(jinja._DATES) <= jinja._DATES_KEPT


@pytest.mark.parametrize(
    ("model", "name"),
    [(Case, "phase"), (Appointment, "kind"), (Appointment, "mode"), (Appointment, "status")],
)
def test_a_choice_label_is_what_django_displays(model, name):
    for value, _ in model._meta.get_field(name).flatchoices:
        row = model(**{name: value})
        assert jinja.label(row, name) == getattr(row, f"get_{name}_display")()


def test_a_value_outside_the_choices_prints_as_itself():
    row = Case(phase="not-a-phase")
    assert jinja.label(row, "phase") == row.get_phase_display() == "not-a-phase"
