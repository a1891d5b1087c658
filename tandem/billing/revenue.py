"""Revenue kept by day (models.RevenueDay, RevenueDayTherapist): what the services call as charges are
made and closed, and the rebuild for bulk writes (the large seed, the migration).

A charge's day, session kind and therapists never change once it exists (charges come from sessions
that took place or were cancelled, which are not moved), and its amount is fixed, so each row changes
by adding a charge's amount when it is made and taking it away when it is waived or reversed. The
addition is one UPDATE ... amount = amount + x on the row, which the database serializes per row; a row
that does not exist yet is inserted in a savepoint, and an insert that loses a race falls back to the
update, so concurrent charges on one day add up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Model, Sum

from tandem.billing.models import LIVE_CHARGE_STATUSES, Charge, RevenueDay, RevenueDayTherapist
from tandem.scheduling.models import Appointment


def revenue_count(*, charges: Iterable[Charge], sign: int) -> None:
    """Add (sign=1, a new live charge) or take away (sign=-1, a live charge waived or reversed)."""
    charges = list(charges)
    if not charges:
        return
    kinds, held = _sessions({c.appointment_id for c in charges if c.appointment_id is not None})
    for charge in charges:
        amount = charge.amount * sign
        # A charge with no appointment (a package's) has no kind and no therapist.
        kind = kinds.get(charge.appointment_id, "")
        _bump(RevenueDay, {"day": charge.service_date, "kind": kind}, amount)
        for therapist_id in held.get(charge.appointment_id) or [None]:
            key = {"day": charge.service_date, "kind": kind, "therapist_id": therapist_id}
            _bump(RevenueDayTherapist, key, amount)


def _sessions(ids: set[int]) -> tuple[dict[int | None, str], dict[int | None, list[int | None]]]:
    kinds: dict[int | None, str] = dict(Appointment.objects.filter(pk__in=ids).values_list("pk", "kind"))
    held: dict[int | None, list[int | None]] = defaultdict(list)
    through = Appointment.therapists.through.objects.filter(appointment_id__in=ids)
    for appointment_id, user_id in through.values_list("appointment_id", "user_id"):
        held[appointment_id].append(user_id)
    return kinds, held


def _bump(model: type[Model], key: dict[str, Any], amount: Decimal) -> None:
    rows = model._default_manager.filter(**key)
    if rows.update(amount=F("amount") + amount):
        return
    try:
        with transaction.atomic():
            model._default_manager.create(**key, amount=amount)
    except IntegrityError:
        rows.update(amount=F("amount") + amount)


def revenue_rebuild() -> None:
    """Every row again from the live charges: after writes that went past the services."""
    live = Charge.objects.filter(status__in=LIVE_CHARGE_STATUSES).order_by()
    with transaction.atomic():
        RevenueDay.objects.all().delete()
        RevenueDayTherapist.objects.all().delete()
        by_day = live.values("service_date", "appointment__kind").annotate(total=Sum("amount"))
        RevenueDay.objects.bulk_create(
            RevenueDay(day=r["service_date"], kind=r["appointment__kind"] or "", amount=r["total"])
            for r in by_day
        )
        by_therapist = live.values("service_date", "appointment__kind", "appointment__therapists").annotate(
            total=Sum("amount")
        )
        RevenueDayTherapist.objects.bulk_create(
            RevenueDayTherapist(
                day=r["service_date"],
                kind=r["appointment__kind"] or "",
                therapist_id=r["appointment__therapists"],
                amount=r["total"],
            )
            for r in by_therapist
        )
