"""The insurance page's forms: coverage, diagnoses (principal first), a session's flags, the superbill."""

import datetime as dt
from typing import Any

from django import forms

from tandem.billing.models import Payer
from tandem.cases.models import Case
from tandem.claims.codes import ICD10CM
from tandem.claims.models import Sex
from tandem.lib import forms as lib_forms

DX_CHOICES = [("", "—"), *[(code, f"{code} {label}") for code, label in ICD10CM.items()]]
DX_FIELDS = ("dx1", "dx2", "dx3", "dx4")


class CoverageForm(forms.Form):
    insurer_name = forms.CharField(label="Insurer", max_length=60)
    identified_patient = forms.TypedChoiceField(label="Identified patient", coerce=int)
    payer_id = forms.CharField(label="Payer id", max_length=20)
    member_id = forms.CharField(label="Member id", max_length=30)
    group_number = forms.CharField(label="Group number", max_length=30, required=False)
    sex = forms.ChoiceField(label="Sex on the insurance card", choices=Sex.choices)
    address_line = forms.CharField(label="Street address", max_length=55)
    city = forms.CharField(max_length=30)
    state = forms.CharField(max_length=2, help_text="Two letters, e.g. OR.")
    postal_code = forms.CharField(label="ZIP code", max_length=10)

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["identified_patient"].choices = [(c.pk, c.full_name) for c in case.partners]  # type: ignore[attr-defined]


class DiagnosesForm(forms.Form):
    dx1 = forms.ChoiceField(label="Principal diagnosis", choices=DX_CHOICES, required=False)
    dx2 = forms.ChoiceField(label="Second diagnosis", choices=DX_CHOICES, required=False)
    dx3 = forms.ChoiceField(label="Third diagnosis", choices=DX_CHOICES, required=False)
    dx4 = forms.ChoiceField(label="Fourth diagnosis", choices=DX_CHOICES, required=False)

    def codes(self) -> list[str]:
        return [self.cleaned_data[name] for name in DX_FIELDS if self.cleaned_data.get(name)]


class FlagsForm(forms.Form):
    interactive_complexity = forms.BooleanField(label="Interactive complexity", required=False)
    patient_at_home = forms.BooleanField(label="Patient at home (telehealth)", required=False)


class SuperbillForm(forms.Form):
    payer = forms.TypedChoiceField(label="Payer", coerce=int)
    date_from = lib_forms.DateField(label="From")
    date_to = lib_forms.DateField(label="To")

    def __init__(self, *args: Any, payers: list[Payer], names: dict[int, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["payer"].choices = [(p.pk, names.get(p.pk, "")) for p in payers]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if isinstance(start, dt.date) and isinstance(end, dt.date):
            if start > end:
                raise forms.ValidationError("The period starts after it ends.")
            if end - start > dt.timedelta(days=366):
                raise forms.ValidationError("A superbill covers at most a year.")
        return data


class ProviderNumberForm(forms.Form):
    therapist = forms.TypedChoiceField(label="Clinician", coerce=int)
    npi = forms.CharField(label="NPI", max_length=10, help_text="Ten digits, with its check digit.")
    taxonomy = forms.CharField(
        label="Taxonomy code", max_length=10, required=False, help_text="e.g. 106H00000X"
    )

    def __init__(self, *args: Any, clinicians: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["therapist"].choices = [(u.pk, u.get_full_name()) for u in clinicians]  # type: ignore[attr-defined]
