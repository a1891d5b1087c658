"""The intensive sold as a package: one price for the block, a deposit due at booking, the balance due
before the first day, and refund rules (by whole days before the first day) copied onto the package when it
is sold, so later policy changes never alter a sale. The block's sessions are covered: `charging` charges
none of them one by one, whatever their attendance.

Cancelling a package reverses its deposit and balance charges (credit notes for what was invoiced) and
charges the part the rules keep; what the payers paid above that is their credit, paid back with
`refund_record`. Cancelling also cancels the block's sessions still to come (through scheduling's service).
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from tandem.access.billing import can_manage_billing
from tandem.audit.services import audit_record
from tandem.billing.charging import current_scale, fee_for, scaled, shares_for
from tandem.billing.models import BillingPolicy, Charge, ChargeKind, ChargeStatus, Package, PackageStatus
from tandem.billing.money import HUNDRED, cents, currency, percent_of
from tandem.billing.services import (
    BillingInvalid,
    _amount,
    _reason,
    _require,
    _reverse,
    charges_reconcile,
    shares_charges,
)
from tandem.scheduling.models import AppointmentSeries, AppointmentStatus, SeriesKind
from tandem.scheduling.services import appointment_cancel


def refund_percent(rules: list[list[Any]], days_before: int) -> Decimal:
    """The first rule (most days first) whose days the cancellation meets; none met refunds nothing."""
    for days, percent in sorted(rules, key=lambda r: -int(r[0])):
        if days_before >= int(days):
            return Decimal(str(percent))
    return Decimal("0")


def default_price(series: AppointmentSeries) -> Decimal:
    """The block's sessions at the fee schedule (and the case's sliding scale)."""
    scale = current_scale(series.case)
    total = Decimal("0")
    for appointment in series.appointments.all():
        minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
        fee = fee_for(appointment.kind, minutes)
        total += scaled(fee, scale) if fee is not None else Decimal("0")
    return cents(total)


def package_create(
    *,
    actor: Any,
    series: AppointmentSeries,
    price: Decimal | None = None,
    deposit: Decimal | None = None,
    now: dt.datetime | None = None,
) -> Package:
    """Sell a booked intensive block as a package: charges the deposit (due now) and the balance (due the
    policy's days before the first day) to the case's payers; sessions already charged are reversed."""
    _require(can_manage_billing(actor), "Only the director and the front desk sell packages.")
    if series.kind != SeriesKind.INTENSIVE:
        raise BillingInvalid("Only an intensive block is sold as a package.")
    now = now or timezone.now()
    policy = BillingPolicy.current()
    with transaction.atomic():
        sessions = list(series.appointments.select_related("case").order_by("starts_at"))
        if not sessions or Package.objects.filter(series=series).exists():
            raise BillingInvalid("This block has no sessions or is already sold as a package.")
        price = default_price(series) if price is None else _amount(price, what="The price")
        deposit = (
            percent_of(price, policy.package_deposit_percent)
            if deposit is None
            else _amount(deposit, what="The deposit", zero=True)
        )
        if deposit > price:
            raise BillingInvalid("The deposit cannot be more than the price.")
        first_day = timezone.localtime(sessions[0].starts_at).date()
        today = timezone.localtime(now).date()
        package = Package.objects.create(
            case=series.case,
            series=series,
            first_day=first_day,
            price=price,
            deposit=deposit,
            deposit_due_on=today,
            balance_due_on=max(today, first_day - dt.timedelta(days=policy.package_balance_days)),
            refund_rules=policy.package_refund_rules,
            currency=currency(),
            created_at=now,
            created_by=actor,
        )
        _charge_package(package, sessions[0], actor=actor, now=now)
        audit_record(
            actor=actor,
            action="billing.package_create",
            target=package,
            case=series.case,
            detail={"price": str(price), "deposit": str(deposit), "first_day": first_day.isoformat()},
        )
        for appointment in sessions:
            if appointment.charges.exclude(status=ChargeStatus.REVERSED).exists():
                charges_reconcile(actor=actor, appointment_id=appointment.pk, now=now)
    return package


def _charge_package(package: Package, first: Any, *, actor: Any, now: dt.datetime) -> None:
    shares = shares_for(first)
    day = f"{package.first_day:%d %b %Y}"
    parts = [
        (ChargeKind.DEPOSIT, package.deposit, package.deposit_due_on),
        (ChargeKind.BALANCE, package.price - package.deposit, package.balance_due_on),
    ]
    for kind, amount, due in parts:
        if amount <= 0:
            continue
        shares_charges(
            case=package.case,
            shares=shares,
            amount=amount,
            kind=kind,
            description=f"{ChargeKind(kind).label}, intensive from {day}",
            actor=actor,
            now=now,
            package=package,
            service_date=package.first_day,
            due_on=due,
        )


def package_cancel(*, actor: Any, package: Package, reason: str, now: dt.datetime | None = None) -> Package:
    """Cancel a package by its refund rules (days before the first day, in the practice's zone)."""
    _require(can_manage_billing(actor), "Only the director and the front desk cancel packages.")
    reason = _reason(reason)
    now = now or timezone.now()
    with transaction.atomic():
        current = Package.objects.select_for_update().select_related("case", "series").get(pk=package.pk)
        if current.status != PackageStatus.ACTIVE:
            raise BillingInvalid("This package is already cancelled.")
        days_before = (current.first_day - timezone.localtime(now).date()).days
        percent = refund_percent(current.refund_rules, days_before)
        kept = current.price - percent_of(current.price, percent)
        live = (
            Charge.objects.select_for_update().filter(package=current).exclude(status=ChargeStatus.REVERSED)
        )
        _reverse(list(live), actor=actor, reason=f"Package cancelled: {reason}", now=now)
        sessions = list(current.series.appointments.order_by("starts_at"))
        day = f"{current.first_day:%d %b %Y}"
        if kept > 0:
            shares_charges(
                case=current.case,
                shares=shares_for(sessions[0]),
                amount=kept,
                kind=ChargeKind.RETAINED,
                description=f"Intensive from {day} cancelled ({HUNDRED - percent}% kept)",
                actor=actor,
                now=now,
                package=current,
                service_date=timezone.localtime(now).date(),
            )
        current.status, current.cancelled_at, current.refund_percent = PackageStatus.CANCELLED, now, percent
        current.save(update_fields=["status", "cancelled_at", "refund_percent"])
        for appointment in sessions:
            if appointment.status == AppointmentStatus.BOOKED and appointment.starts_at > now:
                appointment_cancel(actor=actor, appointment=appointment, reason=reason, now=now)
        audit_record(
            actor=actor,
            action="billing.package_cancel",
            target=current,
            case=current.case,
            detail={"days_before": days_before, "refund_percent": str(percent), "kept": str(kept)},
        )
    return current
