"""Helpers for the billing tests: fees, a booked session of the cast's couple, attendance recorded."""

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connections
from django.utils import timezone

from tandem.billing import services
from tandem.billing.models import Charge, ChargeKind, Payer
from tandem.lib.time import local_today
from tandem.scheduling import services as scheduling
from tandem.scheduling.models import Appointment, AppointmentKind

FEES = {
    AppointmentKind.STANDARD: (60, Decimal("120.00")),
    AppointmentKind.JOINT_ASSESSMENT: (90, Decimal("165.00")),
    AppointmentKind.INDIVIDUAL_ASSESSMENT: (60, Decimal("110.00")),
    AppointmentKind.CONJUNCTIVE: (60, Decimal("100.00")),
    AppointmentKind.INTENSIVE: (120, Decimal("250.00")),
}


def set_fees(director: Any) -> None:
    for kind, (minutes, amount) in FEES.items():
        services.fee_set(actor=director, kind=kind, minutes=minutes, amount=amount)


def future(days: int = 3, hour: int = 10) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def book(
    cast: Any, *, kind: str = AppointmentKind.STANDARD, days: int = 3, hour: int = 10, **extra: Any
) -> Appointment:
    return scheduling.appointment_book(
        actor=cast.coordinator,
        case=extra.pop("case", cast.couple_case),
        kind=kind,
        starts_at=future(days, hour),
        therapists=extra.pop("therapists", [cast.therapist_a]),
        room=cast.room,
        **extra,
    )


def attend(cast: Any, appointment: Appointment, status: str = "attended", actor: Any = None) -> Appointment:
    return scheduling.appointment_record_attendance(
        actor=actor or cast.therapist_a,
        appointment=appointment,
        status=status,
        now=appointment.starts_at + dt.timedelta(hours=1),
    )


def split_invoices(cast: Any, fee: Decimal = Decimal("120.01")) -> tuple[Any, Any]:
    """The couple case split 50/50, one attended standard session, and an invoice to each partner
    (partner A's carries the odd cent)."""
    from tandem.billing.charging import client_payer
    from tandem.billing.models import PayerKind

    set_fees(cast.director)
    services.fee_set(actor=cast.director, kind=AppointmentKind.STANDARD, minutes=60, amount=fee)
    case = cast.couple_case
    services.arrangement_set(actor=cast.coordinator, case=case, payer_kind=PayerKind.SPLIT)
    appointment = attend(cast, book(cast, days=1))
    services.charges_reconcile(actor=cast.therapist_a, appointment_id=appointment.pk)
    return tuple(  # type: ignore[return-value]
        services.invoice_issue(actor=cast.coordinator, payer=client_payer(client), case=case)
        for client in case.partners
    )


@dataclass
class BillingWorld:
    invoice: Any  # partner A's, open, with a partial payment
    credit_note: Any  # on partner B's invoice
    fee_charge: Any  # an open late-cancellation fee (waivable)
    package: Any  # an active intensive package


def billing_world(cast: Any) -> BillingWorld:
    """Billing objects in most states on the cast's couple case, for the URL walk: fees, a 50/50 split,
    invoices to both partners (one partly paid, one credited), a waivable fee and a sold package."""
    from tandem.billing.charging import Share, client_payer
    from tandem.billing.models import ChargeKind, PayerKind
    from tandem.billing.packages import package_create
    from tandem.scheduling.models import AppointmentSeries, SeriesKind

    case, now = cast.couple_case, timezone.now()
    set_fees(cast.director)
    services.arrangement_set(actor=cast.coordinator, case=case, payer_kind=PayerKind.SPLIT)
    a, b = (Share(c.pk, "", Decimal("50")) for c in case.partners)
    kwargs = {"case": case, "actor": cast.coordinator, "now": now, "service_date": timezone.localdate()}
    services.shares_charges(
        shares=[a, b],
        amount=Decimal("120.01"),
        kind=ChargeKind.SESSION,
        description="Session: Standard session",
        **kwargs,
    )
    payer_a, payer_b = client_payer(case.partner_a), client_payer(case.partner_b)
    invoice = services.invoice_issue(actor=cast.coordinator, payer=payer_a, case=case)
    other = services.invoice_issue(actor=cast.coordinator, payer=payer_b, case=case)
    services.payment_record(
        actor=cast.coordinator,
        payer=payer_a,
        method="card",
        amount=Decimal("20.00"),
        received_on=timezone.localdate(),
    )
    note = services.credit_note_issue(actor=cast.coordinator, invoice=other, reason="Fee agreed lower.")
    [fee] = services.shares_charges(
        shares=[a],
        amount=Decimal("60.00"),
        kind=ChargeKind.LATE_CANCEL,
        description="Late cancellation fee: Standard session",
        **kwargs,
    )
    series = AppointmentSeries.objects.create(case=case, kind=SeriesKind.INTENSIVE)
    start = future(days=40, hour=9)
    for day in range(2):
        appointment = Appointment.objects.create(
            case=case,
            kind=AppointmentKind.INTENSIVE,
            series=series,
            room=cast.room,
            starts_at=start + dt.timedelta(days=day),
            ends_at=start + dt.timedelta(days=day, hours=2),
        )
        appointment.therapists.set([cast.therapist_a, cast.cotherapist])
    package = package_create(actor=cast.coordinator, series=series)
    return BillingWorld(invoice=invoice, credit_note=note, fee_charge=fee, package=package)


def issued(cast, payer: Payer, amount: str, days_ago: int):
    """An invoice of `amount` to `payer`, issued `days_ago` days ago (at 10:00 practice time)."""
    day = local_today() - dt.timedelta(days=days_ago)
    Charge.objects.create(
        case=cast.couple_case,
        payer=payer,
        kind=ChargeKind.SESSION,
        description="Standard session",
        amount=Decimal(amount),
        currency="EUR",
        service_date=day,
        created_at=timezone.now(),
    )
    at = timezone.make_aware(dt.datetime.combine(day, dt.time(10)))
    return services.invoice_issue(actor=cast.coordinator, payer=payer, case=cast.couple_case, now=at)


def paid(cast, payer: Payer, amount: str, invoice, method: str = "card") -> None:
    """A payment of `amount` received today from `payer`, set against `invoice`."""
    services.payment_record(
        actor=cast.coordinator,
        payer=payer,
        method=method,
        amount=Decimal(amount),
        received_on=local_today(),
        invoices=[invoice],
    )


def insurer(name: str) -> Payer:
    return Payer.objects.create(kind="insurer", insurer_name=name)


def at_once(jobs: list[Callable[[], object]]) -> list[BaseException]:
    """Run JOBS in threads that start together, each on its own connection (PostgreSQL tests with
    transaction=True); what each raised, none if all completed."""
    start = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        try:
            start.wait()
            job()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors
