"""Every billing write: one function each, in one transaction with its audit row.

Money rules: Decimal only, rounded ROUND_HALF_UP to the cent (`billing.money`). Nothing is deleted: a
charge that should no longer be there is reversed (and, once invoiced, credited by a credit note).
Refusals of bad input raise `BillingInvalid` (shown to the user, nothing changed); refusals of the actor
raise `AccessDenied`.
"""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from tandem.access.billing import can_charge, can_edit_fees, can_manage_billing, can_set_sliding_scale
from tandem.access.services import AccessDenied
from tandem.audit.services import audit_record
from tandem.billing.charging import Share, Wanted, desired_charges, payer_for, split_by_shares
from tandem.billing.models import (
    LIVE_CHARGE_STATUSES,
    MONEY,
    OPEN_INVOICE_STATUSES,
    Allocation,
    ArrangementOverride,
    BillingArrangement,
    BillingPolicy,
    Charge,
    ChargeKind,
    ChargeStatus,
    CreditNote,
    CreditNoteLine,
    DocumentCounter,
    Fee,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    OverrideRule,
    Payer,
    PayerKind,
    Payment,
    PaymentMethod,
    Refund,
    SlidingScale,
    SlidingScaleKind,
    invoice_balance,
)
from tandem.billing.money import HUNDRED, cents, currency
from tandem.billing.receivables import receivables_refresh
from tandem.billing.revenue import revenue_count
from tandem.cases.models import Case, Client
from tandem.lib.errors import Refusal
from tandem.scheduling.models import Appointment, AppointmentKind

MAX_REASON = 1000


class BillingInvalid(Refusal):
    """Input a billing rule refuses; the message is fit to show, and nothing was changed."""


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise AccessDenied(message)


