from typing import Any

from django import forms

from tandem.cases.models import Case, Client
from tandem.records.models import ConfidentialityPolicy, NoteTemplate, SecretsPolicy
from tandem.records.services import MAX_TEXT, SectionInput, SectionSlot, section_slots

JOINT = "joint"


class TemplateChoiceForm(forms.Form):
    template = forms.ModelChoiceField(
        queryset=NoteTemplate.objects.none(),
        to_field_name="slug",
        empty_label=None,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a template.", "invalid_choice": "Choose one from the list."},
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        templates = NoteTemplate.objects.filter(active=True)
        if not case.is_couple:
            templates = templates.filter(couples_only=False)
        self.fields["template"].queryset = templates  # type: ignore[attr-defined]


class NoteForm(forms.Form):
    """One textarea per section of the template (per partner where the template says so)."""

    def __init__(
        self,
        *args: Any,
        case: Case,
        template: NoteTemplate,
        policy: ConfidentialityPolicy | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.case = case
        self.slots: list[SectionSlot] = section_slots(template, case)
        self.may_keep_private = bool(policy and policy.limited and case.is_couple)
        if case.is_couple:
            choices = [(JOINT, "Joint session (both partners)")]
            choices += [(str(c.pk), f"Individual session with {c.full_name}") for c in case.partners]
            self.fields["session"] = forms.ChoiceField(
                label="Who attended",
                choices=choices,
                initial=JOINT,
                error_messages={
                    "required": "Say who attended.",
                    "invalid_choice": "Choose one from the list.",
                },
            )
        for slot in self.slots:
            self.fields[slot.name] = forms.CharField(
                label=slot.label,
                help_text=slot.hint,
                required=False,
                max_length=MAX_TEXT,
                widget=forms.Textarea(attrs={"rows": 5}),
                error_messages={"max_length": f"At most {MAX_TEXT} characters."},
            )
            if self.may_keep_private:
                whom = slot.client.first_name if slot.client else "the partner seen alone"
                self.fields[f"{slot.name}_private"] = forms.BooleanField(
                    label=f"Keep this section private to {whom}",
                    required=False,
                    help_text="Never shown to the other partner, nor released without their consent.",
                )

    def rows(self) -> list[tuple[forms.BoundField, forms.BoundField | None]]:
        return [
            (self[slot.name], self[f"{slot.name}_private"] if self.may_keep_private else None)
            for slot in self.slots
        ]

    def individual_with(self) -> Client | None:
        chosen = self.cleaned_data.get("session", JOINT)
        for client in self.case.partners:
            if str(client.pk) == chosen:
                return client
        return None

    def section_inputs(self) -> dict[str, SectionInput]:
        return {
            slot.name: SectionInput(
                self.cleaned_data.get(slot.name, ""), bool(self.cleaned_data.get(f"{slot.name}_private"))
            )
            for slot in self.slots
        }


class AmendForm(forms.Form):
    text = forms.CharField(
        label="Amendment",
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Write the amendment.", "max_length": f"At most {MAX_TEXT} characters."},
    )
    reason = forms.CharField(
        label="Reason for the amendment",
        max_length=1000,
        help_text="For example: a detail was missing, or a date was wrong.",
        error_messages={"required": "Say why the note is amended.", "max_length": "At most 1000 characters."},
    )
    private = forms.BooleanField(
        label="Keep private to the partner seen alone",
        required=False,
        help_text="Only for an individual session under a limited-secrets policy.",
    )


class PolicyForm(forms.Form):
    kind = forms.ChoiceField(
        label="Confidentiality policy",
        choices=SecretsPolicy.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a policy.", "invalid_choice": "Choose one of the two policies."},
    )


class ProcessNoteForm(forms.Form):
    text = forms.CharField(
        label="Process note",
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Only you can read this. It is not part of the record and is never released.",
        error_messages={"required": "Write the note.", "max_length": f"At most {MAX_TEXT} characters."},
    )
