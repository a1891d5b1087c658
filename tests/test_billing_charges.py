"""Charges follow what happened: attendance, corrections, late cancellations and missed sessions, splits."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tandem.access.services import AccessDenied
from tandem.billing import services
from tandem.billing.models import Charge, ChargeKind, ChargeStatus, FeeBasis, PayerKind
from tandem.billing.money import split_amount
from tandem.scheduling import services as scheduling
from tests.billing_support import attend, book, set_fees

pytestmark = pytest.mark.django_db


@given(
    amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2),
    percent=st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2),
)
@settings(max_examples=300)
def test_a_split_adds_up_to_the_cent(amount, percent):
    first, second = split_amount(amount, percent)
    assert first + second == amount
    assert first == first.quantize(Decimal("0.01")) and second == second.quantize(Decimal("0.01"))
    assert first >= 0 and second >= 0


def test_the_odd_cent_of_an_even_split_goes_to_partner_a():
    assert split_amount(Decimal("100.01"), Decimal("50")) == (Decimal("50.01"), Decimal("50.00"))
    assert split_amount(Decimal("0.03"), Decimal("50")) == (Decimal("0.02"), Decimal("0.01"))


def live(appointment):
    return list(
        Charge.objects.filter(appointment=appointment)
        .exclude(status=ChargeStatus.REVERSED)
        .order_by("payer__client_id")
    )


def test_an_attended_split_session_charges_each_partner_exact_cents(cast, django_capture_on_commit_callbacks):
    set_fees(cast.director)
    services.fee_set(actor=cast.director, kind="standard", minutes=60, amount=Decimal("120.01"))
    services.arrangement_set(actor=cast.coordinator, case=cast.couple_case, payer_kind=PayerKind.SPLIT)
    appointment = book(cast)
    with django_capture_on_commit_callbacks(execute=True):
        attend(cast, appointment)
    charges = live(appointment)
    assert [(c.payer.client_id, c.amount) for c in charges] == [
        (cast.couple_case.partner_a_id, Decimal("60.01")),
        (cast.couple_case.partner_b_id, Decimal("60.00")),
    ]
    assert {c.kind for c in charges} == {ChargeKind.SESSION}


def test_corrected_attendance_reverses_and_recharges_never_twice(cast, django_capture_on_commit_callbacks):
    set_fees(cast.director)
    appointment = book(cast)
    with django_capture_on_commit_callbacks(execute=True):
        attend(cast, appointment, "attended")
    with django_capture_on_commit_callbacks(execute=True):
        attend(cast, appointment, "no_show")
    with django_capture_on_commit_callbacks(execute=True):
        attend(cast, appointment, "attended")
    # Reconciling again (the catch-up command, a retried hook) changes nothing.
    services.charges_reconcile(actor=cast.coordinator, appointment_id=appointment.pk)
    charges = live(appointment)
    assert [(c.kind, c.amount) for c in charges] == [(ChargeKind.SESSION, Decimal("120.00"))]
    all_rows = Charge.objects.filter(appointment=appointment)
    assert all_rows.count() == 3
    assert all_rows.filter(status=ChargeStatus.REVERSED).count() == 2


def test_a_correction_after_invoicing_credits_the_invoice(cast, django_capture_on_commit_callbacks):
    set_fees(cast.director)
    appointment = book(cast)
    with django_capture_on_commit_callbacks(execute=True):
        attend(cast, appointment, "attended")
    charge = live(appointment)[0]
    invoice = services.invoice_issue(actor=cast.coordinator, payer=charge.payer, case=cast.couple_case)
    with django_capture_on_commit_callbacks(execute=True):
        attend(cast, appointment, "no_show")
    invoice.refresh_from_db()
    assert invoice.total == Decimal("120.00")  # as issued
    assert invoice.credited == Decimal("120.00")
    assert invoice.credit_notes.get().total == Decimal("120.00")
    assert [(c.kind, c.amount, c.status) for c in live(appointment)] == [
        (ChargeKind.NO_SHOW, Decimal("120.00"), ChargeStatus.OPEN)
    ]


def test_no_show_fee_follows_the_policy(cast, django_capture_on_commit_callbacks):
    set_fees(cast.director)
    services.billing_policy_save(
        actor=cast.director, values={"no_show_basis": FeeBasis.AMOUNT, "no_show_value": Decimal("45.00")}
    )
    appointment = book(cast)
    with django_capture_on_commit_callbacks(execute=True):
        attend(cast, appointment, "no_show")
    assert [(c.kind, c.amount) for c in live(appointment)] == [(ChargeKind.NO_SHOW, Decimal("45.00"))]


@pytest.mark.parametrize(("hours_before", "charged"), [(47, True), (49, False)])
def test_late_cancellation_fee_follows_the_window(
    cast, django_capture_on_commit_callbacks, hours_before, charged
):
    set_fees(cast.director)
    services.billing_policy_save(
        actor=cast.director,
        values={
            "late_cancel_hours": 48,
            "late_cancel_basis": FeeBasis.PERCENT,
            "late_cancel_value": Decimal("50"),
        },
    )
    appointment = book(cast, days=5)
    with django_capture_on_commit_callbacks(execute=True):
        scheduling.appointment_cancel(
            actor=cast.coordinator,
            appointment=appointment,
            reason="Client called",
            now=appointment.starts_at - dt.timedelta(hours=hours_before),
        )
    expected = [(ChargeKind.LATE_CANCEL, Decimal("60.00"))] if charged else []
    assert [(c.kind, c.amount) for c in live(appointment)] == expected


def test_staff_waive_a_fee_with_a_reason_and_it_is_not_recharged(cast, django_capture_on_commit_callbacks):
    set_fees(cast.director)
    appointment = book(cast)
    with django_capture_on_commit_callbacks(execute=True):
        attend(cast, appointment, "no_show")
    fee = live(appointment)[0]
    with pytest.raises(services.BillingInvalid):
        services.charge_waive(actor=cast.coordinator, charge=fee, reason="  ")
    with pytest.raises(AccessDenied):
        services.charge_waive(actor=cast.therapist_b, charge=fee, reason="Kind")
    services.charge_waive(actor=cast.coordinator, charge=fee, reason="Snowstorm closed the roads")
    services.charges_reconcile(actor=cast.coordinator, appointment_id=appointment.pk)
    assert [(c.status, c.closed_reason) for c in live(appointment)] == [
        (ChargeStatus.WAIVED, "Snowstorm closed the roads")
    ]


def test_sliding_scale_and_the_consultation_is_free(cast, django_capture_on_commit_callbacks):
    set_fees(cast.director)
    services.sliding_scale_set(
        actor=cast.therapist_a,
        case=cast.couple_case,
        kind="percent",
        value=Decimal("62.5"),
        reason="Student income",
    )
    appointment = book(cast)
    with django_capture_on_commit_callbacks(execute=True):
        attend(cast, appointment)
    assert [c.amount for c in live(appointment)] == [Decimal("75.00")]
    with pytest.raises(services.BillingInvalid):
        services.fee_set(actor=cast.director, kind="consultation", minutes=20, amount=Decimal("10"))
    with pytest.raises(AccessDenied):
        services.sliding_scale_set(
            actor=cast.therapist_b, case=cast.couple_case, kind="fixed", value=Decimal("1"), reason="Not mine"
        )
