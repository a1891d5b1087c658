"""The revenue kept by day (billing/revenue.py) always equals what the live charges say."""

import datetime as dt
import threading
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from tandem.billing import services
from tandem.billing.charging import client_payer
from tandem.billing.models import LIVE_CHARGE_STATUSES, Charge, ChargeKind, RevenueDay, RevenueDayTherapist
from tandem.billing.reports import revenue
from tandem.billing.revenue import revenue_count, revenue_rebuild
from tandem.lib.time import local_today
from tests.billing_support import attend, book, set_fees


def from_charges(date_from: dt.date, date_to: dt.date) -> tuple[Decimal, dict[str, Decimal], dict]:
    """The report's total, formats and therapists computed straight from the charges, as it once was."""
    live = Charge.objects.filter(status__in=LIVE_CHARGE_STATUSES, service_date__range=(date_from, date_to))
    total = Decimal("0")
    formats: dict[str, Decimal] = defaultdict(Decimal)
    therapists: dict[str, Decimal] = defaultdict(Decimal)
    for charge in live.select_related("appointment").prefetch_related("appointment__therapists"):
        total += charge.amount
        formats[charge.appointment.get_kind_display() if charge.appointment else "Packages"] += charge.amount
        people = list(charge.appointment.therapists.all()) if charge.appointment else []
        for person in people:
            therapists[person.get_full_name()] += charge.amount
    return total, dict(formats), dict(therapists)


def kept_rows() -> tuple[list, list]:
    days = sorted(RevenueDay.objects.filter(amount__gt=0).values_list("day", "kind", "amount"))
    shares = RevenueDayTherapist.objects.filter(amount__gt=0).values_list(
        "day", "kind", "therapist", "amount"
    )
    return days, sorted(shares, key=str)


def test_kept_revenue_follows_every_change_to_a_charge(cast):
    set_fees(cast.director)
    made = []
    for days, kind, hour, people in (
        (5, "standard", 9, [cast.therapist_a]),
        (5, "joint_assessment", 12, [cast.therapist_a, cast.cotherapist]),
        (9, "standard", 9, [cast.therapist_a]),
        (40, "standard", 15, [cast.therapist_a]),
    ):
        appointment = attend(cast, book(cast, days=days, kind=kind, hour=hour, therapists=people))
        services.charges_reconcile(actor=cast.director, appointment_id=appointment.pk)
        made.append(appointment)
    # Corrected to a no-show: the session charge is reversed and a no-show fee made, then waived.
    attend(cast, made[2], status="no_show")
    services.charges_reconcile(actor=cast.director, appointment_id=made[2].pk)
    fee = Charge.objects.get(appointment=made[2], kind=ChargeKind.NO_SHOW)
    services.charge_waive(actor=cast.coordinator, charge=fee, reason="First missed session")
    # Invoiced, then one line credited in full: that charge stops being revenue.
    payer = client_payer(cast.couple_case.partner_a)
    invoice = services.invoice_issue(actor=cast.coordinator, payer=payer, case=cast.couple_case)
    line = invoice.lines.get(charge__appointment=made[3])
    services.credit_note_issue(
        actor=cast.director, invoice=invoice, reason="Charged twice", amounts={line.pk: None}
    )

    start, end = local_today(), local_today() + dt.timedelta(days=60)
    report = revenue(date_from=start, date_to=end)
    total, formats, therapists = from_charges(start, end)
    assert report.total == total == Decimal("285.00")
    assert dict(report.formats) == formats
    # The co-therapy session counts in full for each of its two therapists.
    assert dict(report.therapists) == therapists
    assert therapists["Colin Cotherapist"] == formats["Joint assessment"]
    # A rebuild from the charges finds exactly the rows the services kept.
    kept = kept_rows()
    revenue_rebuild()
    assert kept_rows() == kept


@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need a shared database: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_charges_made_at_once_on_one_day_all_count(cast):
    payer = client_payer(cast.couple_case.partner_a)
    charges = [
        Charge.objects.create(
            case=cast.couple_case,
            payer=payer,
            kind=ChargeKind.SESSION,
            description="Standard session",
            amount=Decimal(f"{n + 1}.00"),
            currency="EUR",
            service_date=dt.date(2026, 11, 2),
            created_at=timezone.now(),
        )
        for n in range(10)
    ]
    start = threading.Barrier(len(charges))
    errors: list[BaseException] = []

    def count(charge: Charge) -> None:
        # Each in its own transaction, all reaching the missing row together.
        try:
            with transaction.atomic():
                start.wait()
                revenue_count(charges=[charge], sign=1)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=count, args=(charge,)) for charge in charges]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert RevenueDay.objects.get(day=dt.date(2026, 11, 2), kind="").amount == Decimal("55.00")
    assert RevenueDayTherapist.objects.get(day=dt.date(2026, 11, 2), therapist=None).amount == Decimal(
        "55.00"
    )
