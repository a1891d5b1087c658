"""The practice's own rules in the demo: a saved booking policy and closures for public holidays."""

from __future__ import annotations

import datetime as dt

import holidays
from django.conf import settings

from tandem.practice.models import PracticeClosure, PracticePolicy, TeamRule


def policy_row() -> PracticePolicy:
    """A saved policy (the defaults, written down), so the admin shows the row a practice would edit."""
    return PracticePolicy.objects.create(
        team_rule=TeamRule.MIXED_GENDER,
        intensive_days=10,
        intensive_minutes=120,
        intensive_weekdays_only=True,
        late_cancel_hours=24,
    )


def holiday_closures(*, today: dt.date) -> list[PracticeClosure]:
    """The country's public holidays from a year back to a year ahead, as closures.

    Today is never closed: the demo is started on the day it is seeded and should show a working day.
    """
    first, last = today - dt.timedelta(days=366), today + dt.timedelta(days=366)
    calendar = holidays.country_holidays(settings.PRACTICE_COUNTRY, years=range(first.year, last.year + 1))
    rows = [
        PracticeClosure(date=day, reason=f"Public holiday: {name}")
        for day, name in sorted(calendar.items())
        if first <= day <= last and day != today
    ]
    return PracticeClosure.objects.bulk_create(rows, ignore_conflicts=True)