def _reason(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise BillingInvalid("Give a reason.")
    if len(text) > MAX_REASON:
        raise BillingInvalid(f"Keep the reason under {MAX_REASON} characters.")
    return text


def _amount(value: Decimal | str | int, *, what: str = "The amount", zero: bool = False) -> Decimal:
    try:
        amount = Decimal(value)
    except (ArithmeticError, ValueError, TypeError):
        raise BillingInvalid(f"{what} must be a number.") from None
    if not amount.is_finite() or amount != cents(amount):
        raise BillingInvalid(f"{what} must be in whole cents.")
    if amount < 0 or (amount == 0 and not zero):
        raise BillingInvalid(f"{what} must be more than zero." if not zero else f"{what} cannot be negative.")
    if amount >= Decimal("10000000000"):
        raise BillingInvalid(f"{what} is too large.")
    return amount


def _percent(value: Decimal | str | int, what: str) -> Decimal:
    pct = _amount(value, what=what, zero=True)
    if pct > HUNDRED:
        raise BillingInvalid(f"{what} is a percentage: at most 100.")
    return pct


# --- Set-up: fees, policy -------------------------------------------------------------------------
def fee_set(*, actor: Any, kind: str, minutes: int, amount: Decimal) -> Fee:
    """Set the fee of one appointment kind and length (the consultation stays free)."""
    _require(can_edit_fees(actor), "Only the clinical director edits the fee schedule.")
    if kind not in AppointmentKind.values or kind == AppointmentKind.CONSULTATION:
        raise BillingInvalid("The free consultation has no fee; choose another kind of appointment.")
    if not 1 <= int(minutes) <= 720:
        raise BillingInvalid("A length is between 1 and 720 minutes.")
    amount = _amount(amount, what="The fee", zero=True)
    with transaction.atomic():
        fee = Fee.objects.select_for_update().filter(kind=kind, minutes=minutes).first()
        before = str(fee.amount) if fee is not None else None
        if fee is None:
            fee = Fee.objects.create(kind=kind, minutes=minutes, amount=amount)
        else:
            fee.amount = amount
            fee.save(update_fields=["amount", "updated_at"])
        audit_record(
            actor=actor,
            action="billing.fee_set",
            target=fee,
            detail={"kind": kind, "minutes": int(minutes), "from": before, "to": str(amount)},
        )
    return fee


POLICY_FIELDS = (
    "late_cancel_hours",
    "late_cancel_basis",
    "late_cancel_value",
    "no_show_basis",
    "no_show_value",
    "package_deposit_percent",
    "package_balance_days",
    "package_refund_rules",
    "payment_days",
)


def billing_policy_save(*, actor: Any, values: dict[str, Any]) -> BillingPolicy:
    """Save the practice's billing rules (validated by the set-up form)."""
    _require(can_edit_fees(actor), "Only the clinical director changes the billing policy.")
    unknown = set(values) - set(POLICY_FIELDS)
    if unknown:
        raise BillingInvalid(f"Unknown billing settings: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        policy = BillingPolicy.objects.select_for_update().order_by("pk").first() or BillingPolicy()
        for name, value in values.items():
            setattr(policy, name, value)
        policy.full_clean()
        policy.save()
        audit_record(
            actor=actor,
            action="billing.policy_save",
            target=policy,
            detail={k: str(v) if isinstance(v, Decimal) else v for k, v in values.items()},
        )
    return policy


# --- Per case: sliding scale, arrangement, overrides --------------------------------------------
def sliding_scale_set(
    *, actor: Any, case: Case, kind: str, value: Decimal, reason: str, now: dt.datetime | None = None
) -> SlidingScale:
    """A reduced fee for the case from now on (ends the current one); the reason is kept and audited."""
    _require(can_set_sliding_scale(actor, case), "You cannot set this case's fee.")
    if kind not in SlidingScaleKind.values:
        raise BillingInvalid("Choose a percentage of the fee or a fixed fee.")
    value = (
        _percent(value, "The percentage") if kind == SlidingScaleKind.PERCENT else _amount(value, zero=True)
    )
    reason = _reason(reason)
    now = now or timezone.now()
    with transaction.atomic():
        ended = SlidingScale.objects.select_for_update().filter(case=case, ended_at__isnull=True)
        previous = [(s.kind, str(s.value)) for s in ended]
        ended.update(ended_at=now)
        scale = SlidingScale.objects.create(
            case=case, kind=kind, value=value, reason=reason, set_by=actor, set_at=now
        )
        audit_record(
            actor=actor,
            action="billing.sliding_scale_set",
            target=scale,
            case=case,
            detail={"kind": kind, "value": str(value), "previous": previous},
        )
    return scale


def sliding_scale_end(*, actor: Any, case: Case, reason: str, now: dt.datetime | None = None) -> None:
    """Back to the scheduled fees from now on."""
    _require(can_set_sliding_scale(actor, case), "You cannot set this case's fee.")
    reason = _reason(reason)
    with transaction.atomic():
        scale = SlidingScale.objects.select_for_update().filter(case=case, ended_at__isnull=True).first()
        if scale is None:
            raise BillingInvalid("This case has no sliding scale.")
        scale.ended_at = now or timezone.now()
        scale.save(update_fields=["ended_at"])
        audit_record(
            actor=actor,
            action="billing.sliding_scale_end",
            target=scale,
            case=case,
            detail={"reason": reason},
        )


def _check_partner(case: Case, client: Client | None, what: str) -> None:
    if client is None or client.pk not in (case.partner_a_id, case.partner_b_id):
        raise BillingInvalid(f"{what} must be one of the case's clients.")


def arrangement_set(
    *,
    actor: Any,
    case: Case,
    payer_kind: str,
    payer_client: Client | None = None,
    split_percent_a: Decimal = Decimal("50"),
    insurer_name: str = "",
    identified_patient: Client | None = None,
) -> BillingArrangement:
    """Who pays this case's sessions from now on (charges already made keep their payer)."""
    _require(can_manage_billing(actor), "Only the director and the front desk set who pays.")
    insurer_name = insurer_name.strip()[:200]
    if payer_kind == PayerKind.CLIENT:
        _check_partner(case, payer_client, "The paying partner")
    elif payer_kind == PayerKind.SPLIT:
        if case.partner_b_id is None:
            raise BillingInvalid("Only a couple's fees can be split between the partners.")
        split_percent_a = _percent(split_percent_a, "Partner A's share")
    elif payer_kind == PayerKind.INSURER:
        _check_partner(case, identified_patient, "The identified patient")
        if not insurer_name:
            raise BillingInvalid("Name the insurer.")
    else:
        raise BillingInvalid("Choose who pays: one partner, both (split), or an insurer.")
    values = {
        "payer_kind": payer_kind,
        "payer_client": payer_client if payer_kind == PayerKind.CLIENT else None,
        "split_percent_a": split_percent_a if payer_kind == PayerKind.SPLIT else Decimal("50"),
        "insurer_name": insurer_name if payer_kind == PayerKind.INSURER else "",
        "identified_patient": identified_patient if payer_kind == PayerKind.INSURER else None,
        "updated_at": timezone.now(),
        "updated_by": actor,
    }
    with transaction.atomic():
        arrangement, created = BillingArrangement.objects.select_for_update().update_or_create(
            case=case, defaults=values
        )
        audit_record(
            actor=actor,
            action="billing.arrangement_set",
            target=arrangement,
            case=case,
            detail={
                "payer_kind": payer_kind,
                "payer_client": getattr(values["payer_client"], "pk", None),
                "split_percent_a": str(values["split_percent_a"]),
                "identified_patient": getattr(values["identified_patient"], "pk", None),
                "created": created,
            },
        )
    return arrangement


def arrangement_override_set(
    *, actor: Any, case: Case, kind: str, rule: str, payer_client: Client | None = None
) -> ArrangementOverride:
    """Another payer rule for one kind of appointment (e.g. conjunctive sessions: the partner who attends).
    `rule="arrangement"` goes back to the case's arrangement."""
    _require(can_manage_billing(actor), "Only the director and the front desk set who pays.")
    if kind not in AppointmentKind.values or kind == AppointmentKind.CONSULTATION:
        raise BillingInvalid("Choose a kind of appointment that is charged.")
    if rule not in OverrideRule.values:
        raise BillingInvalid("Choose who pays this kind of appointment.")
    if rule == OverrideRule.CLIENT:
        _check_partner(case, payer_client, "The paying partner")
    else:
        payer_client = None
    with transaction.atomic():
        arrangement = BillingArrangement.objects.select_for_update().filter(case=case).first()
        if arrangement is None:
            raise BillingInvalid("Set who pays for the case first.")
        override, _ = ArrangementOverride.objects.update_or_create(
            arrangement=arrangement, kind=kind, defaults={"rule": rule, "payer_client": payer_client}
        )
        audit_record(
            actor=actor,
            action="billing.override_set",
            target=override,
            case=case,
            detail={"kind": kind, "rule": rule, "payer_client": getattr(payer_client, "pk", None)},
        )
    return override


# --- Charges --------------------------------------------------------------------------------------
def _same_payer(charge: Charge, share: Share) -> bool:
    payer = charge.payer
    if share.client_id is not None:
        return payer.client_id == share.client_id
    return payer.kind == "insurer" and payer.insurer_name == share.insurer_name


def _reverse(charges: Iterable[Charge], *, actor: Any, reason: str, now: dt.datetime) -> list[int]:
    """Reverse live charges; an invoiced one is credited first (a credit note on its invoice)."""
    done = []
    for charge in charges:
        if charge.status == ChargeStatus.INVOICED:
            line = InvoiceLine.objects.select_related("invoice").get(charge=charge)
            _credit(actor=actor, invoice=line.invoice, amounts={line.pk: None}, reason=reason, now=now)
            charge.refresh_from_db()
            continue
        was_live = charge.status in LIVE_CHARGE_STATUSES
        charge.status = ChargeStatus.REVERSED
        charge.closed_at, charge.closed_by, charge.closed_reason = now, _user(actor), reason
        charge.save(update_fields=["status", "closed_at", "closed_by", "closed_reason"])
        if was_live:
            revenue_count(charges=[charge], sign=-1)
        done.append(charge.pk)
    return done


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _create_charge(*, case: Case, wanted: Wanted, actor: Any, now: dt.datetime, **links: Any) -> Charge:
    charge = Charge.objects.create(
        case=case,
        payer=payer_for(wanted.share),
        kind=wanted.kind,
        description=wanted.description,
        amount=wanted.amount,
        currency=currency(),
        share_percent=wanted.share.percent,
        status=ChargeStatus.OPEN,
        created_at=now,
        created_by=_user(actor),
        **links,
    )
    revenue_count(charges=[charge], sign=1)
    return charge


def charges_reconcile(*, actor: Any, appointment_id: int, now: dt.datetime | None = None) -> dict[str, list]:
    """Bring an appointment's charges in line with what happened, idempotently: what should no longer be
    charged is reversed, what is missing is created, what is right (or waived) stays. Called after
    attendance, cancellation and moves (see `billing.later`)."""
    _require(can_charge(actor), "You cannot change charges.")
    now = now or timezone.now()
    with transaction.atomic():
        appointment = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("case", "series")
            .get(pk=appointment_id)
        )
        wanted = desired_charges(appointment)
        live = list(
            Charge.objects.select_for_update()
            .select_related("payer")
            .filter(appointment=appointment)
            .exclude(status=ChargeStatus.REVERSED)
        )
        keep = [c for c in live if any(c.kind == w.kind and _same_payer(c, w.share) for w in wanted)]
        stale = [c for c in live if c not in keep]
        missing = [w for w in wanted if not any(c.kind == w.kind and _same_payer(c, w.share) for c in keep)]
        reason = f"Appointment now {appointment.get_status_display().lower()}"
        reversed_ids = _reverse(stale, actor=actor, reason=reason, now=now)
        local_day = timezone.localtime(appointment.starts_at).date()
        created = [
            _create_charge(
                case=appointment.case,
                wanted=w,
                actor=actor,
                now=now,
                appointment=appointment,
                service_date=local_day,
            ).pk
            for w in missing
        ]
        if reversed_ids or created or stale:
            audit_record(
                actor=actor,
                action="billing.charges_reconcile",
                target=appointment,
                case=appointment.case,
                detail={"status": appointment.status, "created": created, "reversed": [c.pk for c in stale]},
            )
    return {"created": created, "reversed": [c.pk for c in stale]}


def charge_waive(*, actor: Any, charge: Charge, reason: str, now: dt.datetime | None = None) -> Charge:
    """Waive a late-cancellation or missed-session fee before it is invoiced (after: a credit note)."""
    _require(can_manage_billing(actor), "Only the director and the front desk waive fees.")
    reason = _reason(reason)
    with transaction.atomic():
        current = Charge.objects.select_for_update().get(pk=charge.pk)
        if current.kind not in (ChargeKind.LATE_CANCEL, ChargeKind.NO_SHOW):
            raise BillingInvalid("Only a late-cancellation or missed-session fee can be waived.")
        if current.status != ChargeStatus.OPEN:
            raise BillingInvalid(
                "This fee is already invoiced: issue a credit note instead."
                if current.status == ChargeStatus.INVOICED
                else "This fee is no longer open."
            )
        current.status = ChargeStatus.WAIVED
        current.closed_at, current.closed_by, current.closed_reason = now or timezone.now(), actor, reason
        current.save(update_fields=["status", "closed_at", "closed_by", "closed_reason"])
        revenue_count(charges=[current], sign=-1)
        audit_record(
            actor=actor,
            action="billing.charge_waive",
            target=current,
            case=current.case_id,
            detail={"amount": str(current.amount), "kind": current.kind},
        )
    return current


# --- Numbers, invoices and credit notes -----------------------------------------------------------
def _next_number(series: str) -> int:
    """The next number of a series, gapless: the counter row stays locked until the issuing transaction
    ends, so a rolled-back issue gives its number back and concurrent issuers queue (PostgreSQL:
    SELECT ... FOR UPDATE; SQLite: the write lock every transaction takes at BEGIN IMMEDIATE)."""
    DocumentCounter.objects.get_or_create(series=series)  # normally made by migration 0002
    counter = DocumentCounter.objects.select_for_update().get(series=series)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


def bill_to(payer: Payer) -> str:
    if payer.kind == "insurer":
        return payer.insurer_name
    client = payer.client
    return client.full_name if client is not None else ""


def _settle_status(invoice: Invoice) -> str:
    if invoice.status == InvoiceStatus.WRITTEN_OFF:
        return invoice.status
    if invoice.balance <= 0:
        return InvoiceStatus.PAID
    if invoice.allocated > 0 or invoice.credited > 0:
        return InvoiceStatus.PARTLY_PAID
    return InvoiceStatus.SENT if invoice.sent_at else InvoiceStatus.OPEN


def _payer_sum(rows: QuerySet[Any], amount: Any) -> Coalesce:
    """For each payer (the outer row): the sum of AMOUNT over its ROWS, zero when none."""
    theirs = rows.filter(payer_id=OuterRef("pk")).order_by().values("payer_id")
    summed = theirs.annotate(total=Sum(amount)).values("total")
    return Coalesce(Subquery(summed), Value(Decimal("0.00")), output_field=DecimalField(**MONEY))


def _open_owed() -> Coalesce:
    """For each payer: the sum of its open invoices' balances."""
    return _payer_sum(Invoice.objects.filter(status__in=OPEN_INVOICE_STATUSES), invoice_balance())


def _credit_held() -> Any:
    """For each payer: payments and credit notes' surplus, less what was allocated and refunded."""
    money_in = _payer_sum(Payment.objects.all(), "amount") + _payer_sum(CreditNote.objects.all(), "to_credit")
    return (
        money_in - _payer_sum(Allocation.objects.all(), "amount") - _payer_sum(Refund.objects.all(), "amount")
    )


def _payer_locked(payer_id: int) -> Payer:
    """Every service that moves a payer's money locks the payer first, then its invoices, then the issue
    days (`receivables_refresh`): one order, so two of them never wait for each other crosswise."""
    return Payer.objects.select_for_update().get(pk=payer_id)


def _credit_move(payer_id: int, amount: Decimal) -> None:
    """Move the payer's kept credit by exactly what the caller's new row adds or takes (a payment, a
    credit note's surplus, an allocation, a refund); the constraint refuses a credit below zero."""
    if amount:
        Payer.objects.filter(pk=payer_id).update(credit=F("credit") + amount)


def owed_refresh(*, payer_id: int, invoices: Iterable[Invoice]) -> None:
    """Each service that changes invoices' balances or status calls this in its own transaction: the
    payer's open balance (`Payer.open_balance`) and what is owed by issue day (`ReceivableDay`, and the
    payer's `ReceivablePayerDay`) again."""
    Payer.objects.filter(pk=payer_id).update(open_balance=_open_owed())
    receivables_refresh(payer_id=payer_id, issued=[invoice.issued_at for invoice in invoices])


def payer_balances_rebuild() -> int:
    """Every payer's open balance and credit at once: after invoices and payments were written in bulk
    (the large seed)."""
    return Payer.objects.update(open_balance=_open_owed(), credit=_credit_held())


def invoice_issue(
    *,
    actor: Any,
    payer: Payer,
    case: Case,
    charges: Iterable[Charge] | None = None,
    now: dt.datetime | None = None,
) -> Invoice:
    """Issue one invoice for this payer's open charges of the case (or the given ones): it takes the
    next number and never changes afterwards."""
    _require(can_manage_billing(actor), "Only the director and the front desk issue invoices.")
    now = now or timezone.now()
    with transaction.atomic():
        _payer_locked(payer.pk)
        found = Charge.objects.select_for_update().filter(payer=payer, case=case, status=ChargeStatus.OPEN)
        if charges is not None:
            found = found.filter(pk__in=[c.pk for c in charges])
        lines = list(found.order_by("service_date", "id"))
        if not lines:
            raise BillingInvalid("There is nothing to invoice for this payer.")
        policy = BillingPolicy.current()
        invoice = Invoice.objects.create(
            number=_next_number("invoice"),
            payer=payer,
            case=case,
            issued_at=now,
            issued_by=_user(actor),
            due_on=timezone.localtime(now).date() + dt.timedelta(days=policy.payment_days),
            currency=currency(),
            total=sum((c.amount for c in lines), Decimal("0")),
            bill_to=bill_to(payer),
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                charge=c,
                description=c.description,
                service_date=c.service_date,
                amount=c.amount,
            )
            for c in lines
        )
        Charge.objects.filter(pk__in=[c.pk for c in lines]).update(status=ChargeStatus.INVOICED)
        owed_refresh(payer_id=payer.pk, invoices=[invoice])
        audit_record(
            actor=actor,
            action="billing.invoice_issue",
            target=invoice,
            case=case,
            detail={"number": invoice.number, "total": str(invoice.total), "charges": [c.pk for c in lines]},
        )
    return invoice


