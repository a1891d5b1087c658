from typing import Any

from django import forms

from tandem.cases.models import AbsentPartner, Case, Client
from tandem.lib.forms import DateField, ModelForm
from tandem.lib.time import local_today
from tandem.pathway import policy
from tandem.pathway.models import (
    FollowUpMode,
    IntakeRecord,
    PhysicalCause,
    SafetyAnswer,
    SpecialistType,
    TreatmentFormat,
    Urgency,
)
from tandem.pathway.services import PARTNER_LEAVE_REASON_MAX, IntakeDetails

TEXT = forms.Textarea(attrs={"rows": 3})


def _partner_choices(case: Case) -> list[tuple[str, str]]:
    return [(str(c.pk), c.full_name) for c in case.partners]


def partner_from(case: Case, value: str) -> Client:
    return next(c for c in case.partners if str(c.pk) == value)


class TransitionForm(forms.Form):
    reason = forms.CharField(
        widget=TEXT, required=False, max_length=2000, label="Why", help_text="Kept with the phase change."
    )
    override_reason = forms.CharField(
        widget=TEXT,
        required=False,
        max_length=2000,
        label="Reason for moving on although a rule is not met",
        help_text="Only a therapist of the case or the clinical director may override; the reason is kept "
        "and shown on the case.",
    )
    follow_up_mode = forms.ChoiceField(
        choices=FollowUpMode.choices,
        initial=FollowUpMode.VISIT,
        widget=forms.RadioSelect,
        label="Follow-up contacts as the clients prefer",
    )

    def __init__(
        self, *args: Any, needs_reason: bool, overridable: bool, follow_up: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if needs_reason:
            self.fields["reason"].required = True
            self.fields["reason"].error_messages["required"] = "Write why the case is closed."
        if not overridable:
            del self.fields["override_reason"]
        if not follow_up:
            del self.fields["follow_up_mode"]


class PartnerLeaveForm(forms.Form):
    absent_partner = forms.ChoiceField(
        choices=AbsentPartner.choices,
        widget=forms.RadioSelect,
        label="From now on",
        help_text="The case goes on as the other partner's individual case, with this reason.",
        error_messages={"required": "Choose why the partner no longer attends."},
    )
    reason = forms.CharField(
        widget=TEXT,
        max_length=PARTNER_LEAVE_REASON_MAX,
        label="Why they leave",
        help_text="Kept on the case and its timeline.",
        error_messages={"required": "Write why the partner leaves the case."},
    )


class IntakeForm(ModelForm):
    class Meta:
        model = IntakeRecord
        fields = [
            "details_confirmed",
            "relationship_history",
            "presenting_concerns",
            "medications",
            "conditions",
            "safety_afraid_of_partner",
            "safety_pressured_into_sex",
            "safety_self_harm_thoughts",
            "safety_notes",
        ]
        labels = {
            "details_confirmed": "Contact details and date of birth confirmed with them",
            "presenting_concerns": "Presenting concerns, in their own words",
            "medications": "Current medications",
            "conditions": "Conditions relevant to sexual function",
            "safety_afraid_of_partner": "Are you ever afraid of your partner?",
            "safety_pressured_into_sex": "Have you been pressured or forced into sexual activity?",
            "safety_self_harm_thoughts": "Have you had thoughts of harming yourself recently?",
            "safety_notes": "Safety notes and any plan agreed",
        }
        widgets = {
            name: TEXT
            for name in (
                "relationship_history",
                "presenting_concerns",
                "medications",
                "conditions",
                "safety_notes",
            )
        } | {name: forms.RadioSelect for name in IntakeRecord.SAFETY_FIELDS}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Unanswered stays possible (intake may be taken in parts) without a "---------" radio button.
        for name in IntakeRecord.SAFETY_FIELDS:
            self.fields[name].choices = SafetyAnswer.choices  # type: ignore[attr-defined]

    def details(self) -> IntakeDetails:
        return IntakeDetails(**{name: self.cleaned_data[name] for name in self.Meta.fields})


class ConsentForm(forms.Form):
    version = forms.CharField(
        max_length=40, initial=policy.CONSENT_VERSION, label="Version of the consent text they were given"
    )
    confirmed = forms.BooleanField(
        label="They have read the consent to treatment and agreed to it",
        error_messages={"required": "Confirm that they agreed to the consent text."},
    )


class FindingsForm(forms.Form):
    psychological = forms.CharField(
        widget=TEXT, required=False, max_length=5000, label="Psychological contributing factors"
    )
    physical = forms.CharField(
        widget=TEXT,
        required=False,
        max_length=5000,
        label="Physical contributing factors",
        help_text="If a physical contribution is suspected, make a referral from the case page.",
    )


class SessionForForm(forms.Form):
    client = forms.ChoiceField(label="Session for")

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["client"].choices = _partner_choices(case)  # type: ignore[attr-defined]


class ReferralForm(forms.Form):
    client = forms.ChoiceField(label="Who is referred")
    specialist_type = forms.ModelChoiceField(
        queryset=SpecialistType.objects.filter(active=True),
        label="Specialist or service",
        error_messages={"required": "Choose the specialist."},
    )
    urgency = forms.ChoiceField(choices=Urgency.choices, initial=Urgency.ROUTINE)
    reason = forms.CharField(
        widget=TEXT,
        max_length=2000,
        label="Reason for the referral",
        help_text="This goes into the letter: only what the specialist needs.",
        error_messages={"required": "Write the reason for the referral."},
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["client"].choices = _partner_choices(case)  # type: ignore[attr-defined]


class ReferralAppointmentForm(forms.Form):
    appointment_on = DateField(
        label="Date of the specialist appointment",
        error_messages={"required": "Enter the date of the appointment."},
    )


class ReferralResultForm(forms.Form):
    finding = forms.CharField(
        widget=TEXT,
        max_length=5000,
        label="The specialist's finding",
        error_messages={"required": "Write the specialist's finding."},
    )
    physical_cause = forms.ChoiceField(
        choices=PhysicalCause.choices, widget=forms.RadioSelect, label="Physical cause"
    )


class PlanForm(forms.Form):
    format = forms.ChoiceField(choices=TreatmentFormat.choices, widget=forms.RadioSelect)
    sessions_per_week = forms.TypedChoiceField(
        choices=[("", "—"), (1, "1 session a week"), (2, "2 sessions a week")],
        coerce=int,
        empty_value=None,
        required=False,
        label="Standard format: sessions a week",
    )
    conjunctive_client = forms.ChoiceField(required=False, label="Conjunctive individual therapy for")
    goals = forms.CharField(
        widget=TEXT, max_length=5000, error_messages={"required": "Write at least one goal."}
    )
    focus_areas = forms.CharField(widget=TEXT, max_length=5000, required=False, label="Focus areas")
    change_note = forms.CharField(max_length=300, required=False, label="What changed and why")

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["conjunctive_client"].choices = [("", "Nobody"), *_partner_choices(case)]  # type: ignore[attr-defined]
        if not case.is_couple:
            del self.fields["conjunctive_client"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("format") == TreatmentFormat.STANDARD and not data.get("sessions_per_week"):
            self.add_error("sessions_per_week", "A standard format has one or two sessions a week.")
        return data


class FollowUpDoneForm(forms.Form):
    outcome = forms.CharField(widget=TEXT, max_length=5000, required=False, label="How it went")
    early_reason = forms.CharField(
        widget=TEXT,
        max_length=2000,
        required=False,
        label="Why it is recorded before its window opens",
        help_text="Kept with the follow-up.",
    )

    def __init__(self, *args: Any, early: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not early:
            del self.fields["early_reason"]


class FollowUpRescheduleForm(forms.Form):
    due_on = DateField(label="New date")

    def clean_due_on(self) -> Any:
        day = self.cleaned_data["due_on"]
        if day < local_today():
            raise forms.ValidationError("Choose today or a later day.")
        return day
