"""The small "new appointment" form reached from a calendar day: one appointment, every rule in services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from tandem.access.services import staff_cases_visible_to
from tandem.accounts.models import User
from tandem.cases.models import Case, Client
from tandem.lib.forms import DateField, TimeField
from tandem.lib.parse import parse_id
from tandem.practice.models import Room
from tandem.scheduling.calendar import calendar_rooms, calendar_therapists
from tandem.scheduling.models import AppointmentKind, Mode


class TherapistChoice(forms.ModelMultipleChoiceField):
    def clean(self, value: Any) -> Any:
        # Django checks each id's type but not its size before an `__in` query, which SQLite cannot
        # run with a number past 64 bits: such an id names nobody, so it is refused here.
        if isinstance(value, list | tuple):
            for pk in value:
                if parse_id(pk) is None:
                    raise forms.ValidationError(
                        self.error_messages["invalid_choice"],
                        code="invalid_choice",
                        params={"value": str(pk)[:20]},
                    )
        return super().clean(value)

    def label_from_instance(self, obj: Any) -> str:
        return str(obj)


class RoomChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}, {obj.location.name}"


class NewAppointmentForm(forms.Form):
    case = forms.CharField(
        label="Case reference", max_length=20, help_text="As on the case page, e.g. T-0001."
    )
    kind = forms.ChoiceField(label="Type", choices=AppointmentKind.choices)
    mode = forms.ChoiceField(label="Held", choices=Mode.choices, initial=Mode.IN_PERSON)
    date = DateField(label="Date")
    start = TimeField(label="Starts")
    end = TimeField(
        label="Ends",
        required=False,
        help_text="Leave empty for the type's usual length.",
    )
    therapists = TherapistChoice(
        queryset=User.objects.none(),
        required=False,
        help_text="One or two. Leave empty for the case's own therapist or team.",
    )
    room = RoomChoice(queryset=Room.objects.none(), required=False, help_text="Only for in-person sessions.")
    attends = forms.ChoiceField(
        label="Who attends",
        required=False,
        choices=[
            ("", "The case's clients (both partners of a couple)"),
            ("a", "First partner on the case, alone"),
            ("b", "Second partner on the case, alone"),
        ],
        help_text="Individual assessment and conjunctive sessions are for one partner: choose which.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["therapists"].queryset = calendar_therapists()  # type: ignore[attr-defined]
        self.fields["room"].queryset = calendar_rooms()  # type: ignore[attr-defined]
        self.case_obj: Case | None = None

    def clean_case(self) -> str:
        reference = self.cleaned_data["case"].strip()
        # Only cases the person may open: any other reference reads as unknown, existing or not.
        case = staff_cases_visible_to(self.user).with_people().filter(reference__iexact=reference).first()
        if case is None:
            raise forms.ValidationError("No case with that reference that you can book.")
        self.case_obj = case
        return reference

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end <= start:
            self.add_error("end", "The end must be after the start (same day).")
        return data

    def therapist_list(self) -> list[User]:
        chosen = list(self.cleaned_data.get("therapists") or [])
        if chosen:
            return chosen
        return list(self.case_obj.clinicians) if self.case_obj is not None else []

    def attendee_list(self) -> list[Client] | None:
        """The one partner chosen, or None for the kind's own rule (a joint kind: all the case's clients)."""
        choice = self.cleaned_data.get("attends")
        if not choice or self.case_obj is None:
            return None
        chosen = self.case_obj.partner_a if choice == "a" else self.case_obj.partner_b
        return [chosen] if chosen is not None else None

    def clean_attends(self) -> str:
        choice = self.cleaned_data.get("attends") or ""
        if choice == "b" and self.case_obj is not None and self.case_obj.partner_b is None:
            raise forms.ValidationError("This case has one client: leave the choice empty.")
        return choice

    def times(self) -> tuple[dt.date, dt.time, dt.time | None]:
        return self.cleaned_data["date"], self.cleaned_data["start"], self.cleaned_data.get("end")
