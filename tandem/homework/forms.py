from typing import Any

from django import forms

from tandem.cases.models import Case, Client
from tandem.homework.models import Audience, Exercise
from tandem.homework.selectors import exercises_for
from tandem.lib.forms import DateField, IntegerField
from tandem.lib.time import local_today

COUPLE = "couple"
RATINGS = [(str(n), str(n)) for n in range(11)]


class ExerciseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.get_category_display()}: {obj.title}"


class AssignForm(forms.Form):
    exercise = ExerciseChoiceField(
        queryset=Exercise.objects.none(),
        empty_label="— choose an exercise —",
        error_messages={"required": "Choose an exercise.", "invalid_choice": "Choose one from the list."},
    )
    for_whom = forms.ChoiceField(label="For whom", error_messages={"required": "Say who it is for."})
    times_expected = IntegerField(
        label="How many times",
        required=False,
        min_value=1,
        max_value=50,
        help_text="For example 3 times before the next session.",
        error_messages={"min_value": "At least once.", "max_value": "At most 50 times."},
    )
    due_on = DateField(
        label="Due by",
        required=False,
        error_messages={"invalid": "Enter a date, for example 2027-03-01."},
    )
    therapist_note = forms.CharField(
        label="A note for the clients",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown with the instructions in their portal.",
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["exercise"].queryset = exercises_for(case)  # type: ignore[attr-defined]
        choices = [(str(c.pk), f"{c.full_name} only") for c in case.partners]
        if case.is_couple:
            choices.insert(0, (COUPLE, "Both partners"))
        self.fields["for_whom"].choices = choices  # type: ignore[attr-defined]

    def clean_due_on(self) -> Any:
        due = self.cleaned_data.get("due_on")
        if due and due < local_today():
            raise forms.ValidationError("The due date cannot be in the past.")
        return due

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("times_expected") and not data.get("due_on") and not self.errors:
            raise forms.ValidationError("Give a number of times, a due date, or both.")
        exercise, whom = data.get("exercise"), data.get("for_whom")
        if exercise and whom and self.case.is_couple:
            if exercise.audience == Audience.COUPLE and whom != COUPLE:
                self.add_error("for_whom", "This exercise is done by both partners together.")
            if exercise.audience == Audience.INDIVIDUAL and whom == COUPLE:
                self.add_error("for_whom", "This exercise is done alone: choose one partner.")
        return data

    def client(self) -> Client | None:
        whom = self.cleaned_data["for_whom"]
        return next((c for c in self.case.partners if str(c.pk) == whom), None)


class LogForm(forms.Form):
    done = forms.TypedChoiceField(
        label="Did you do it?",
        choices=[("yes", "Yes, I did it"), ("no", "No, not this time")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether you did it."},
    )
    rating = forms.TypedChoiceField(
        label="How did it go? (0 = very badly, 10 = very well)",
        choices=[("", "—"), *RATINGS],
        coerce=int,
        empty_value=None,
        required=False,
        error_messages={"invalid_choice": "Choose a number from 0 to 10."},
    )
    obstacles = forms.CharField(
        label="What got in the way, if anything?",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    note = forms.CharField(
        label="Anything else you want to note",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    shared = forms.BooleanField(
        label="Let my partner see this entry",
        required=False,
        help_text="If you leave this unticked, only you and your therapist see it.",
    )

    def __init__(self, *args: Any, can_share: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not can_share:
            del self.fields["shared"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("done") and data.get("rating") is None:
            self.add_error("rating", "Choose how it went, from 0 to 10.")
        return data
