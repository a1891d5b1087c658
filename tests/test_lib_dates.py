"""tandem.lib.dates: Django's date filter remembered per value, in both template engines; always what
Django's own filter prints."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.template import Context, Template, engines
from django.template.defaultfilters import date as django_date
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from tandem.lib import dates

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
    assert dates.date(at, fmt) == django_date(at, fmt)
    # Asked again (now from the memory): the same.
    assert dates.date(at, fmt) == django_date(at, fmt)


def test_the_same_instant_in_two_zones_prints_each_zones_time():
    utc = dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC)
    assert dates.date(utc.astimezone(AMSTERDAM), "H:i") == "15:00"
    assert dates.date(utc.astimezone(NEW_YORK), "H:i") == "09:00"
    assert dates.date(utc, "H:i") == "14:00"


def test_either_side_of_the_autumn_change_keeps_its_own_offset():
    # 02:30 on the last Sunday of October happens twice in Amsterdam: equal as datetimes, an hour apart.
    first = dt.datetime(2026, 10, 25, 2, 30, tzinfo=AMSTERDAM, fold=0)
    second = first.replace(fold=1)
    assert dates.date(first, "c") == "2026-10-25T02:30:00+02:00"
    assert dates.date(second, "c") == "2026-10-25T02:30:00+01:00"


def test_a_day_and_a_day_with_a_time_are_not_confused():
    # Equal hashes are not the danger here (a date is never equal to a datetime), but the key says so.
    assert dates.date(dt.date(2026, 12, 7), "j M Y") == "7 Dec 2026"
    assert dates.date(dt.datetime(2026, 12, 7, 9, 30), "j M Y, H:i") == "7 Dec 2026, 09:30"
    assert dates.date(dt.datetime(2026, 12, 7), "j M Y") == "7 Dec 2026"


def test_the_language_is_part_of_what_is_remembered():
    day = dt.date(2026, 3, 2)
    assert dates.date(day, "j F") == "2 March"
    with translation.override("nl"):
        assert dates.date(day, "j F") == django_date(day, "j F") == "2 maart"
    assert dates.date(day, "j F") == "2 March"


def test_what_is_not_a_date_goes_to_django_as_before():
    assert dates.date(None, "j M") == django_date(None, "j M") == ""
    assert dates.date("", "j M") == ""


def test_the_memory_stays_bounded():
    start = dt.date(2000, 1, 1)
    for n in range(dates._DATES_KEPT + 10):
        dates.date(start + dt.timedelta(days=n), "j M Y")
    assert len(dates._DATES) <= dates._DATES_KEPT


def test_django_templates_print_dates_through_it_in_the_practice_zone(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    at = dt.datetime(2031, 7, 1, 12, 0, tzinfo=dt.UTC)
    dates._DATES.clear()
    assert Template('{{ at|date:"j M Y, H:i" }}').render(Context({"at": at})) == "1 Jul 2031, 14:00"
    assert any(key[1] == at for key in dates._DATES)


def test_the_jinja_fragments_print_dates_through_it():
    assert engines["jinja2"].env.filters["date"] is dates.date
