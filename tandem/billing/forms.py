"""The billing pages' forms. They read and tidy what was typed; the rules (who may, what is allowed) are the
services' (`BillingInvalid` comes back as a form error). Forms that do something (pay, credit, waive) never
pre-fill an amount or tick a box: saving a page unchanged must never move money."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms

from tandem.billing.models import (
    BillingPolicy,
    FeeBasis,
    OverrideRule,
    PayerKind,
    PaymentMethod,
    SlidingScaleKind,
)
from tandem.billing.money import cents
from tandem.cases.models import Case
from tandem.lib.forms import DateField, DecimalField, IntegerField
from tandem.lib.parse import validate_day
from tandem.lib.time import local_today
from tandem.scheduling.models import AppointmentKind

MONEY_MAX = Decimal("9999999999.99")
CHARGED_KINDS = [(k, label) for k, label in AppointmentKind.choices if k != AppointmentKind.CONSULTATION]


def _money(label: str, *, required: bool = True, help_text: str = "") -> DecimalField:
    return DecimalField(
        label=label,
        required=required,
        min_value=Decimal("0"),
        max_value=MONEY_MAX,
        decimal_places=2,
        max_digits=12,
        help_text=help_text,
        error_messages={
            "required": "Give an amount.",
            "invalid": "Give an amount in figures, e.g. 120.50.",
            "max_decimal_places": "Give the amount in whole cents.",
            "max_digits": "That amount is too large.",
        },
    )


def _percent(label: str) -> DecimalField:
    return DecimalField(
        label=label,
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        decimal_places=2,
        max_digits=5,
        error_messages={
            "required": "Give a percentage.",
            "invalid": "Give a percentage in figures.",
            "max_decimal_places": "At most two decimals.",
        },
    )


def _reason(label: str = "Reason") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Give a reason."},
    )


def _partner_choices(case: Case) -> list[tuple[str, str]]:
    return [(str(c.pk), c.full_name) for c in case.partners]


def _day(label: str) -> DateField:
    return DateField(
        label=label,
        validators=[validate_day],
        error_messages={"required": "Give the date.", "invalid": "Give a date."},
    )


class ArrangementForm(forms.Form):
    payer_kind = forms.ChoiceField(
        label="Who pays",
        choices=PayerKind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose who pays."},
    )
    payer_client = forms.ChoiceField(label="Paying partner (one partner pays)", required=False)
    split_percent_a = _percent("Share of the first partner (split), %")
    insurer_name = forms.CharField(label="Insurer (insurer pays)", max_length=200, required=False)
    identified_patient = forms.ChoiceField(label="Identified patient (insurer pays)", required=False)

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        partners = [("", "—"), *_partner_choices(case)]
        self.fields["payer_client"].choices = partners  # type: ignore[attr-defined]
        self.fields["identified_patient"].choices = partners  # type: ignore[attr-defined]
        self.fields["split_percent_a"].help_text = (
            f"{case.partner_a.full_name}'s share; the other partner pays the rest. An odd cent goes to "
            f"{case.partner_a.first_name}."
        )


class OverrideForm(forms.Form):
    kind = forms.ChoiceField(
        label="Kind of appointment", choices=CHARGED_KINDS, error_messages={"required": "Choose a kind."}
    )
    rule = forms.ChoiceField(
        label="Who pays it", choices=OverrideRule.choices, error_messages={"required": "Choose who pays."}
    )
    payer_client = forms.ChoiceField(label="Named partner (one named partner pays)", required=False)

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["payer_client"].choices = [("", "—"), *_partner_choices(case)]  # type: ignore[attr-defined]


class ScaleForm(forms.Form):
    kind = forms.ChoiceField(
        label="Reduced fee as",
        choices=SlidingScaleKind.choices,
        error_messages={"required": "Choose a percentage or a fixed fee."},
    )
    value = _money("Percentage of the fee, or fixed fee per session")
    reason = _reason("Reason (kept with the fee)")


class ReasonForm(forms.Form):
    reason = _reason()


class PaymentForm(forms.Form):
    """One payment per payer of the case, in one go (a split couple often pays together at the desk)."""

    method = forms.ChoiceField(
        label="Paid by", choices=PaymentMethod.choices, error_messages={"required": "Choose how it was paid."}
    )
    received_on = _day("Received on")
    reference = forms.CharField(label="Reference (optional)", max_length=100, required=False)

    def __init__(self, *args: Any, payers: list[tuple[Any, str, Decimal]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.payers = payers
        for payer, name, owed in payers:
            self.fields[f"amount_{payer.pk}"] = _money(
                f"Amount from {name}", required=False, help_text=f"Open: {owed}"
            )
        self.order_fields([f"amount_{p.pk}" for p, _, _ in payers])

    def clean_received_on(self) -> dt.date:
        day: dt.date = self.cleaned_data["received_on"]
        if day > local_today():
            raise forms.ValidationError("A payment cannot be received in the future.")
        return day

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        amounts = [(p, data.get(f"amount_{p.pk}")) for p, _, _ in self.payers]
        self.amounts = [(p, a) for p, a in amounts if a]
        if not self.amounts and not self.errors:
            raise forms.ValidationError("Give the amount received from at least one payer.")
        return data


class CreditNoteForm(forms.Form):
    lines = forms.MultipleChoiceField(
        label="Lines to credit in full",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick the lines to credit."},
    )
    reason = _reason("Reason (printed on the credit note)")

    def __init__(self, *args: Any, lines: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lines"].choices = lines  # type: ignore[attr-defined]


class RefundForm(forms.Form):
    amount = _money("Amount paid back")
    method = forms.ChoiceField(
        label="Paid back by", choices=PaymentMethod.choices, error_messages={"required": "Choose how."}
    )
    paid_on = _day("Paid on")
    reason = _reason()


class PackageForm(forms.Form):
    series = forms.ChoiceField(label="Intensive block", error_messages={"required": "Choose the block."})
    price = _money("Price (empty: the sessions at the fee schedule)", required=False)
    deposit = _money("Deposit due now (empty: the policy's percentage)", required=False)

    def __init__(self, *args: Any, blocks: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["series"].choices = blocks  # type: ignore[attr-defined]


class FeeForm(forms.Form):
    kind = forms.ChoiceField(
        label="Kind of appointment", choices=CHARGED_KINDS, error_messages={"required": "Choose a kind."}
    )
    minutes = IntegerField(
        label="Length in minutes",
        min_value=1,
        max_value=720,
        error_messages={"required": "Give the length.", "invalid": "Give whole minutes."},
    )
    amount = _money("Fee")


def rules_text(rules: list[list[Any]]) -> str:
    return ", ".join(f"{int(days)}:{percent}" for days, percent in rules)


class PolicyForm(forms.Form):
    late_cancel_hours = IntegerField(
        label="Late cancellation: less than this many hours ahead", min_value=0, max_value=720
    )
    late_cancel_basis = forms.ChoiceField(label="Late-cancellation fee as", choices=FeeBasis.choices)
    late_cancel_value = _money("Late-cancellation fee (amount, or % of the session fee)")
    no_show_basis = forms.ChoiceField(label="Missed-session fee as", choices=FeeBasis.choices)
    no_show_value = _money("Missed-session fee (amount, or % of the session fee)")
    package_deposit_percent = _percent("Intensive package: deposit, % of the price")
    package_balance_days = IntegerField(
        label="Intensive package: balance due this many days before the first day", min_value=0, max_value=365
    )
    package_refund_rules = forms.CharField(
        label="Intensive package: refund when cancelled",
        max_length=200,
        required=False,
        help_text="Days before the first day and the percentage refunded, most days first, e.g. 30:100, "
        "14:50 (later: nothing back).",
    )
    payment_days = IntegerField(label="Invoices due after (days)", min_value=0, max_value=365)

    @classmethod
    def initial_from(cls, policy: BillingPolicy) -> dict[str, Any]:
        names = [n for n in cls.base_fields if n != "package_refund_rules"]
        values = {name: getattr(policy, name) for name in names}
        for name, value in values.items():
            if isinstance(value, Decimal):
                values[name] = cents(value)  # the unsaved defaults read "50"; saved, "50.00"
        values["package_refund_rules"] = rules_text(policy.package_refund_rules)
        return values

    def clean_package_refund_rules(self) -> list[list[int]]:
        text = self.cleaned_data.get("package_refund_rules", "")
        rules = []
        for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
            days, _, percent = part.partition(":")
            if not (days.strip().isdecimal() and percent.strip().isdecimal()):
                raise forms.ValidationError("Write each rule as days:percent, e.g. 30:100, 14:50.")
            day_count, pct = int(days), int(percent)
            if day_count > 3650 or pct > 100:
                raise forms.ValidationError("Days up to 3650, percentages up to 100.")
            rules.append([day_count, pct])
        return sorted(rules, key=lambda r: -r[0])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for basis, value in (("late_cancel_basis", "late_cancel_value"), ("no_show_basis", "no_show_value")):
            if data.get(basis) == FeeBasis.PERCENT and (data.get(value) or 0) > 100:
                self.add_error(value, "A percentage is at most 100.")
        return data
