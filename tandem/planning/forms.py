from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from tandem.lib.forms import DateField, IntegerField
from tandem.lib.parse import validate_day
from tandem.lib.time import local_today
from tandem.planning.services import DEFAULT_TIME_LIMIT
from tandem.practice.models import Location

LONGEST_HORIZON = dt.timedelta(days=183)


class RunForm(forms.Form):
    first_day = DateField(label="First day", validators=[validate_day])
    last_day = DateField(label="Last day", validators=[validate_day])
    location = forms.ModelChoiceField(
        queryset=Location.objects.order_by("name"), empty_label=None, label="Location"
    )
    time_limit = IntegerField(
        label="Solver time (seconds)",
        min_value=5,
        max_value=120,
        initial=DEFAULT_TIME_LIMIT,
        help_text="The best proposal found within this time is shown.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first_day"), data.get("last_day")
        if first and first <= local_today():
            self.add_error(
                "first_day", "Start planning from tomorrow or later: bookings cannot start in the past."
            )
        if first and last:
            if last < first:
                self.add_error("last_day", "The last day must be on or after the first day.")
            elif last - first > LONGEST_HORIZON:
                self.add_error("last_day", "Plan at most six months at a time.")
        return data
