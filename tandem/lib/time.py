"""Clinic-local time: days mean the practice's wall-clock days, stored instants are UTC."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def practice_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_today() -> dt.date:
    return timezone.localdate(timezone.now(), practice_zone())


def local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The half-open instant range of one local day; 23 or 25 hours long on DST change days."""
    zone = practice_zone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end
