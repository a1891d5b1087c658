from typing import Any

from django import forms
from django.contrib.auth.forms import SetPasswordForm

from tandem.lib.forms import DateField
from tandem.lib.time import local_today
from tandem.portal.messaging import MAX_LENGTH


class ChoosePasswordForm(SetPasswordForm):
    """Django's password form and validators, with words a client understands."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = "Choose a password"
        self.fields["new_password2"].label = "Type the password again"
        self.error_messages = {**self.error_messages, "password_mismatch": "The two passwords differ."}


class MessageForm(forms.Form):
    body = forms.CharField(
        label="Your message",
        max_length=MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={
            "required": "Write a message first.",
            "max_length": f"A message is at most {MAX_LENGTH} characters.",
        },
    )


ANSWERS = [("no", "No"), ("yes", "Yes"), ("unsure", "I'm not sure / I'd rather say it in person")]
TEXT = forms.Textarea(attrs={"rows": 4})


class ClientIntakeForm(forms.Form):
    """One partner's own part of the intake, in the words of the person filling it in."""

    preferred_name = forms.CharField(
        max_length=80, required=False, label="What would you like us to call you?"
    )
    pronouns = forms.CharField(max_length=40, required=False, label="Your pronouns", help_text="Optional.")
    date_of_birth = DateField(
        required=False,
        label="Your date of birth",
        error_messages={"invalid": "Enter the date as day, month and year."},
    )
    phone = forms.CharField(max_length=40, required=False, label="Your telephone number")
    details_confirmed = forms.BooleanField(required=False, label="These details about me are correct")
    relationship_history = forms.CharField(
        widget=TEXT,
        max_length=5000,
        required=False,
        label="Your relationship so far",
        help_text="For example how long you have been together, and big changes along the way.",
    )
    presenting_concerns = forms.CharField(
        widget=TEXT,
        max_length=5000,
        required=False,
        label="What would you like help with, in your own words?",
    )
    medications = forms.CharField(
        widget=TEXT,
        max_length=2000,
        required=False,
        label="Medicines you take now",
        help_text="Write “none” if none.",
    )
    conditions = forms.CharField(
        widget=TEXT,
        max_length=2000,
        required=False,
        label="Health conditions that may affect your sex life",
        help_text="For example diabetes, heart or blood pressure problems, pain, surgery, or a recent birth.",
    )
    safety_afraid_of_partner = forms.ChoiceField(
        choices=ANSWERS,
        required=False,
        widget=forms.RadioSelect,
        label="Are you ever afraid of your partner?",
    )
    safety_pressured_into_sex = forms.ChoiceField(
        choices=ANSWERS,
        required=False,
        widget=forms.RadioSelect,
        label="Has anyone pressured or forced you into sexual activity?",
    )
    safety_self_harm_thoughts = forms.ChoiceField(
        choices=ANSWERS,
        required=False,
        widget=forms.RadioSelect,
        label="Have you recently had thoughts of harming yourself?",
    )

    def clean_date_of_birth(self) -> Any:
        born = self.cleaned_data["date_of_birth"]
        if born is not None and born >= local_today():
            raise forms.ValidationError("Enter your date of birth: a day in the past.")
        return born