def _credit(
    *, actor: Any, invoice: Invoice, amounts: dict[int, Decimal | None], reason: str, now: dt.datetime
) -> CreditNote:
    """Credit invoice lines (None: what is left of the line). Lines credited in full reverse their charge."""
    _payer_locked(invoice.payer_id)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    lines = {line.pk: line for line in invoice.lines.select_related("charge").filter(pk__in=list(amounts))}
    if len(lines) != len(amounts):
        raise BillingInvalid("Choose lines of this invoice.")
    credited = dict(
        CreditNoteLine.objects.filter(invoice_line__in=list(lines))
        .values("invoice_line")
        .annotate(total=Sum("amount"))
        .values_list("invoice_line", "total")
    )
    parts: list[tuple[InvoiceLine, Decimal]] = []
    for pk, line in lines.items():
        left = line.amount - (credited.get(pk) or Decimal("0"))
        want = left if amounts[pk] is None else _amount(amounts[pk], what="A credited amount")  # type: ignore[arg-type]
        if want > left:
            raise BillingInvalid(f"At most {left} can still be credited on “{line.description}”.")
        if want > 0:
            parts.append((line, want))
    total = sum((want for _, want in parts), Decimal("0"))
    if total <= 0:
        raise BillingInvalid("There is nothing left to credit on these lines.")
    applied = min(total, max(invoice.balance, Decimal("0")))
    note = CreditNote.objects.create(
        number=_next_number("credit_note"),
        invoice=invoice,
        payer_id=invoice.payer_id,
        issued_at=now,
        issued_by=_user(actor),
        reason=reason,
        currency=invoice.currency,
        total=total,
        to_credit=total - applied,
    )
    for line, want in parts:
        CreditNoteLine.objects.create(
            credit_note=note, invoice_line=line, description=line.description, amount=want
        )
        if want == line.amount - (credited.get(line.pk) or Decimal("0")):
            closed = Charge.objects.filter(pk=line.charge_id, status__in=LIVE_CHARGE_STATUSES).update(
                status=ChargeStatus.REVERSED, closed_at=now, closed_by=_user(actor), closed_reason=reason
            )
            if closed:
                revenue_count(charges=Charge.objects.filter(pk=line.charge_id), sign=-1)
    invoice.credited += applied
    invoice.status = _settle_status(invoice)
    invoice.save(update_fields=["credited", "status"])
    owed_refresh(payer_id=invoice.payer_id, invoices=[invoice])
    _credit_move(invoice.payer_id, note.to_credit)
    audit_record(
        actor=actor,
        action="billing.credit_note_issue",
        target=note,
        case=invoice.case_id,
        detail={
            "number": note.number,
            "invoice": invoice.number,
            "total": str(total),
            "to_credit": str(total - applied),
        },
    )
    return note


