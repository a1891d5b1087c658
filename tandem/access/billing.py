"""Who may see and do what in billing (the billing app asks here; it holds no permission rule itself).

Staff: the clinical director and the front desk (the coordinator role) run billing: arrangements, invoices,
credit notes, payments, refunds, write-offs, waivers. The director alone edits the fee schedule and the
billing policy. A case's own therapists see its billing and may set its sliding scale (they agree the fee
with the clients). Clients see only what they themselves pay for, in the portal (`payer_client_of`).
"""

from typing import Any

from tandem.access.services import is_assigned
from tandem.accounts.models import Role
from tandem.audit.actors import SEED, SystemActor
from tandem.cases.models import Case, Client


def _active_staff(user: Any, *roles: str) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.role in roles)


def can_edit_fees(user: Any) -> bool:
    return _active_staff(user, Role.DIRECTOR)


def can_manage_billing(user: Any) -> bool:
    return _active_staff(user, Role.DIRECTOR, Role.COORDINATOR)


def can_see_case_billing(user: Any, case: Case) -> bool:
    if can_manage_billing(user):
        return True
    return _active_staff(user, Role.THERAPIST) and is_assigned(user, case)


def can_set_sliding_scale(user: Any, case: Case) -> bool:
    return can_see_case_billing(user, case)


def can_charge(actor: Any) -> bool:
    """Charges follow what happened: whoever may record attendance or cancel (any active staff member),
    and the demo seed."""
    if isinstance(actor, SystemActor):
        return actor == SEED
    return _active_staff(actor, Role.DIRECTOR, Role.COORDINATOR, Role.THERAPIST)


def payer_client_of(user: Any) -> Client | None:
    """The client a portal user pays as, or None: a client sees only invoices addressed to them."""
    if not _active_staff(user, Role.CLIENT):
        return None
    return Client.objects.filter(user=user).first()


def can_see_payer_statement(user: Any) -> bool:
    """A payer's statement spans cases (a partner may pay for two, an insurer for many): the billing
    staff only."""
    return can_manage_billing(user)


def can_see_invoice(user: Any, *, case: Case, payer_client_id: int | None) -> bool:
    """Staff who see the case's billing; in the portal, only the client the invoice is addressed to (never
    the other partner, even when the fee is split; an insurer's invoice goes to the insurer)."""
    if _active_staff(user, Role.CLIENT):
        client = payer_client_of(user)
        return client is not None and payer_client_id is not None and client.pk == payer_client_id
    return can_see_case_billing(user, case)
