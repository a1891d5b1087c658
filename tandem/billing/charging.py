"""What an appointment should cost and whom: the rules charges are reconciled against.

Pure reads. `desired_charges(appointment)` answers, for the appointment as it stands now, which charges
should be live (payer, kind, amount); `billing.services.charges_reconcile` then reverses what should no
longer be there and adds what is missing, so recording, correcting and re-correcting attendance never
charges twice.

Who pays, in order: the case's override for the appointment kind; else the case's arrangement; a case
without an arrangement bills partner A (the case's first client). "The partner who attends" means the one
attendee of an individual session; a joint session attended by both falls back to the arrangement.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from tandem.billing.models import (
    ArrangementOverride,
    BillingArrangement,
    BillingPolicy,
    ChargeKind,
    Fee,
    FeeBasis,
    OverrideRule,
    PackageStatus,
    Payer,
    PayerKind,
    SlidingScale,
    SlidingScaleKind,
)
from tandem.billing.money import HUNDRED, cents, percent_of, split_amount
from tandem.cases.models import Case, Client
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentStatus, ChangeKind


@dataclass(frozen=True)
class Share:
    """One payer's part of a charge: a client (by id) or an insurer (by name), and the percentage."""

    client_id: int | None
    insurer_name: str
    percent: Decimal


@dataclass(frozen=True)
class Wanted:
    share: Share
    kind: str
    amount: Decimal
    description: str


def fee_for(kind: str, minutes: int) -> Decimal | None:
    """The scheduled fee: the row for exactly this length, else the longest row not above it, else the
    shortest row above it. None when the kind has no fee (the consultation, or nothing set up yet)."""
    if kind == AppointmentKind.CONSULTATION:
        return None
    rows = list(Fee.objects.filter(kind=kind).order_by("minutes").values_list("minutes", "amount"))
    if not rows:
        return None
    below = [amount for length, amount in rows if length <= minutes]
    return below[-1] if below else rows[0][1]


def scaled(fee: Decimal, scale: SlidingScale | None) -> Decimal:
    if scale is None:
        return fee
    if scale.kind == SlidingScaleKind.FIXED:
        return cents(scale.value)
    return percent_of(fee, scale.value)


def current_scale(case: Case) -> SlidingScale | None:
    return SlidingScale.objects.filter(case=case, ended_at__isnull=True).first()


def _attendee_ids(appointment: Appointment, case: Case) -> list[int]:
    attendees = getattr(appointment, "attendees", None)
    if attendees is not None:
        return sorted(c.pk for c in attendees.all())
    return [c.pk for c in case.partners]


def _arrangement_shares(case: Case, arrangement: BillingArrangement | None) -> list[Share]:
    partner_a, partner_b = case.partner_a_id, case.partner_b_id
    if arrangement is None:
        return [Share(partner_a, "", HUNDRED)]
    if arrangement.payer_kind == PayerKind.INSURER:
        return [Share(None, arrangement.insurer_name, HUNDRED)]
    if arrangement.payer_kind == PayerKind.CLIENT:
        return [Share(arrangement.payer_client_id, "", HUNDRED)]
    if partner_b is None or arrangement.split_percent_a >= HUNDRED:
        return [Share(partner_a, "", HUNDRED)]
    if arrangement.split_percent_a <= 0:
        return [Share(partner_b, "", HUNDRED)]
    pct = arrangement.split_percent_a
    return [Share(partner_a, "", pct), Share(partner_b, "", HUNDRED - pct)]