def credit_note_issue(
    *,
    actor: Any,
    invoice: Invoice,
    reason: str,
    amounts: dict[int, Decimal | None] | None = None,
    now: dt.datetime | None = None,
) -> CreditNote:
    """Correct an issued invoice: credit some lines (by invoice line id; None or no amounts: all that is
    left). What exceeds the invoice's open balance becomes the payer's credit."""
    _require(can_manage_billing(actor), "Only the director and the front desk issue credit notes.")
    reason = _reason(reason)
    with transaction.atomic():
        if amounts is None:
            amounts = {pk: None for pk in invoice.lines.values_list("pk", flat=True)}
        return _credit(
            actor=actor, invoice=invoice, amounts=amounts, reason=reason, now=now or timezone.now()
        )


def invoice_mark_sent(*, actor: Any, invoice: Invoice, now: dt.datetime | None = None) -> Invoice:
    _require(can_manage_billing(actor), "Only the director and the front desk send invoices.")
    with transaction.atomic():
        current = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if current.sent_at is None:
            current.sent_at = now or timezone.now()
            current.status = _settle_status(current)
            current.save(update_fields=["sent_at", "status"])
            audit_record(actor=actor, action="billing.invoice_sent", target=current, case=current.case_id)
    return current


def invoice_write_off(
    *, actor: Any, invoice: Invoice, reason: str, now: dt.datetime | None = None
) -> Invoice:
    """Stop collecting what is left of an invoice (the reason is kept); its figures stay as issued."""
    _require(can_manage_billing(actor), "Only the director and the front desk write invoices off.")
    reason = _reason(reason)
    with transaction.atomic():
        _payer_locked(invoice.payer_id)
        current = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if current.status in (InvoiceStatus.PAID, InvoiceStatus.WRITTEN_OFF):
            raise BillingInvalid("Only an invoice with something left to pay can be written off.")
        current.status = InvoiceStatus.WRITTEN_OFF
        current.written_off_at = now or timezone.now()
        current.write_off_reason = reason
        current.save(update_fields=["status", "written_off_at", "write_off_reason"])
        owed_refresh(payer_id=current.payer_id, invoices=[current])
        audit_record(
            actor=actor,
            action="billing.invoice_write_off",
            target=current,
            case=current.case_id,
            detail={"balance": str(current.balance)},
        )
    return current


