"""The revenue report's period: two dates in the query string (no names, nothing sensitive)."""

import datetime as dt
from typing import Any

from django import forms

from tandem.lib import forms as lib_forms
from tandem.lib.time import local_today

LONGEST = dt.timedelta(days=3 * 366)


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last twelve months: from the first of the month eleven months back, to today."""
    year, month = divmod(today.year * 12 + today.month - 1 - 11, 12)
    return dt.date(year, month + 1, 1), today


class PeriodForm(forms.Form):
    date_from = lib_forms.DateField(
        label="From",
        required=False,
        error_messages={"invalid": "Write the first day as YYYY-MM-DD."},
    )
    date_to = lib_forms.DateField(
        label="To",
        required=False,
        error_messages={"invalid": "Write the last day as YYYY-MM-DD."},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = default_period(local_today())
        data["date_from"] = data.get("date_from") or start
        data["date_to"] = data.get("date_to") or end
        if data["date_from"] > data["date_to"]:
            raise forms.ValidationError("The period starts after it ends.")
        if data["date_to"] - data["date_from"] > LONGEST:
            raise forms.ValidationError("Show at most three years at a time.")
        return data
