"""Who may do what on the calendar: feeds, attendance, and planning intensives.

The scheduling and planning apps ask here; they hold no permission rule themselves. The objects are
read by their attributes only (this layer sits below scheduling).
"""

from collections.abc import Collection
from typing import Any

from tandem.access.services import can_edit_case
from tandem.accounts.models import CLINICAL_ROLES
from tandem.cases.models import Case


def can_have_feed(user: Any) -> bool:
    """A private calendar feed is for the people who hold sessions: therapists and the director."""
    return bool(getattr(user, "is_active", False) and getattr(user, "role", None) in CLINICAL_ROLES)


def can_record_attendance(user: Any, case: Case, therapist_ids: Collection[int]) -> bool:
    """Whether `user` may say if a session of `case` took place: the front desk and the director (as
    for booking), the case's own therapists, and whoever held this session (`therapist_ids`), who may
    no longer be assigned to the case (a consultation before assignment, a change of team)."""
    if not getattr(user, "is_practice_staff", False) or not user.is_active:
        return False
    return user.pk in therapist_ids or can_edit_case(user, case)


def can_plan_intensives(user: Any) -> bool:
    """Planning intensive blocks across the calendar: the coordinator and the clinical director."""
    return bool(getattr(user, "is_coordinator", False) or getattr(user, "is_director", False))
