import datetime as dt
from typing import Any

from django import forms

from tandem.cases.models import Case
from tandem.consents.models import ConfidentialityMode, ConsentKind, ReleaseCategory
from tandem.lib.forms import DateField
from tandem.lib.time import local_today


def _partner_choices(case: Case) -> list[tuple[str, str]]:
    return [(str(c.pk), c.full_name) for c in case.partners]


class RequestForm(forms.Form):
    client = forms.ChoiceField(label="Who signs", error_messages={"required": "Choose the partner."})
    kind = forms.ChoiceField(
        label="Consent",
        choices=[(k, label) for k, label in ConsentKind.choices if k != ConsentKind.RELEASE],
        error_messages={"required": "Choose which consent."},
    )
    confidentiality_mode = forms.ChoiceField(
        label="Confidentiality policy (couple cases)",
        choices=[("", "—"), *ConfidentialityMode.choices],
        required=False,
        help_text="Only needed when the case's notes have no confidentiality policy set yet.",
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["client"].choices = _partner_choices(case)  # type: ignore[attr-defined]


class ReleaseForm(forms.Form):
    client = forms.ChoiceField(label="Whose information", error_messages={"required": "Choose the partner."})
    recipient = forms.CharField(
        label="Recipient", max_length=200, error_messages={"required": "Say who receives the information."}
    )
    recipient_detail = forms.CharField(label="Organisation or address", max_length=300, required=False)
    categories = forms.MultipleChoiceField(
        label="What may be released",
        choices=ReleaseCategory.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one part of the record."},
    )
    valid_until = DateField(
        label="Valid until",
        error_messages={"required": "Give the last day the release is valid.", "invalid": "Give a date."},
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["client"].choices = _partner_choices(case)  # type: ignore[attr-defined]
        self.fields["valid_until"].initial = local_today() + dt.timedelta(days=365)

    def clean_valid_until(self) -> dt.date:
        day: dt.date = self.cleaned_data["valid_until"]
        if day < local_today():
            raise forms.ValidationError("The end date cannot lie in the past.")
        return day


class SignForm(forms.Form):
    agree = forms.BooleanField(
        label="I have read this text and I agree to it",
        error_messages={"required": "Tick the box to say that you agree."},
    )
    typed_name = forms.CharField(
        label="Type your full name as your signature",
        max_length=200,
        error_messages={"required": "Type your full name to sign."},
    )

    def __init__(self, *args: Any, staff_device: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if staff_device:
            self.fields["agree"].label = "The client is here, has read this text and agrees to it"
            self.fields["typed_name"].label = "The client types their full name as signature"


class RevokeForm(forms.Form):
    reason = forms.CharField(label="Why", widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, staff: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if staff:
            self.fields["reason"].required = True
            self.fields["reason"].error_messages["required"] = "Write why the consent is withdrawn."
            self.fields["reason"].help_text = "For example what the client said, and when."
        else:
            self.fields["reason"].label = "Why (optional)"
