"""Reading what a client sent, in one place: days within the range the application handles, and row ids.

Pages step a week or a month either side of the day they show and turn local days into UTC instants;
near year 1 or year 9999 that overflows `datetime`, so a day outside these bounds is bad input, refused
where it is read (a form error, a 400), never an arithmetic error deep inside a page. An id is ASCII
digits small enough for a primary key; anything else names no row.
"""

import datetime as dt

from django.core.exceptions import ValidationError

EARLIEST_DAY = dt.date(1900, 1, 1)
LATEST_DAY = dt.date(2999, 12, 31)
OUT_OF_RANGE = f"Choose a date between {EARLIEST_DAY:%Y} and {LATEST_DAY:%Y}."


def parse_day(raw: object) -> dt.date | None:
    """An ISO date (YYYY-MM-DD) within the handled days; None when absent, unreadable or outside."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return None
    return day if EARLIEST_DAY <= day <= LATEST_DAY else None


def validate_day(day: dt.date | None) -> None:
    """A form field validator: refuses days outside the handled range with a clear message."""
    if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValidationError(OUT_OF_RANGE, code="out_of_range")


# The largest primary key any table can hold (a signed 64-bit integer): a bigger number names nothing.
LARGEST_ID = 2**63 - 1


def parse_id(raw: object) -> int | None:
    """A row id written in ASCII digits (`str.isdigit` also accepts '²', which `int` refuses) and small
    enough for a primary key; None otherwise."""
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        return None
    text = str(raw)
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(LARGEST_ID)):
        return None
    number = int(text)
    return number if 0 < number <= LARGEST_ID else None
