"""The one check of the set-up services, kept at the bottom layer so that the low apps (accounts,
practice) can use it: the actor must be an active clinical director (User.is_director)."""

from typing import Any

from django.core.exceptions import PermissionDenied


def require_director(actor: Any) -> None:
    if not getattr(actor, "is_director", False):
        raise PermissionDenied("Only the clinical director changes the practice set-up.")
