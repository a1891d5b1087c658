"""The outcomes page's filters: codes only, so they travel in the query string and name nobody."""

from typing import Any

from django import forms

from tandem.cases.models import PresentingProblem
from tandem.outcomes.report import DIMENSIONS, Filters
from tandem.outcomes.selectors import DEFAULT_INSTRUMENT, FORMAT_LABELS, OUTCOME_INSTRUMENTS


class OutcomeFilterForm(forms.Form):
    instrument = forms.ChoiceField(
        choices=[(code, code) for code in OUTCOME_INSTRUMENTS],
        required=False,
        label="Measure",
        error_messages={"invalid_choice": "Choose a measure from the list."},
    )
    by = forms.ChoiceField(
        choices=list(DIMENSIONS.items()),
        required=False,
        label="Group by",
        error_messages={"invalid_choice": "Choose a grouping from the list."},
    )
    format = forms.ChoiceField(
        choices=[("", "Every format"), *FORMAT_LABELS.items()],
        required=False,
        error_messages={"invalid_choice": "Choose a format from the list."},
    )
    problem = forms.ChoiceField(
        required=False,
        label="Presenting problem",
        error_messages={"invalid_choice": "Choose a presenting problem from the list."},
    )
    period = forms.RegexField(
        regex=r"^(19|20|21)\d\d$",
        required=False,
        label="Year treatment ended",
        max_length=4,
        error_messages={"invalid": "Write a year such as 2025, or leave it empty."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        problems = PresentingProblem.objects.order_by("sort_order", "label")
        problem = self.fields["problem"]
        assert isinstance(problem, forms.ChoiceField)
        problem.choices = [("", "Every problem")] + [
            (p.slug, f"{p.icd10cm} {p.label}" if p.icd10cm else p.label) for p in problems
        ]

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            instrument=data.get("instrument") or DEFAULT_INSTRUMENT,
            by=data.get("by") or "format",
            format=data.get("format") or "",
            problem=data.get("problem") or "",
            period=data.get("period") or "",
        )
