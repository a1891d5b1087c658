"""The large practice's year of billing, in bulk: a monthly invoice per case, most of them paid.

For the receivables benchmark (bench/receivables.py): every case gets one invoice a month for the last
twelve months, each from one charge; the case's partner A pays, one case in ten is billed to one of a
few invented insurers. Older invoices are mostly paid (a payment and its allocation), some partly paid,
a few written off; recent ones are mostly open. Rows are inserted in batches with the figures billing's
services would have written (allocated, status, gapless numbers, the invoice counter moved past them).
Audit events are not written for these rows: the chain would grow by a million HMACs for a benchmark.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal

from django.utils import timezone

from tandem.accounts.models import Role, User
from tandem.billing.models import (
    Allocation,
    Charge,
    ChargeKind,
    ChargeStatus,
    DocumentCounter,
    Invoice,
    InvoiceLine,
    Payer,
    Payment,
)
from tandem.billing.receivables import receivables_rebuild
from tandem.billing.revenue import revenue_rebuild
from tandem.billing.services import payer_balances_rebuild
from tandem.cases.models import Case
from tandem.demo.data import BATCH
from tandem.demo.plans import bulk

INSURERS = ("Evergreen Demo Health Plan", "Harbor Example Mutual", "Summit Sample Insurance")
AMOUNTS = (Decimal("120.00"), Decimal("150.00"), Decimal("165.00"), Decimal("240.00"), Decimal("300.00"))


def _status(rng: random.Random, age_days: int) -> str:
    roll = rng.random()
    if age_days > 60:
        return (
            "paid"
            if roll < 0.92
            else "partly_paid"
            if roll < 0.95
            else "written_off"
            if roll < 0.97
            else "sent"
        )
    if age_days > 30:
        return "paid" if roll < 0.7 else "partly_paid" if roll < 0.8 else "sent"
    return "paid" if roll < 0.3 else "open"


class LargeBilling:
    def __init__(self, *, now: dt.datetime, seed: int, progress: Callable[[str], None]) -> None:
        self.now = now
        self.rng = random.Random(seed + 23)  # noqa: S311 -- synthetic data
        self.progress = progress
        self.currency = "USD"

    def _payers(self, cases: list[tuple[int, int]]) -> dict[int, int]:
        """Case id -> payer id: an insurer for one case in ten, else partner A."""
        insurers = [Payer.objects.get_or_create(kind="insurer", insurer_name=name)[0].pk for name in INSURERS]
        existing = dict(Payer.objects.filter(kind="client").values_list("client_id", "pk"))
        missing = [Payer(kind="client", client_id=a) for _, a in cases if a not in existing]
        for payer in bulk(Payer, missing):
            existing[payer.client_id] = payer.pk  # type: ignore[index]
        return {case: insurers[case % len(insurers)] if case % 10 == 0 else existing[a] for case, a in cases}

    def write(self) -> int:
        actor = User.objects.filter(role=Role.DIRECTOR).order_by("pk").first()
        cases = list(Case.objects.order_by("pk").values_list("pk", "partner_a_id"))
        payer_of = self._payers(cases)
        counter, _ = DocumentCounter.objects.get_or_create(series="invoice")
        number = counter.last
        today = timezone.localdate(self.now)
        written = 0
        for start in range(0, len(cases), BATCH // 12):
            chunk = cases[start : start + BATCH // 12]
            charges, invoices = [], []
            for case_id, _ in chunk:
                for month in range(12):
                    day = today - dt.timedelta(days=30 * month + self.rng.randint(1, 28))
                    amount = self.rng.choice(AMOUNTS)
                    issued = timezone.make_aware(dt.datetime.combine(day, dt.time(9)))
                    charges.append(
                        Charge(
                            case_id=case_id,
                            payer_id=payer_of[case_id],
                            kind=ChargeKind.SESSION,
                            description="Sessions of the month",
                            amount=amount,
                            currency=self.currency,
                            service_date=day,
                            status=ChargeStatus.INVOICED,
                            created_at=issued,
                        )
                    )
                    number += 1
                    status = _status(self.rng, (today - day).days)
                    paid = (
                        amount
                        if status == "paid"
                        else (amount / 2).quantize(Decimal("0.01"))
                        if status == "partly_paid"
                        else Decimal("0")
                    )
                    invoices.append(
                        Invoice(
                            number=number,
                            payer_id=payer_of[case_id],
                            case_id=case_id,
                            issued_at=issued,
                            due_on=day + dt.timedelta(days=14),
                            currency=self.currency,
                            total=amount,
                            bill_to="Synthetic payer",
                            status=status,
                            allocated=paid,
                            sent_at=issued,
                            written_off_at=issued + dt.timedelta(days=90)
                            if status == "written_off"
                            else None,
                            write_off_reason="Synthetic write-off" if status == "written_off" else "",
                        )
                    )
            bulk(Charge, charges)
            bulk(Invoice, invoices)
            bulk(
                InvoiceLine,
                [
                    InvoiceLine(
                        invoice=i,
                        charge=c,
                        description=c.description,
                        service_date=c.service_date,
                        amount=c.amount,
                    )
                    for i, c in zip(invoices, charges, strict=True)
                ],
            )
            self._payments([i for i in invoices if i.allocated > 0], actor)
            written += len(invoices)
        DocumentCounter.objects.filter(series="invoice").update(last=number)
        rebuild_kept_sums()
        self.progress(f"wrote {written:,} invoices with their charges, lines and payments")
        return written

    def _payments(self, invoices: list[Invoice], actor: User | None) -> None:
        if actor is None or not invoices:
            return
        payments = bulk(
            Payment,
            [
                Payment(
                    payer_id=i.payer_id,
                    method="transfer",
                    amount=i.allocated,
                    currency=self.currency,
                    received_on=min(i.due_on, timezone.localdate(self.now)),
                    recorded_at=i.issued_at + dt.timedelta(days=7),
                    recorded_by=actor,
                )
                for i in invoices
            ],
        )
        bulk(
            Allocation,
            [
                Allocation(payer_id=i.payer_id, payment=p, invoice=i, amount=i.allocated, at=p.recorded_at)
                for i, p in zip(invoices, payments, strict=True)
            ],
        )


def rebuild_kept_sums() -> None:
    """Invoices and charges were written in bulk, past the services that keep the payers' open balances,
    what is owed by issue day and the revenue by day: set them all once."""
    payer_balances_rebuild()
    receivables_rebuild()
    revenue_rebuild()
