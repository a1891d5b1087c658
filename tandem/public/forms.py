"""Public forms: few fields, hard length limits, no markup, and errors a worried visitor understands."""

import datetime as dt
import re
from typing import Any

from django import forms

from tandem.cases.services import ClientDetails
from tandem.public.models import MessageStatus, RequestStatus
from tandem.public.services import Visitor
from tandem.scheduling.models import Mode

NO_HTML = "Please leave out the characters < and >: the form does not accept HTML."
_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,40}$")
MODES = [(Mode.VIDEO.value, "Video call"), (Mode.PHONE.value, "Phone call")]
_SLOT = re.compile(r"^(\d{1,12})-(\d{9,11})$")


def slot_value(therapist_id: int, starts_at: dt.datetime) -> str:
    return f"{therapist_id}-{int(starts_at.timestamp())}"


def parse_slot(value: str) -> tuple[int, dt.datetime] | None:
    match = _SLOT.match(value or "")
    if match is None:
        return None
    return int(match[1]), dt.datetime.fromtimestamp(int(match[2]), tz=dt.UTC)


class _PlainText(forms.Form):
    """Every text field refuses < and >; leading and trailing spaces are dropped."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name, value in list(cleaned.items()):
            if isinstance(value, str) and ("<" in value or ">" in value):
                self.add_error(name, NO_HTML)
        return cleaned


class _ContactFields(_PlainText):
    name = forms.CharField(
        label="Your name", max_length=120, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label="Phone number",
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    # The honeypot: hidden from people by CSS and from screen readers; a bot fills it in.
    website = forms.CharField(
        label="Leave this field empty",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].strip()
        if phone and not _PHONE.match(phone):
            raise forms.ValidationError("Give a phone number with digits only (spaces, + and - are fine).")
        return phone

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        given = cleaned.get("email") or cleaned.get("phone")
        if not given and not self.has_error("email") and not self.has_error("phone"):
            self.add_error(None, "Give an e-mail address or a phone number, so that we can reach you.")
        return cleaned

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))

    def visitor(self) -> Visitor:
        data = self.cleaned_data
        return Visitor(name=data["name"], email=data.get("email") or "", phone=data.get("phone") or "")


class SlotForm(_PlainText):
    mode = forms.ChoiceField(label="How would you like to talk?", choices=MODES, widget=forms.RadioSelect)
    slot = forms.CharField(
        max_length=40,
        error_messages={"required": "Choose a time for the consultation."},
        widget=forms.HiddenInput,
    )

    def clean_slot(self) -> tuple[int, dt.datetime]:
        parsed = parse_slot(self.cleaned_data["slot"])
        if parsed is None:
            raise forms.ValidationError("Choose one of the times shown.")
        return parsed


class BookingForm(_ContactFields, SlotForm):
    reason = forms.CharField(
        label="What would you like to talk about? (optional)",
        help_text="A sentence is enough, up to 500 characters. You can also keep it for the conversation.",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    consent = forms.BooleanField(
        label="I have read the privacy notice and agree that the practice keeps these details to arrange "
        "the consultation.",
        error_messages={"required": "Please agree to the privacy notice, or contact us instead."},
    )
    key = forms.UUIDField(widget=forms.HiddenInput, error_messages={"required": "Please reload the page."})

    field_order = ["mode", "slot", "name", "email", "phone", "reason", "consent", "website", "key"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        mode = cleaned.get("mode")
        if mode == Mode.PHONE and not cleaned.get("phone") and not self.has_error("phone"):
            self.add_error("phone", "For a phone call, give the number we should call.")
        if mode == Mode.VIDEO and not cleaned.get("email") and not self.has_error("email"):
            self.add_error(
                "email", "For a video call, give an e-mail address: the link to join comes by e-mail."
            )
        return cleaned


class ContactForm(_ContactFields):
    message = forms.CharField(
        label="Your message",
        help_text="Up to 2,000 characters. Please leave out medical details.",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    field_order = ["name", "email", "phone", "message", "website"]


class RescheduleForm(SlotForm):
    pass


# --- the inbox ------------------------------------------------------------------------------------
REQUEST_FILTERS = [("open", "Open (new or confirmed)"), ("all", "All"), *RequestStatus.choices]
MESSAGE_FILTERS = [("new", "New"), ("all", "All"), *[c for c in MessageStatus.choices if c[0] != "new"]]


class InboxFilterForm(forms.Form):
    requests = forms.ChoiceField(label="Consultation requests", choices=REQUEST_FILTERS, required=False)
    messages = forms.ChoiceField(label="Contact messages", choices=MESSAGE_FILTERS, required=False)


class ConvertForm(_PlainText):
    partner_first_name = forms.CharField(label="Partner's first name", max_length=80, required=False)
    partner_last_name = forms.CharField(label="Partner's last name", max_length=80, required=False)
    partner_email = forms.EmailField(label="Partner's e-mail address", required=False)
    invite = forms.BooleanField(
        label="Invite to the portal everyone with an e-mail address", required=False, initial=True
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        first, last = cleaned.get("partner_first_name"), cleaned.get("partner_last_name")
        if (first or last or cleaned.get("partner_email")) and not (first and last):
            self.add_error(None, "To add the partner, give their first and last name.")
        return cleaned

    def partner(self) -> ClientDetails | None:
        data = self.cleaned_data
        if not data.get("partner_first_name"):
            return None
        return ClientDetails(
            first_name=data["partner_first_name"],
            last_name=data["partner_last_name"],
            email=(data.get("partner_email") or "").lower(),
        )


class DeclineForm(_PlainText):
    reason = forms.CharField(
        label="Why is no treatment following?", max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
