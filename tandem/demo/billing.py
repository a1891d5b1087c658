"""The small demo's billing, written through the real services (they audit themselves): a fee schedule,
and on the hand-picked cases billing in every state.

- The couple with portal log-ins splits 50/50: an invoice to each partner, A's paid, B's partly paid, so
  each partner sees only their own part in the portal.
- One couple is billed to an insurer for an identified patient (the invoice marked sent).
- One case is paid by one partner with a sliding scale: one invoice left open, an older one written off
  with its reason, and a credit note correcting another.
- One intensive block is sold as a package: its deposit invoiced and paid, its balance not yet due.
- Another split couple: partner A's invoice open, partner B's charges not yet invoiced (the front
  desk's list).

Only a few recent sessions per case are charged, so the seed stays quick.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils import timezone

from tandem.audit.actors import SEED
from tandem.billing import services
from tandem.billing.charging import client_payer
from tandem.billing.models import Invoice, Payer, PayerKind
from tandem.billing.packages import package_create
from tandem.cases.models import Case
from tandem.scheduling.models import (
    Appointment,
    AppointmentKind,
    AppointmentSeries,
    AppointmentStatus,
    SeriesKind,
)

FEES = [
    (AppointmentKind.JOINT_ASSESSMENT, 90, "165.00"),
    (AppointmentKind.INDIVIDUAL_ASSESSMENT, 60, "110.00"),
    (AppointmentKind.STANDARD, 50, "120.00"),
    (AppointmentKind.STANDARD, 90, "175.00"),
    (AppointmentKind.CONJUNCTIVE, 50, "100.00"),
    (AppointmentKind.INTENSIVE, 120, "250.00"),
    (AppointmentKind.FOLLOW_UP_VISIT, 50, "120.00"),
    (AppointmentKind.FOLLOW_UP_CALL, 20, "35.00"),
]
SESSIONS_PER_CASE = 3
INSURER = "Demo Health Insurance (synthetic)"


class BillingStory:
    def __init__(self, *, now: dt.datetime, director: Any, coordinator: Any) -> None:
        self.now, self.director, self.desk = now, director, coordinator
        self.today = timezone.localtime(now).date()

    def _charge(self, case: Case, count: int = SESSIONS_PER_CASE) -> list[int]:
        sessions = (
            Appointment.objects.filter(case=case, status=AppointmentStatus.ATTENDED, ends_at__lte=self.now)
            .exclude(kind=AppointmentKind.CONSULTATION)
            .filter(series__billing_package__isnull=True)
            .order_by("-starts_at")
            .values_list("pk", flat=True)[:count]
        )
        for pk in sessions:
            services.charges_reconcile(actor=SEED, appointment_id=pk, now=self.now)
        return list(sessions)

    def _invoice(self, case: Case, client: Any = None, *, insurer: str = "") -> Invoice | None:
        payer = (
            Payer.objects.filter(kind="insurer", insurer_name=insurer).first()
            if insurer
            else client_payer(client)
        )
        if payer is None:
            return None
        try:
            return services.invoice_issue(actor=self.desk, payer=payer, case=case, now=self.now)
        except services.BillingInvalid:
            return None

    def _pay(self, invoice: Invoice | None, amount: Decimal | None = None, method: str = "transfer") -> None:
        if invoice is None:
            return
        services.payment_record(
            actor=self.desk,
            payer=invoice.payer,
            method=method,
            amount=amount or invoice.total,
            received_on=self.today,
            reference=f"Demo {invoice.display_number}",
            now=self.now,
        )

    def write(self, cases: Sequence[Case], portal_case: Case | None) -> None:
        for kind, minutes, amount in FEES:
            services.fee_set(actor=self.director, kind=kind, minutes=minutes, amount=Decimal(amount))
        self.package(cases)  # first: its sessions are covered by the package, never charged one by one
        charged = (
            Appointment.objects.filter(status=AppointmentStatus.ATTENDED, ends_at__lte=self.now)
            .exclude(kind=AppointmentKind.CONSULTATION)
            .filter(series__billing_package__isnull=True)
            .values_list("case_id", flat=True)
        )
        with_sessions = set(charged)
        billed = [c for c in cases if c.is_couple and c.pk in with_sessions]
        split = portal_case if portal_case is not None else (billed[0] if billed else None)
        others = [c for c in billed if c != split]
        if split is not None:
            self.split_case(split)
        if len(others) > 0:
            self.insurer_case(others[0])
        if len(others) > 1:
            self.one_payer_case(others[1])
        for index, case in enumerate(others[2:4]):
            services.arrangement_set(actor=self.desk, case=case, payer_kind=PayerKind.SPLIT)
            self._charge(case, 2)
            if index == 0:
                self._invoice(case, case.partner_a)  # left open; partner B's charges stay uninvoiced

    def split_case(self, case: Case) -> None:
        services.arrangement_set(actor=self.desk, case=case, payer_kind=PayerKind.SPLIT)
        self._charge(case)
        invoice_a = self._invoice(case, case.partner_a)
        invoice_b = self._invoice(case, case.partner_b)
        self._pay(invoice_a, method="card")
        if invoice_b is not None:
            services.invoice_mark_sent(actor=self.desk, invoice=invoice_b, now=self.now)
            self._pay(invoice_b, amount=(invoice_b.total / 2).quantize(Decimal("0.01")))

    def insurer_case(self, case: Case) -> None:
        services.arrangement_set(
            actor=self.desk,
            case=case,
            payer_kind=PayerKind.INSURER,
            insurer_name=INSURER,
            identified_patient=case.partner_a,
        )
        self._charge(case)
        invoice = self._invoice(case, insurer=INSURER)
        if invoice is not None:
            services.invoice_mark_sent(actor=self.desk, invoice=invoice, now=self.now)

    def one_payer_case(self, case: Case) -> None:
        services.arrangement_set(
            actor=self.desk, case=case, payer_kind=PayerKind.CLIENT, payer_client=case.partner_b
        )
        sessions = self._charge(case, 1)
        written_off = self._invoice(case, case.partner_b)
        if written_off is not None:
            services.invoice_write_off(
                actor=self.desk,
                invoice=written_off,
                reason="Hardship agreed with the director.",
                now=self.now,
            )
        services.sliding_scale_set(
            actor=self.desk,
            case=case,
            kind="percent",
            value=Decimal("70"),
            reason="Student income.",
            now=self.now,
        )
        more = (
            Appointment.objects.filter(case=case, status=AppointmentStatus.ATTENDED)
            .exclude(pk__in=sessions)
            .exclude(kind=AppointmentKind.CONSULTATION)
            .order_by("-starts_at")
            .values_list("pk", flat=True)
        )
        for pk in more[:2]:
            services.charges_reconcile(actor=SEED, appointment_id=pk, now=self.now)
        corrected = self._invoice(case, case.partner_b)
        if corrected is not None:
            line = corrected.lines.first()
            services.credit_note_issue(
                actor=self.desk,
                invoice=corrected,
                reason="Session charged at the full fee before the sliding scale applied.",
                amounts={line.pk: None} if line is not None else None,
                now=self.now,
            )

    def package(self, cases: Sequence[Case]) -> None:
        """The demo books intensive days one by one (bulk-inserted, no series): gather one case's intensive
        days, upcoming ones first, into the block they are, and sell it as a package."""
        intensive = Appointment.objects.filter(
            case__in=cases, kind=AppointmentKind.INTENSIVE, series__isnull=True
        )
        upcoming = intensive.filter(status=AppointmentStatus.BOOKED, starts_at__gt=self.now)
        first = upcoming.order_by("starts_at").first() or intensive.order_by("-starts_at").first()
        if first is None:
            return
        days = (upcoming if first.status == AppointmentStatus.BOOKED else intensive).filter(
            case=first.case_id
        )
        series = AppointmentSeries.objects.create(case_id=first.case_id, kind=SeriesKind.INTENSIVE)
        days.update(series=series)
        package = package_create(actor=self.desk, series=series, now=self.now)
        self._pay(self._invoice_package(package), method="transfer")

    def _invoice_package(self, package: Any) -> Invoice | None:
        charges = list(package.charges.filter(kind="deposit"))
        if not charges:
            return None
        return services.invoice_issue(
            actor=self.desk, payer=charges[0].payer, case=package.case, charges=charges[:1], now=self.now
        )


def _portal_couple(cases: Sequence[Case]) -> Case | None:
    for case in cases:
        if case.partner_b is not None and case.partner_a.user_id and case.partner_b.user_id:
            return case
    return None


def seed_billing(*, cases: Sequence[Case], now: dt.datetime, director: Any, coordinator: Any) -> None:
    BillingStory(now=now, director=director, coordinator=coordinator).write(cases, _portal_couple(cases))