# --- Payments -------------------------------------------------------------------------------------
def _allocate(
    *, payer: Payer, invoices: list[Invoice], available: Decimal, payment: Payment | None, now: dt.datetime
) -> list[tuple[int, Decimal]]:
    done = []
    paid: list[Invoice] = []
    for invoice in invoices:
        if available <= 0:
            break
        part = min(available, invoice.balance)
        if part <= 0 or invoice.status == InvoiceStatus.WRITTEN_OFF:
            continue
        Allocation.objects.create(payer=payer, payment=payment, invoice=invoice, amount=part, at=now)
        invoice.allocated += part
        invoice.status = _settle_status(invoice)
        invoice.save(update_fields=["allocated", "status"])
        available -= part
        done.append((invoice.number, part))
        paid.append(invoice)
    if done:
        owed_refresh(payer_id=payer.pk, invoices=paid)
        _credit_move(payer.pk, -sum((part for _, part in done), Decimal("0")))
    return done


def _open_invoices(payer: Payer, chosen: Iterable[Invoice] | None) -> list[Invoice]:
    found = Invoice.objects.select_for_update().filter(
        payer=payer, status__in=[InvoiceStatus.OPEN, InvoiceStatus.SENT, InvoiceStatus.PARTLY_PAID]
    )
    if chosen is not None:
        ids = [i.pk for i in chosen]
        found = found.filter(pk__in=ids)
        if found.count() != len(set(ids)):
            raise BillingInvalid("Choose open invoices of this payer.")
    return list(found.order_by("due_on", "number"))


