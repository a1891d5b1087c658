"""Billing: what a session costs, who pays it, and the documents and money that follow.

Every row here is written by `billing.services` (one function per write, with its audit row). Nothing is
deleted (every foreign key is PROTECT); corrections are new rows (a reversed charge, a credit note).
Money is `Decimal` with two places; every computed amount is rounded ROUND_HALF_UP to the cent
(`billing.money.cents`).

- `Fee`: the fee schedule, one price per appointment kind and length in minutes (the consultation is free:
  it has no fee row and is never charged). `BillingPolicy`: the late-cancellation and no-show fees (window
  in hours; an amount or a percentage of the session fee) and the intensive package defaults.
- `SlidingScale`: a case's reduced fee (a percentage of the scheduled fee, or a fixed fee per session),
  with its reason. A new one ends the previous one (`ended_at`), so history stays.
- `BillingArrangement` (one per case): who pays. `client` (one partner, `payer_client`), `split` (both
  partners; `split_percent_a` is partner A's share, default 50) or `insurer` (`insurer_name`, with the
  `identified_patient`, one of the case's clients; the claims app keeps payer and member ids beside it).
  `ArrangementOverride`: per appointment kind, another rule (e.g. conjunctive sessions billed to the partner
  who attends).
- `Payer`: whom a charge, invoice or payment belongs to: one client, or one insurer by name.
- `Charge`: an amount owed by one payer for one thing that happened (a session, a late cancellation or
  no-show fee, a package's deposit, balance or retained part on cancellation), linked to the case and the
  appointment or package. Status: open (not yet invoiced), invoiced, waived (with reason) or reversed
  (with reason; a correction, never deleted). A split session has one charge per partner.
- `Invoice` / `InvoiceLine`: issued once, never changed; gapless sequential numbers per practice from a
  `DocumentCounter` row locked for the issuing transaction. Only the collection state (`status`,
  `allocated`, `credited`, `sent_at`, write-off) moves afterwards. `CreditNote` / `CreditNoteLine`:
  corrections of an issued invoice, with their own gapless sequence.
- `Payment`: money received from a payer (cash, card terminal, bank transfer, insurer); `Allocation`: part
  of a payment set against one invoice; what is not allocated is the payer's credit. `Refund`: credit paid
  back.
- `Package`: an intensive sold as one price (deposit due at booking, balance before the first day), with
  refund rules by days before the first day copied onto it when sold; the block's sessions are covered by it
  and never charged one by one.
"""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Sum, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce

from tandem.scheduling.models import AppointmentKind

# Typed loosely so that `DecimalField(**MONEY, default=...)` type-checks like the spelled-out arguments.
MONEY: dict[str, Any] = {"max_digits": 12, "decimal_places": 2}


class Fee(models.Model):
    kind = models.CharField(max_length=30, choices=AppointmentKind.choices)
    minutes = models.PositiveSmallIntegerField()
    amount = models.DecimalField(**MONEY)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "minutes"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "minutes"], name="billing_fee_unique_kind_minutes"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="billing_fee_not_negative"),
            models.CheckConstraint(condition=~Q(kind="consultation"), name="billing_fee_consultation_free"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.minutes} min"


class FeeBasis(models.TextChoices):
    AMOUNT = "amount", "A fixed amount"
    PERCENT = "percent", "A percentage of the session fee"


def default_refund_rules() -> list[list[int]]:
    # 30 days or more before the first day: all back; 14 to 29 days: half; later: nothing.
    return [[30, 100], [14, 50]]


