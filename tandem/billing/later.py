"""The one call scheduling's services make so that charges follow what happened.

Billing sits above scheduling, so scheduling cannot call billing's services; like `measures.later`, the
attendance and cancellation services call `billing_charges_later(...)` inside their transaction and the
charges are reconciled after commit (`services.charges_reconcile`, idempotent). A failure there is logged
and never undoes the attendance or cancellation; `manage.py billing_reconcile` catches up. Explicit, rather
than a signal or a hook registry, so that the workflow reads from the service that causes it.
"""

from typing import Any

from django.db import transaction


def billing_charges_later(*, appointment_id: int, actor: Any) -> None:
    def run() -> None:
        # Imported here: billing's services read scheduling, whose services call this.
        from tandem.billing.services import charges_reconcile

        charges_reconcile(actor=actor, appointment_id=appointment_id)

    transaction.on_commit(run, robust=True)
