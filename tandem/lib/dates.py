"""Django's `date` filter, each date formatted once per worker, for both template engines.

Django's filter costs 30-100 microseconds a call (each month and day name is a translation lookup, the
format is parsed afresh), and the pages people open all day print many dates: Today a hundred, the case
page's timeline as many, a notes list seventy. The same few hundred dates and session times come back
on every page a worker serves. The Django engine takes this filter in place of its own (settings:
TEMPLATES builtins, lib/templatetags/remembered_dates.py), the Jinja2 fragments as `date`.
"""

import datetime as dt
from typing import Any

from django.template.defaultfilters import date as django_date
from django.utils.translation import get_language

_DATES: dict[tuple[Any, ...], str] = {}
_DATES_KEPT = 4096


def date(value: Any, arg: str | None = None) -> str:
    """What Django's `date` filter prints, remembered per value, format and language."""
    if not isinstance(value, dt.date):
        return django_date(value, arg)
    # Aware datetimes are equal when they are the same instant; the zone and offset are in the key so
    # that the same instant in another zone, or either side of a DST change, is formatted afresh.
    key: tuple[Any, ...] = (type(value), value, arg, get_language())
    if isinstance(value, dt.datetime):
        key += (value.tzinfo, value.utcoffset())
    text = _DATES.get(key)
    if text is None:
        if len(_DATES) >= _DATES_KEPT:
            _DATES.clear()
        text = _DATES[key] = django_date(value, arg)
    return text