def payment_record(
    *,
    actor: Any,
    payer: Payer,
    method: str,
    amount: Decimal,
    received_on: dt.date,
    reference: str = "",
    invoices: Iterable[Invoice] | None = None,
    now: dt.datetime | None = None,
) -> Payment:
    """Record money received and set it against the payer's open invoices (the chosen ones, else oldest
    due first); what is left over stays as the payer's credit."""
    _require(can_manage_billing(actor), "Only the director and the front desk record payments.")
    if method not in PaymentMethod.values:
        raise BillingInvalid("Choose how the money was paid.")
    amount = _amount(amount)
    now = now or timezone.now()
    if received_on > timezone.localtime(now).date():
        raise BillingInvalid("A payment cannot be received in the future.")
    with transaction.atomic():
        _payer_locked(payer.pk)
        targets = _open_invoices(payer, invoices)
        payment = Payment.objects.create(
            payer=payer,
            method=method,
            amount=amount,
            currency=currency(),
            received_on=received_on,
            reference=reference.strip()[:100],
            recorded_at=now,
            recorded_by=actor,
        )
        _credit_move(payer.pk, amount)
        done = _allocate(payer=payer, invoices=targets, available=amount, payment=payment, now=now)
        audit_record(
            actor=actor,
            action="billing.payment_record",
            target=payment,
            detail={"amount": str(amount), "method": method, "allocated": [[n, str(a)] for n, a in done]},
        )
    return payment


