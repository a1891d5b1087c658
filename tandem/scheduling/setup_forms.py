"""Forms of the director's set-up pages. They shape input; the owners' services decide what is allowed."""

from typing import Any

from django import forms

from tandem.accounts.models import CLINICAL_ROLES, Gender, Role, User
from tandem.lib import forms as browser
from tandem.practice.models import Location, Room, TeamRule
from tandem.practice.services import MAX_INTENSIVE_DAYS, MAX_INTENSIVE_MINUTES, MAX_LATE_CANCEL_HOURS
from tandem.scheduling.models import AppointmentKind

STAFF_ROLE_CHOICES = [
    (Role.DIRECTOR, "Clinical director"),
    (Role.THERAPIST, "Therapist"),
    (Role.COORDINATOR, "Intake coordinator"),
]


WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class PracticeForm(forms.Form):
    name = forms.CharField(label="Practice name", max_length=200)
    phone = forms.CharField(label="Phone", max_length=40, required=False)
    email = forms.EmailField(label="E-mail address", required=False)


class PolicyForm(forms.Form):
    team_rule = forms.ChoiceField(label="Co-therapy team rule", choices=TeamRule.choices)
    intensive_days = browser.IntegerField(
        label="Days in an intensive block", min_value=1, max_value=MAX_INTENSIVE_DAYS
    )
    intensive_minutes = browser.IntegerField(
        label="Longest intensive day (minutes)", min_value=15, max_value=MAX_INTENSIVE_MINUTES
    )
    intensive_weekdays_only = forms.BooleanField(
        label="Intensive blocks skip Saturdays and Sundays", required=False
    )
    late_cancel_hours = browser.IntegerField(
        label="Late cancellation notice (hours)", min_value=0, max_value=MAX_LATE_CANCEL_HOURS
    )


class LocationForm(forms.Form):
    name = forms.CharField(label="Location name", max_length=120)
    address = forms.CharField(
        label="Address", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class RoomForm(forms.Form):
    location = forms.ModelChoiceField(label="Location", queryset=Location.objects.all())
    name = forms.CharField(label="Room name", max_length=80)
    capacity = browser.IntegerField(label="Seats", min_value=1, max_value=50, initial=4)
    accessible = forms.BooleanField(label="Step-free, accessible toilet nearby", required=False)


class RowForm(forms.Form):
    """A form of hidden fields naming a row to act on: its errors would show nowhere, so a bad or stale
    value becomes one message for the whole form."""

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and self.errors:
            self.errors.clear()
            self.add_error(None, "That row is no longer there. Reload the page and try again.")


class RoomToggleForm(RowForm):
    room = forms.ModelChoiceField(queryset=Room.objects.all(), widget=forms.HiddenInput)
    in_use = forms.BooleanField(required=False, widget=forms.HiddenInput)


class ClosureForm(forms.Form):
    date = browser.DateField(label="Date")
    reason = forms.CharField(label="Reason (shown on the calendars)", max_length=200)


class HolidayImportForm(forms.Form):
    year = browser.IntegerField(label="Year", min_value=2000, max_value=2100)


class PickForm(RowForm):
    """One row to act on, chosen by a hidden field (remove, reset)."""

    pk = browser.IntegerField(widget=forms.HiddenInput, min_value=1)


class AppointmentTypeForm(forms.Form):
    kind = forms.ChoiceField(choices=AppointmentKind.choices, widget=forms.HiddenInput)
    default_minutes = browser.IntegerField(label="Usual length (minutes)", min_value=5, max_value=720)
    max_minutes = browser.IntegerField(label="Longest (minutes)", min_value=5, max_value=720)
    in_person = forms.BooleanField(label="In person", required=False)
    phone = forms.BooleanField(label="Phone", required=False)
    video = forms.BooleanField(label="Video", required=False)


class InviteForm(forms.Form):
    first_name = forms.CharField(label="First name", max_length=150)
    last_name = forms.CharField(label="Last name", max_length=150)
    email = forms.EmailField(label="E-mail address (the set-up link goes here)")
    role = forms.ChoiceField(label="Role", choices=STAFF_ROLE_CHOICES)
    gender = forms.ChoiceField(
        label="Gender (therapists: the team rule reads it)",
        choices=[("", "—"), *Gender.choices],
        required=False,
    )
    credentials = forms.CharField(label="Degrees and titles (therapists)", max_length=200, required=False)
    licence_number = forms.CharField(label="Licence number (therapists)", max_length=60, required=False)


def clinicians() -> Any:
    return User.objects.filter(is_active=True, role__in=CLINICAL_ROLES).order_by("last_name", "first_name")


def therapists() -> Any:
    return User.objects.filter(is_active=True, role=Role.THERAPIST).select_related("therapist_profile")


class TeamForm(forms.Form):
    first = forms.ModelChoiceField(label="First therapist", queryset=User.objects.none())
    second = forms.ModelChoiceField(label="Second therapist", queryset=User.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("first", "second"):
            self.fields[name].queryset = therapists()  # type: ignore[attr-defined]


class WorkingHoursForm(forms.Form):
    location = forms.ModelChoiceField(label="Location", queryset=Location.objects.all())
    weekday = forms.TypedChoiceField(label="Day", choices=list(enumerate(WEEKDAYS)), coerce=int)
    starts = browser.TimeField(label="From")
    ends = browser.TimeField(label="Until")


class TimeOffForm(forms.Form):
    starts_at = browser.DateTimeField(label="From")
    ends_at = browser.DateTimeField(label="Until")
    reason = forms.CharField(label="Reason (private)", max_length=200, required=False)


class TherapistPickForm(forms.Form):
    therapist = forms.ModelChoiceField(label="Therapist", queryset=User.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["therapist"].queryset = clinicians()  # type: ignore[attr-defined]
