"""The one place that reads days and ids sent by a client refuses what no page or table can hold."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from tandem.lib.parse import LARGEST_ID, parse_day, parse_id, validate_day


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2027-01-07", dt.date(2027, 1, 7)),
        ("1900-01-01", dt.date(1900, 1, 1)),
        ("2999-12-31", dt.date(2999, 12, 31)),
        ("9999-12-31", None),
        ("0001-01-01", None),
        ("2026-02-30", None),
        ("not-a-date", None),
        ("", None),
        (None, None),
        (["2027-01-07"], None),
    ],
)
def test_parse_day(raw, expected):
    assert parse_day(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("42", 42),
        (42, 42),
        (str(LARGEST_ID), LARGEST_ID),
        (str(LARGEST_ID + 1), None),
        ("9" * 40, None),
        ("0", None),
        ("-1", None),
        ("\u00b2", None),  # str.isdigit() says yes, int() says no
        ("\u0663", None),  # an Arabic-Indic three: a digit, but not how ids are written
        ("1e3", None),
        (" 7", None),
        (True, None),
        (None, None),
    ],
)
def test_parse_id(raw, expected):
    assert parse_id(raw) == expected


def test_validate_day_names_the_range():
    validate_day(dt.date(2027, 1, 7))
    validate_day(None)
    with pytest.raises(ValidationError, match="between 1900 and 2999"):
        validate_day(dt.date(9999, 12, 31))
