from django import forms
from django.contrib.auth.forms import SetPasswordForm

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