class BillingPolicy(models.Model):
    """The practice's one row of billing rules (the defaults apply until the director saves them)."""

    late_cancel_hours = models.PositiveSmallIntegerField(default=48)
    late_cancel_basis = models.CharField(max_length=10, choices=FeeBasis.choices, default=FeeBasis.PERCENT)
    late_cancel_value = models.DecimalField(**MONEY, default=Decimal("50"))
    no_show_basis = models.CharField(max_length=10, choices=FeeBasis.choices, default=FeeBasis.PERCENT)
    no_show_value = models.DecimalField(**MONEY, default=Decimal("100"))
    package_deposit_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("30"))
    package_balance_days = models.PositiveSmallIntegerField(
        default=14, help_text="The balance is due this many days before the first day."
    )
    # [[days before the first day, percent refunded], ...]: the first rule whose days the cancellation
    # meets applies; later than every rule refunds nothing.
    package_refund_rules = models.JSONField(default=default_refund_rules)
    payment_days = models.PositiveSmallIntegerField(default=14, help_text="Invoices are due after this.")

    class Meta:
        verbose_name_plural = "billing policy"

    def __str__(self) -> str:
        return "Billing policy"

    @classmethod
    def current(cls) -> "BillingPolicy":
        # Unsaved defaults until the director saves the policy: reading the rules never writes.
        return cls.objects.order_by("pk").first() or cls()


class SlidingScaleKind(models.TextChoices):
    PERCENT = "percent", "Percentage of the fee"
    FIXED = "fixed", "Fixed fee per session"


class SlidingScale(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="sliding_scales")
    kind = models.CharField(max_length=10, choices=SlidingScaleKind.choices)
    value = models.DecimalField(**MONEY)
    reason = models.TextField()
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["case", "-set_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(ended_at__isnull=True), name="billing_one_current_scale"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="billing_scale_not_negative"),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__lte=100), name="billing_scale_percent_max"
            ),
        ]

    def __str__(self) -> str:
        return f"Sliding scale {self.kind} {self.value} (case {self.case_id})"


class PayerKind(models.TextChoices):
    CLIENT = "client", "One partner pays"
    SPLIT = "split", "Both partners split"
    INSURER = "insurer", "Insurer"