def shares_for(appointment: Appointment) -> list[Share]:
    """Who pays this appointment, and in which parts (they add up to 100)."""
    case = appointment.case
    arrangement = BillingArrangement.objects.filter(case=case).first()
    override = None
    if arrangement is not None:
        override = ArrangementOverride.objects.filter(arrangement=arrangement, kind=appointment.kind).first()
    if override is None or override.rule == OverrideRule.ARRANGEMENT:
        return _arrangement_shares(case, arrangement)
    if override.rule == OverrideRule.CLIENT:
        return [Share(override.payer_client_id, "", HUNDRED)]
    if override.rule == OverrideRule.ATTENDEE:
        attending = _attendee_ids(appointment, case)
        if len(attending) == 1:
            return [Share(attending[0], "", HUNDRED)]
        return _arrangement_shares(case, arrangement)
    # SPLIT: both partners as arranged, even where the case's payer is one partner or an insurer.
    pct = arrangement.split_percent_a if arrangement is not None else Decimal("50")
    if case.partner_b_id is None:
        return [Share(case.partner_a_id, "", HUNDRED)]
    return [Share(case.partner_a_id, "", pct), Share(case.partner_b_id, "", HUNDRED - pct)]


def split_by_shares(amount: Decimal, shares: list[Share]) -> list[tuple[Share, Decimal]]:
    """Exact cents: the first share's part is rounded half up, the second gets the rest (see money)."""
    if len(shares) == 1:
        return [(shares[0], cents(amount))]
    first, second = split_amount(amount, shares[0].percent)
    return [(shares[0], first), (shares[1], second)]


def _policy_fee(basis: str, value: Decimal, session_fee: Decimal) -> Decimal:
    return cents(value) if basis == FeeBasis.AMOUNT else percent_of(session_fee, value)


def _late_cancelled(appointment: Appointment, policy: BillingPolicy) -> bool:
    change = appointment.changes.filter(kind=ChangeKind.CANCELLED).order_by("-at", "-id").only("at").first()
    if change is None:
        return False
    return appointment.starts_at - change.at < dt.timedelta(hours=policy.late_cancel_hours)


def covered_by_package(appointment: Appointment) -> bool:
    series = appointment.series
    if series is None:
        return False
    package = getattr(series, "billing_package", None)
    return package is not None and package.status in (PackageStatus.ACTIVE, PackageStatus.CANCELLED)


def _what_for(appointment: Appointment, policy: BillingPolicy, fee: Decimal) -> tuple[str, Decimal] | None:
    if appointment.status == AppointmentStatus.ATTENDED:
        return ChargeKind.SESSION, fee
    if appointment.status == AppointmentStatus.NO_SHOW:
        return ChargeKind.NO_SHOW, _policy_fee(policy.no_show_basis, policy.no_show_value, fee)
    if appointment.status == AppointmentStatus.CANCELLED and _late_cancelled(appointment, policy):
        return ChargeKind.LATE_CANCEL, _policy_fee(policy.late_cancel_basis, policy.late_cancel_value, fee)
    return None


def desired_charges(appointment: Appointment) -> list[Wanted]:
    """The charges this appointment should have now (empty for a booked, covered or free one)."""
    if covered_by_package(appointment):
        return []
    minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
    fee = fee_for(appointment.kind, minutes)
    if fee is None:
        return []
    fee = scaled(fee, current_scale(appointment.case))
    what = _what_for(appointment, BillingPolicy.current(), fee)
    if what is None:
        return []
    kind, amount = what
    local_day = timezone.localtime(appointment.starts_at).date()
    label = f"{ChargeKind(kind).label}: {appointment.get_kind_display()}, {local_day:%d %b %Y}"
    return [
        Wanted(share, kind, part, label)
        for share, part in split_by_shares(amount, shares_for(appointment))
        if part > 0
    ]


def payer_for(share: Share) -> Payer:
    """The payer row of a share, made on first use (a payer is a fact about a client or an insurer)."""
    if share.client_id is not None:
        payer, _ = Payer.objects.get_or_create(kind="client", client_id=share.client_id)
    else:
        payer, _ = Payer.objects.get_or_create(kind="insurer", insurer_name=share.insurer_name)
    return payer


def client_payer(client: Client) -> Payer:
    return payer_for(Share(client.pk, "", HUNDRED))