def credit_allocate(
    *, actor: Any, payer: Payer, invoices: Iterable[Invoice] | None = None, now: dt.datetime | None = None
) -> Decimal:
    """Use the payer's credit for their open invoices; returns how much was used."""
    _require(can_manage_billing(actor), "Only the director and the front desk allocate credit.")
    now = now or timezone.now()
    with transaction.atomic():
        credit = _payer_locked(payer.pk).credit
        if credit <= 0:
            raise BillingInvalid("This payer has no credit.")
        done = _allocate(
            payer=payer, invoices=_open_invoices(payer, invoices), available=credit, payment=None, now=now
        )
        used = sum((a for _, a in done), Decimal("0"))
        audit_record(
            actor=actor,
            action="billing.credit_allocate",
            target=payer,
            detail={"allocated": [[n, str(a)] for n, a in done]},
        )
    return used


def refund_record(
    *,
    actor: Any,
    payer: Payer,
    amount: Decimal,
    method: str,
    reason: str,
    paid_on: dt.date,
    now: dt.datetime | None = None,
) -> Refund:
    """Pay credit back to the payer (never more than their credit)."""
    _require(can_manage_billing(actor), "Only the director and the front desk record refunds.")
    if method not in PaymentMethod.values:
        raise BillingInvalid("Choose how the money was paid back.")
    amount = _amount(amount)
    reason = _reason(reason)
    with transaction.atomic():
        credit = _payer_locked(payer.pk).credit
        if amount > credit:
            raise BillingInvalid(f"This payer's credit is {credit}: refund at most that.")
        refund = Refund.objects.create(
            payer=payer,
            method=method,
            amount=amount,
            currency=currency(),
            paid_on=paid_on,
            reason=reason,
            recorded_at=now or timezone.now(),
            recorded_by=actor,
        )
        _credit_move(payer.pk, -amount)
        audit_record(
            actor=actor, action="billing.refund_record", target=refund, detail={"amount": str(amount)}
        )
    return refund


