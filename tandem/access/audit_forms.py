"""The audit page's filter form: identifiers and dates only, so it can travel in the query string."""

import datetime as dt
from typing import Any

from django import forms

from tandem.access.audit_selectors import DEFAULT_SORT, audit_actions
from tandem.accounts.models import STAFF_ROLES, User
from tandem.cases.models import Case
from tandem.lib.forms import DateField

EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2999, 12, 31)

SORT_CHOICES = [
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("person", "Person (A to Z)"),
    ("action", "Action (A to Z)"),
]


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        name = obj.get_full_name() or obj.username
        return f"{name} ({obj.username})" + ("" if obj.is_active else ", no longer active")


class AuditFilterForm(forms.Form):
    actor = StaffChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Staff member",
        empty_label="Anyone",
        error_messages={"invalid_choice": "Choose a staff member from the list."},
    )
    username = forms.CharField(
        required=False,
        max_length=150,
        label="Or user name",
        help_text="Part of a log-in name; also finds clients and former staff.",
    )
    case = forms.CharField(
        required=False, max_length=20, label="Case reference", help_text="For example T-0001."
    )
    action = forms.ChoiceField(
        required=False,
        label="Action",
        error_messages={"invalid_choice": "No event has the action “%(value)s”. Choose one from the list."},
    )
    date_from = DateField(
        required=False,
        label="From",
        error_messages={"invalid": "Enter the “from” date as a date, for example 2026-11-01."},
    )
    date_to = DateField(
        required=False,
        label="To",
        error_messages={"invalid": "Enter the “to” date as a date, for example 2026-11-30."},
    )
    sort = forms.ChoiceField(
        required=False,
        choices=SORT_CHOICES,
        label="Sort by",
        error_messages={"invalid_choice": "Choose one of the listed sort orders."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Former staff stay in the list: their history is exactly what an audit looks for.
        staff = User.objects.filter(role__in=STAFF_ROLES).only(
            "username", "first_name", "last_name", "is_active"
        )
        self.fields["actor"].queryset = staff.order_by("last_name", "first_name", "username")  # type: ignore[attr-defined]
        self.fields["action"].choices = [("", "Any action"), *((a, a) for a in audit_actions())]  # type: ignore[attr-defined]
        for name in ("date_from", "date_to"):
            self.fields[name].help_text = "Practice time zone, inclusive."

    def clean_case(self) -> Case | None:
        reference = self.cleaned_data["case"].strip().upper()
        if not reference:
            return None
        try:
            return Case.objects.only("pk", "reference").get(reference=reference)
        except Case.DoesNotExist:
            raise forms.ValidationError(f"No case has the reference “{reference}”.") from None

    def _clean_date(self, name: str, which: str) -> dt.date | None:
        day: dt.date | None = self.cleaned_data[name]
        # Far-off years would overflow when turned into the practice's midnight in UTC.
        if day is not None and not EARLIEST <= day <= LATEST:
            raise forms.ValidationError(f"Enter a “{which}” date between {EARLIEST.year} and {LATEST.year}.")
        return day

    def clean_date_from(self) -> dt.date | None:
        return self._clean_date("date_from", "from")

    def clean_date_to(self) -> dt.date | None:
        return self._clean_date("date_to", "to")

    def clean_sort(self) -> str:
        return self.cleaned_data["sort"] or DEFAULT_SORT

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("actor") and cleaned.get("username"):
            self.add_error("username", "Choose a staff member or type a user name, not both.")
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "The “from” date is after the “to” date.")
        return cleaned

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for `audit_events`, from a valid form."""
        data = self.cleaned_data
        return {
            "actor_id": data["actor"].pk if data.get("actor") else None,
            "username": data.get("username", "").strip(),
            "case_id": data["case"].pk if data.get("case") else None,
            "action": data.get("action", ""),
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
            "sort": data.get("sort") or DEFAULT_SORT,
        }

    def audit_detail(self) -> dict[str, Any]:
        """What was searched for, for the audit.view event: identifiers only, never names or notes."""
        data = self.cleaned_data
        detail = {
            "actor_id": data["actor"].pk if data.get("actor") else None,
            "username": data.get("username", "").strip(),
            "case": data["case"].reference if data.get("case") else "",
            "action": data.get("action", ""),
            "date_from": data["date_from"].isoformat() if data.get("date_from") else "",
            "date_to": data["date_to"].isoformat() if data.get("date_to") else "",
        }
        return {key: value for key, value in detail.items() if value}
