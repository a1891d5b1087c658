"""A questionnaire form built from the instrument's FHIR Questionnaire items (radio groups with labels)."""

from typing import Any

from django import forms

from tandem.measures.models import Instrument

ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"


def option_value(option: dict[str, Any]) -> int:
    """The scored value of an answer option: its ordinalValue, else its code."""
    for extension in option.get("extension", []):
        if extension.get("url") == ORDINAL:
            return int(extension["valueDecimal"])
    return int(option["valueCoding"]["code"])


def option_label(option: dict[str, Any]) -> str:
    coding = option.get("valueCoding", {})
    return str(coding.get("display") or coding.get("code", ""))


def field_name(link_id: str) -> str:
    return f"item_{link_id}"


class QuestionnaireForm(forms.Form):
    def __init__(self, *args: Any, instrument: Instrument, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        self.entries: list[tuple[str, Any]] = []
        self._link_ids: list[str] = []
        number = 0
        for item in instrument.definition["questionnaire"]["item"]:
            if item.get("type") == "display":
                self.entries.append(("display", item.get("text", "")))
                continue
            number += 1
            name = field_name(item["linkId"])
            required = bool(item.get("required"))
            self.fields[name] = forms.TypedChoiceField(
                label=f"{number}. {item.get('text', '')}",
                choices=[(option_value(o), option_label(o)) for o in item.get("answerOption", [])],
                coerce=int,
                empty_value=None,
                required=required,
                widget=forms.RadioSelect,
                error_messages={"required": f"Please choose an answer to question {number}."},
            )
            self._link_ids.append(item["linkId"])
            self.entries.append(("field", name))

    def bound_entries(self) -> list[tuple[str, Any]]:
        return [(kind, self[value] if kind == "field" else value) for kind, value in self.entries]

    def answers(self) -> dict[str, int | None]:
        return {link_id: self.cleaned_data.get(field_name(link_id)) for link_id in self._link_ids}


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        label="What did you do?",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="For example: called the client, safety plan reviewed. Kept in the clinical record.",
    )
