"""Who may see and do what in the insurance paperwork (the claims app holds no permission rule itself).

The director and the front desk keep a case's coverage (insurer, identified patient, member id); the
director, or the case's own therapists, set its diagnoses and a session's flags (clinical judgements);
whoever sees the case's billing sees its insurance page and its superbills. The director alone records
therapists' NPIs.
"""

from typing import Any

from tandem.access.billing import can_manage_billing, can_see_case_billing
from tandem.access.services import is_assigned
from tandem.accounts.models import Role
from tandem.cases.models import Case


def _staff(user: Any, *roles: str) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.role in roles)


def can_see_case_insurance(user: Any, case: Case) -> bool:
    return can_see_case_billing(user, case)


def can_set_coverage(user: Any, case: Case) -> bool:
    return can_manage_billing(user)


def can_set_diagnoses(user: Any, case: Case) -> bool:
    return _staff(user, Role.DIRECTOR) or (_staff(user, Role.THERAPIST) and is_assigned(user, case))


def can_set_session_flags(user: Any, case: Case) -> bool:
    return can_set_diagnoses(user, case)


def can_set_provider_numbers(user: Any) -> bool:
    return _staff(user, Role.DIRECTOR)