def shares_charges(
    *,
    case: Case,
    shares: list[Share],
    amount: Decimal,
    kind: str,
    description: str,
    actor: Any,
    now: dt.datetime,
    **links: Any,
) -> list[Charge]:
    """Charges for one amount split among payers (packages)."""
    return [
        _create_charge(
            case=case, wanted=Wanted(share, kind, part, description), actor=actor, now=now, **links
        )
        for share, part in split_by_shares(amount, shares)
        if part > 0
    ]


def payments_record(
    *,
    actor: Any,
    amounts: list[tuple[Payer, Decimal]],
    method: str,
    received_on: dt.date,
    reference: str = "",
    now: dt.datetime | None = None,
) -> list[Payment]:
    """Several payers paying at once (both partners of a split case at the desk): one payment each, all
    recorded or none."""
    if not amounts:
        raise BillingInvalid("Give the amount received from at least one payer.")
    if len({payer.pk for payer, _ in amounts}) != len(amounts):
        raise BillingInvalid("Give each payer's amount once.")
    now = now or timezone.now()
    with transaction.atomic():
        # Lock the payers in one order first, so that two desks recording the same payers never wait for
        # each other crosswise.
        for payer_id in sorted(payer.pk for payer, _ in amounts):
            _payer_locked(payer_id)
        return [
            payment_record(
                actor=actor,
                payer=payer,
                method=method,
                amount=amount,
                received_on=received_on,
                reference=reference,
                now=now,
            )
            for payer, amount in amounts
        ]
