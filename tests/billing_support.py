"""Helpers for the billing tests: fees, a booked session of the cast's couple, attendance recorded."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from tandem.billing import services
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