class BillingArrangement(models.Model):
    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="billing_arrangement")
    payer_kind = models.CharField(max_length=10, choices=PayerKind.choices, default=PayerKind.CLIENT)
    payer_client = models.ForeignKey(
        "cases.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    split_percent_a = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("50"))
    insurer_name = models.CharField(max_length=200, blank=True)
    identified_patient = models.ForeignKey(
        "cases.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(split_percent_a__gte=0, split_percent_a__lte=100), name="billing_split_range"
            ),
            models.CheckConstraint(
                condition=~Q(payer_kind="client") | Q(payer_client__isnull=False),
                name="billing_client_kind_has_client",
            ),
            models.CheckConstraint(
                condition=~Q(payer_kind="insurer")
                | (Q(identified_patient__isnull=False) & ~Q(insurer_name="")),
                name="billing_insurer_kind_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"Billing arrangement of case {self.case_id}"


class OverrideRule(models.TextChoices):
    ARRANGEMENT = "arrangement", "As the case's arrangement"
    ATTENDEE = "attendee", "The partner who attends pays"
    CLIENT = "client", "One named partner pays"
    SPLIT = "split", "Both partners split as arranged"


class ArrangementOverride(models.Model):
    arrangement = models.ForeignKey(BillingArrangement, on_delete=models.PROTECT, related_name="overrides")
    kind = models.CharField(max_length=30, choices=AppointmentKind.choices)
    rule = models.CharField(max_length=12, choices=OverrideRule.choices)
    payer_client = models.ForeignKey(
        "cases.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["arrangement", "kind"], name="billing_one_override_per_kind"),
            models.CheckConstraint(
                condition=~Q(rule="client") | Q(payer_client__isnull=False), name="billing_override_client"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.rule}"


class Payer(models.Model):
    kind = models.CharField(max_length=10, choices=[("client", "Client"), ("insurer", "Insurer")])
    client = models.OneToOneField(
        "cases.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="payer"
    )
    insurer_name = models.CharField(max_length=200, blank=True)
    # What this payer's open invoices still ask, kept by the billing services that change an invoice's
    # balance (`services.owed_refresh`), so that the aged receivables rank payers through an
    # index instead of summing every open invoice per payer on each view.
    open_balance = models.DecimalField(**MONEY, default=Decimal("0.00"))
    # What the payer holds with the practice (payments and over-credited notes, less what was allocated
    # or refunded), moved by the services in the transaction that writes each such row
    # (`services._credit_move`), so that a statement and the refund and allocation rules read one row
    # instead of four sums over an insurer's years of payments.
    credit = models.DecimalField(**MONEY, default=Decimal("0.00"))

    class Meta:
        indexes = [
            models.Index(
                fields=["-open_balance", "id"],
                condition=Q(open_balance__gt=0),
                name="billing_payer_owing_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="client") & Q(client__isnull=False) & Q(insurer_name=""))
                | (Q(kind="insurer") & Q(client__isnull=True) & ~Q(insurer_name="")),
                name="billing_payer_one_kind",
            ),
            models.CheckConstraint(condition=Q(credit__gte=0), name="billing_payer_credit_not_negative"),
            models.UniqueConstraint(
                fields=["insurer_name"], condition=Q(kind="insurer"), name="billing_one_payer_per_insurer"
            ),
        ]

    def __str__(self) -> str:
        return self.insurer_name if self.kind == "insurer" else f"Client payer {self.client_id}"


class PackageStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CANCELLED = "cancelled", "Cancelled"


class Package(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="billing_packages")
    series = models.OneToOneField(
        "scheduling.AppointmentSeries", on_delete=models.PROTECT, related_name="billing_package"
    )
    first_day = models.DateField()
    price = models.DecimalField(**MONEY)
    deposit = models.DecimalField(**MONEY)
    deposit_due_on = models.DateField()
    balance_due_on = models.DateField()
    refund_rules = models.JSONField(default=list)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=PackageStatus.choices, default=PackageStatus.ACTIVE)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    refund_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(deposit__gte=0) & Q(deposit__lte=models.F("price")),
                name="billing_package_deposit_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Package {self.pk} (case {self.case_id})"


class ChargeKind(models.TextChoices):
    SESSION = "session", "Session"
    LATE_CANCEL = "late_cancel", "Late cancellation fee"
    NO_SHOW = "no_show", "Missed session fee"
    DEPOSIT = "deposit", "Intensive deposit"
    BALANCE = "balance", "Intensive balance"
    RETAINED = "retained", "Intensive cancellation (not refunded)"


class ChargeStatus(models.TextChoices):
    OPEN = "open", "Not yet invoiced"
    INVOICED = "invoiced", "Invoiced"
    WAIVED = "waived", "Waived"
    REVERSED = "reversed", "Reversed"


class Charge(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="charges")
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="charges"
    )
    package = models.ForeignKey(
        Package, null=True, blank=True, on_delete=models.PROTECT, related_name="charges"
    )
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="charges")
    kind = models.CharField(max_length=20, choices=ChargeKind.choices)
    description = models.CharField(max_length=200)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    # The share of the full fee this charge is (100 unless split), for the paperwork.
    share_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("100"))
    service_date = models.DateField()
    due_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=ChargeStatus.choices, default=ChargeStatus.OPEN)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["service_date", "id"]
        indexes = [models.Index(fields=["payer", "status"]), models.Index(fields=["case", "service_date"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="billing_charge_not_negative"),
            # The guard against charging twice: one live charge per appointment, payer and kind.
            models.UniqueConstraint(
                fields=["appointment", "payer", "kind"],
                condition=Q(appointment__isnull=False) & ~Q(status="reversed"),
                name="billing_one_live_charge_per_appointment",
            ),
            models.UniqueConstraint(
                fields=["package", "payer", "kind"],
                condition=Q(package__isnull=False) & ~Q(status="reversed"),
                name="billing_one_live_charge_per_package",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency}"


class DocumentCounter(models.Model):
    """The last number given in one series ("invoice", "credit_note"); locked while a number is taken."""

    series = models.CharField(max_length=20, primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.series}: {self.last}"


class InvoiceStatus(models.TextChoices):
    OPEN = "open", "Open"
    SENT = "sent", "Sent"
    PARTLY_PAID = "partly_paid", "Partly paid"
    PAID = "paid", "Paid"
    WRITTEN_OFF = "written_off", "Written off"


# Invoices with something the payer may still pay (a written-off one no longer counts).
OPEN_INVOICE_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.SENT, InvoiceStatus.PARTLY_PAID)


def invoice_balance() -> CombinedExpression:
    """`Invoice.balance` in SQL: what is left to pay of an invoice."""
    return F("total") - F("allocated") - F("credited")


def money_sum(expression: Any, *, only: models.Q | None = None) -> Coalesce:
    """SUM of an amount in SQL (over the rows matching `only`, when given), zero (with two places) when
    there are none."""
    total = Sum(expression, filter=only)
    return Coalesce(total, Value(Decimal("0.00")), output_field=models.DecimalField(**MONEY))


class Invoice(models.Model):
    number = models.PositiveIntegerField(unique=True)
    # Indexed by the statement index, which leads with the payer: a second index on the payer alone
    # lets a prepared (generic) plan pick it and sort an insurer's whole history for one page.
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="invoices", db_index=False)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="invoices")
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    due_on = models.DateField()
    currency = models.CharField(max_length=3)
    total = models.DecimalField(**MONEY)
    # The payer's name and address block as issued (the client's details may change later).
    bill_to = models.TextField()
    # Collection state, kept by the payment services.
    status = models.CharField(max_length=12, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN)
    allocated = models.DecimalField(**MONEY, default=Decimal("0"))
    credited = models.DecimalField(**MONEY, default=Decimal("0"))
    sent_at = models.DateTimeField(null=True, blank=True)
    written_off_at = models.DateTimeField(null=True, blank=True)
    write_off_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-number"]
        indexes = [
            models.Index(fields=["payer", "status"]),
            # A payer's statement pages its invoices newest first (an insurer has thousands).
            models.Index(fields=["payer", "-number"], name="billing_invoice_statement_idx"),
            models.Index(fields=["status", "due_on"]),
            # Aged receivables read only the unpaid invoices (billing/reports.py).
            models.Index(
                fields=["payer", "issued_at"],
                condition=Q(status__in=["open", "sent", "partly_paid"]),
                name="billing_invoice_open_idx",
            ),
            # One issue day's open invoices, for the kept receivables (billing.receivables).
            models.Index(
                fields=["issued_at"],
                condition=Q(status__in=["open", "sent", "partly_paid"]),
                name="billing_invoice_owed_day_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="billing_invoice_total_not_negative"),
            models.CheckConstraint(
                condition=Q(allocated__gte=0) & Q(credited__gte=0),
                name="billing_invoice_settled_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        return f"INV-{self.number:06d}"

    @property
    def balance(self) -> Decimal:
        return self.total - self.allocated - self.credited


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    charge = models.OneToOneField(Charge, on_delete=models.PROTECT, related_name="invoice_line")
    description = models.CharField(max_length=200)
    service_date = models.DateField()
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["service_date", "id"]

    def __str__(self) -> str:
        return f"{self.description} {self.amount}"


class CreditNote(models.Model):
    number = models.PositiveIntegerField(unique=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    # Indexed by the statement index, which leads with the payer: a second index on the payer alone
    # lets a prepared (generic) plan pick it and sort an insurer's whole history for one page.
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="credit_notes", db_index=False)
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    currency = models.CharField(max_length=3)
    total = models.DecimalField(**MONEY)
    # The part that exceeded the invoice's open balance (it was already paid) and became payer credit.
    to_credit = models.DecimalField(**MONEY, default=Decimal("0"))

    class Meta:
        ordering = ["-number"]
        indexes = [models.Index(fields=["payer", "-number"], name="billing_note_statement_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(total__gt=0), name="billing_credit_note_positive"),
        ]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        return f"CN-{self.number:06d}"


class CreditNoteLine(models.Model):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.PROTECT, related_name="lines")
    invoice_line = models.ForeignKey(InvoiceLine, on_delete=models.PROTECT, related_name="credit_lines")
    description = models.CharField(max_length=200)
    amount = models.DecimalField(**MONEY)

    def __str__(self) -> str:
        return f"{self.description} -{self.amount}"


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CARD = "card", "Card terminal"
    TRANSFER = "transfer", "Bank transfer"
    INSURER = "insurer", "Insurer"


class Payment(models.Model):
    # Indexed by the statement index, which leads with the payer: a second index on the payer alone
    # lets a prepared (generic) plan pick it and sort an insurer's whole history for one page.
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="payments", db_index=False)
    method = models.CharField(max_length=10, choices=PaymentMethod.choices)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    received_on = models.DateField()
    reference = models.CharField(max_length=100, blank=True)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-received_on", "-id"]
        # A payer's statement pages its payments newest first.
        indexes = [
            models.Index(fields=["payer", "-received_on", "-id"], name="billing_payment_statement_idx")
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="billing_payment_positive")]

    def __str__(self) -> str:
        return f"Payment {self.amount} {self.currency}"


class Allocation(models.Model):
    """Money set against an invoice: from a payment, or (no payment) from the payer's credit."""

    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="allocations")
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="allocations"
    )
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(**MONEY)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="billing_allocation_positive")]

    def __str__(self) -> str:
        return f"{self.amount} to invoice {self.invoice_id}"


class Refund(models.Model):
    # Indexed by the statement index, which leads with the payer: a second index on the payer alone
    # lets a prepared (generic) plan pick it and sort an insurer's whole history for one page.
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="refunds", db_index=False)
    method = models.CharField(max_length=10, choices=PaymentMethod.choices)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    paid_on = models.DateField()
    reason = models.TextField()
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["payer", "-paid_on", "-id"], name="billing_refund_statement_idx")]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="billing_refund_positive")]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency}"


# --- Revenue, kept by day ---------------------------------------------------------------------------
# Charges that count as revenue: not waived, not reversed.
LIVE_CHARGE_STATUSES = (ChargeStatus.OPEN, ChargeStatus.INVOICED)


class RevenueDay(models.Model):
    """Live charges (open or invoiced) summed by service day and session kind, each charge once: the
    revenue report's months, formats and total. Kept by billing's services as charges are made and
    closed (services.revenue_count), so that the report reads a few thousand rows instead of a year of
    a large practice's charges joined to their appointments (400 ms at 20,000 cases)."""

    day = models.DateField()
    # The session kind; blank for a charge that belongs to no appointment (a package's deposit).
    kind = models.CharField(max_length=30, blank=True)
    amount = models.DecimalField(**MONEY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "kind"], name="billing_revenueday_one_row")]

    def __str__(self) -> str:
        return f"{self.day} {self.kind or 'no session'}: {self.amount}"


