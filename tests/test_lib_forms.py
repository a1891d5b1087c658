"""The shared inputs render what a browser's input accepts, and that text parses back to the same value.

Each field type is rendered in a form, the rendered `value` goes through the browser's own value
sanitization (`tests/htmlforms.py`), and the form cleans it again: the value must survive unchanged,
whatever the active language (en-GB writes dates as 16/11/1965, Dutch writes decimals with a comma).
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django import forms
from django.test import override_settings
from django.urls import get_resolver
from django.utils import timezone, translation
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tandem.lib import forms as lib
from tests.htmlforms import parse_forms

LANGUAGES = ["en-gb", "nl", "de", "en-us"]
ZONE = ZoneInfo("Europe/Amsterdam")


def round_trip(field: forms.Field, value: object, language: str, **settings: object) -> object:
    """Render `value` as the initial value of a one-field form, submit it as a browser would, clean it."""
    form_class = type("OneField", (forms.Form,), {"value": field})
    with translation.override(language):
        html = f"<form method=post>{form_class(initial={'value': value})['value']}</form>"
        (rendered,) = parse_forms(html)
        assert not rendered.refused_values(), html
        data = dict(rendered.entries())
        bound = form_class(data)
        assert bound.is_valid(), (html, bound.errors)
        return bound.cleaned_data["value"]


@settings(deadline=None)  # the first example pays for loading the locale formats
@given(day=st.dates(), language=st.sampled_from(LANGUAGES))
def test_a_date_survives_the_round_trip(day, language):
    assert round_trip(lib.DateField(), day, language) == day


@settings(deadline=None)
@given(
    moment=st.times().map(lambda t: t.replace(microsecond=0)),
    language=st.sampled_from(LANGUAGES),
)
def test_a_time_survives_the_round_trip(moment, language):
    assert round_trip(lib.TimeField(), moment, language) == moment


@settings(deadline=None)
@given(
    moment=st.datetimes(
        min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(9998, 12, 31), timezones=st.just(dt.UTC)
    ).map(lambda d: d.replace(microsecond=0)),
    language=st.sampled_from(LANGUAGES),
)
def test_a_moment_survives_the_round_trip_in_the_practice_zone(moment, language):
    local = moment.astimezone(ZONE).replace(tzinfo=None)
    # An hour that happens twice (or never) when the clocks change cannot be written unambiguously as a
    # local time: Django refuses it with a message rather than guess.
    assume(not timezone._datetime_ambiguous_or_imaginary(local, ZONE))
    with timezone.override(ZONE):
        assert round_trip(lib.DateTimeField(), moment, language) == moment


@settings(deadline=None)
@given(number=st.integers(min_value=-(10**12), max_value=10**12), language=st.sampled_from(LANGUAGES))
def test_an_integer_survives_the_round_trip_even_localized(number, language):
    with override_settings(USE_THOUSAND_SEPARATOR=True):
        assert round_trip(lib.IntegerField(localize=True), number, language) == number


@settings(deadline=None)
@given(
    number=st.decimals(min_value=-99999, max_value=99999, places=1, allow_nan=False),
    language=st.sampled_from(LANGUAGES),
)
def test_a_decimal_survives_the_round_trip_even_localized(number, language):
    field = lib.DecimalField(max_digits=6, decimal_places=1, localize=True)
    with override_settings(USE_THOUSAND_SEPARATOR=True):
        assert round_trip(field, number, language) == number


def test_each_input_has_the_type_the_browser_needs():
    types = {
        lib.DateField: ("date", dt.date(1965, 11, 16), "1965-11-16"),
        lib.TimeField: ("time", dt.time(7, 45), "07:45"),
        lib.IntegerField: ("number", 12000, "12000"),
        lib.DecimalField: ("number", Decimal("12.5"), "12.5"),
    }
    for field_class, (kind, value, text) in types.items():
        form_class = type("OneField", (forms.Form,), {"value": field_class()})
        with translation.override("en-gb"):
            html = str(form_class(initial={"value": value})["value"])
        assert f'type="{kind}"' in html and f'value="{text}"' in html, html


def test_a_time_with_seconds_keeps_them_and_lets_the_browser_submit_them():
    form_class = type("OneField", (forms.Form,), {"value": lib.TimeField()})
    html = str(form_class(initial={"value": dt.time(7, 45, 30)})["value"])
    assert 'value="07:45:30"' in html and 'step="1"' in html


def test_a_model_form_gets_the_browser_inputs_without_naming_them():
    from tandem.notify.forms import PreferenceForm
    from tandem.pathway.models import TreatmentPlan

    class PlanForm(lib.ModelForm):
        class Meta:
            model = TreatmentPlan
            fields = ["version", "sessions_per_week", "created_at"]

    assert isinstance(PlanForm.base_fields["version"].widget, lib.NumberInput)
    assert isinstance(PlanForm.base_fields["created_at"].widget, lib.DateTimeInput)
    assert isinstance(PreferenceForm.base_fields["quiet_start"].widget, lib.TimeInput)


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    direct: list[type] = cls.__subclasses__()
    for sub in direct:
        found |= {sub, *_subclasses(sub)}
    return found


@pytest.mark.parametrize(
    "field_type", [forms.DateField, forms.TimeField, forms.IntegerField, forms.DecimalField]
)
def test_every_form_of_the_app_uses_the_browser_inputs(field_type):
    """Declared fields only; fields added in __init__ are caught by the edit-form round trip's check of
    every rendered input. Django's admin (under /setup/) renders its own text inputs and is left out."""
    get_resolver().url_patterns  # imports every view, and so every form  # noqa: B018
    wrong = []
    for form_class in _subclasses(forms.BaseForm):
        module = form_class.__module__
        if not module.startswith("tandem.") or module.endswith(".admin"):
            continue
        for name, field in getattr(form_class, "base_fields", {}).items():
            widget = field.widget
            if isinstance(field, field_type) and not isinstance(
                widget, (*lib.BROWSER_WIDGETS, forms.HiddenInput)
            ):
                wrong.append(f"{module}.{form_class.__name__}.{name}: {type(widget).__name__}")
    assert not wrong, "use the field classes of tandem.lib.forms:\n" + "\n".join(wrong)
