from typing import Any

from django import forms

from tandem.lib.forms import ModelForm, TimeInput
from tandem.notify.models import Preference
from tandem.notify.sms import sms_enabled


class PreferenceForm(ModelForm):
    class Meta:
        model = Preference
        fields = ["email", "sms", "appointment_reminders", "homework_nudges", "quiet_start", "quiet_end"]
        widgets = {
            "quiet_start": TimeInput(),
            "quiet_end": TimeInput(),
        }
        help_texts = {
            "email": "E-mails never say what an appointment or exercise is about: only that there is "
            "something to see, with a link to log in.",
            "sms": "To the telephone number the practice has for you; the same few words as the e-mails.",
            "quiet_start": "No e-mails between these times (for example 22:00 to 08:00).",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not sms_enabled():
            # Not offered where the practice sends no texts: the choice would do nothing.
            del self.fields["sms"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("quiet_start") is None) != (data.get("quiet_end") is None):
            raise forms.ValidationError("Give both the start and the end of the quiet hours, or neither.")
        return data