class RevenueDayTherapist(models.Model):
    """The same sums by therapist as well: a co-therapy session's charge counts in full for each of its
    two therapists (the report's by-therapist table); a charge with no therapist is on the row without."""

    day = models.DateField()
    kind = models.CharField(max_length=30, blank=True)
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(**MONEY)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "kind", "therapist"],
                condition=Q(therapist__isnull=False),
                name="billing_revenuetherapist_one_row",
            ),
            models.UniqueConstraint(
                fields=["day", "kind"],
                condition=Q(therapist__isnull=True),
                name="billing_revenuetherapist_one_unassigned_row",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind or 'no session'} therapist {self.therapist_id}: {self.amount}"


class ReceivableDay(models.Model):
    """What is still owed on the open invoices issued on one local day (balances above zero, written-off
    invoices left out): the aged-receivables total row, which buckets these days by age instead of reading
    every open invoice of a large practice. Kept by billing's services through
    `billing.receivables.receivables_refresh` whenever an invoice's balance or status changes."""

    day = models.DateField(unique=True)
    amount = models.DecimalField(**MONEY, default=Decimal("0.00"))

    def __str__(self) -> str:
        return f"{self.day}: {self.amount} owed"


class ReceivablePayerDay(models.Model):
    """What one payer still owes on the open invoices issued on one local day, kept with `ReceivableDay`
    (only days with something owed have a row). The aged receivables bucket a page of payers from these:
    an insurer of a large practice has thousands of open invoices, but only a few hundred issue days, so
    the report reads no more rows as the practice grows past a year of them."""

    payer = models.ForeignKey(Payer, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    amount = models.DecimalField(**MONEY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["payer", "day"], name="billing_receivable_payer_day")]

    def __str__(self) -> str:
        return f"{self.day}: {self.amount} owed by payer {self.payer_id}"
