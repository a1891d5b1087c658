"""Form inputs that speak the browser's wire formats, for every form of the application.

A browser's `<input type=date>` accepts only `YYYY-MM-DD` (and `type=time` only `HH:MM[:SS]`,
`type=datetime-local` only `YYYY-MM-DDTHH:MM[:SS]`, `type=number` only digits with a full stop).
Django renders dates and times in the active locale's first input format (`16/11/1965` in en-GB), which
the browser silently drops, so an edit form saved unchanged erased the value. These widgets render the
wire format whatever the locale, and Django parses it back (the ISO formats are always accepted).

Use the field classes below (or `ModelForm`, which picks them for model fields) instead of Django's;
`tests/test_forms_round_trip.py` fails on a form that renders a value its input refuses.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.db import models

DATE_FORMAT = "%Y-%m-%d"
TIME_FORMAT = "%H:%M"
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _timespec(value: dt.time | dt.datetime) -> str:
    """Minutes suffice for what people type; a stored value with seconds keeps them (no silent rounding).
    Fractions of a second are not kept: Django drops them for these widgets before rendering."""
    return "seconds" if value.second else "minutes"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format=DATE_FORMAT)

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, dt.date):
            # isoformat, not strftime: strftime writes the year 33 as "33", which the input refuses.
            return value.isoformat()
        return super().format_value(value)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format=TIME_FORMAT)

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, dt.time):
            return value.replace(microsecond=0).isoformat(timespec=_timespec(value))
        return super().format_value(value)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        if isinstance(value, dt.time) and value.second:
            # With the default step of 60 s the browser would refuse to submit a value with seconds.
            context["widget"]["attrs"].setdefault("step", "1")
        return context


class DateTimeInput(forms.DateTimeInput):
    """A local date and time in the practice's zone (the field converts from and to UTC)."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format=DATETIME_FORMAT)

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, dt.datetime):
            # Already in the practice's zone (the field converts it); the input takes no offset.
            local = value.replace(tzinfo=None, microsecond=0)
            return local.isoformat(timespec=_timespec(value))
        return super().format_value(value)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        if isinstance(value, dt.datetime) and value.second:
            context["widget"]["attrs"].setdefault("step", "1")
        return context


class NumberInput(forms.NumberInput):
    """Never localized: a browser's number input takes `1234.5`, not `1,234.5` or `1234,5`."""

    def format_value(self, value: Any) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, Decimal):
            # Fixed-point text: `1E+1` is valid HTML but not what anyone wants to read in a field.
            return format(value, "f")
        return str(value)


class DateField(forms.DateField):
    widget = DateInput


class TimeField(forms.TimeField):
    widget = TimeInput


class DateTimeField(forms.DateTimeField):
    widget = DateTimeInput


class IntegerField(forms.IntegerField):
    widget = NumberInput


class DecimalField(forms.DecimalField):
    widget = NumberInput


class FloatField(forms.FloatField):
    widget = NumberInput


# Model field → the form field class whose default widget speaks the browser's format.
_FORM_FIELDS: list[tuple[type[models.Field], type[forms.Field]]] = [
    (models.DateTimeField, DateTimeField),  # before DateField: a DateTimeField is a DateField
    (models.DateField, DateField),
    (models.TimeField, TimeField),
    (models.DecimalField, DecimalField),
    (models.FloatField, FloatField),
    (models.IntegerField, IntegerField),
]

BROWSER_WIDGETS = (DateInput, TimeInput, DateTimeInput, NumberInput)


def formfield(field: models.Field, **kwargs: Any) -> forms.Field | None:
    """ModelForm's field factory: the browser-format field for dates, times and numbers."""
    if not field.choices:
        for model_class, form_class in _FORM_FIELDS:
            if isinstance(field, model_class):
                kwargs.setdefault("form_class", form_class)
                break
    return field.formfield(**kwargs)


class ModelForm(forms.ModelForm):
    """Django's ModelForm with browser-format inputs for date, time and number model fields.

    A widget named in `Meta.widgets` still wins, so name one of this module's widgets there.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Django reads the callback from each form's own Meta only; give every subclass ours, so that
        # nobody has to remember it (the metaclass reads Meta after this hook has run).
        meta = cls.__dict__.get("Meta")
        if meta is not None and not hasattr(meta, "formfield_callback"):
            meta.formfield_callback = staticmethod(formfield)
