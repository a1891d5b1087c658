"""Who reads the practice's financial reports (aged receivables, revenue)."""

from typing import Any

from tandem.accounts.models import Role


def can_see_finance_reports(user: Any) -> bool:
    """The clinical director only: the front desk runs billing case by case, therapists see their own
    cases' billing, and nobody else sees the practice's totals."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.role == Role.DIRECTOR)
