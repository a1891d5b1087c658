"""Fragments other pages include without their views knowing about the record (Today)."""

from typing import Any

from django import template
from django.utils import timezone

from tandem.accounts.models import Role
from tandem.records import selectors
from tandem.records.policy import UNSIGNED_NOTE_LIMIT

register = template.Library()


@register.inclusion_tag("records/_today.html", takes_context=True)
def today_unsigned_notes(context: Any) -> dict[str, Any]:
    """`{% today_unsigned_notes %}`: the therapist's own overdue drafts and notes awaiting co-signature."""
    user = context["request"].user
    show = getattr(user, "role", None) == Role.THERAPIST
    return {
        "show": show,
        "overdue": selectors.unsigned_overdue(user=user, now=timezone.now()) if show else [],
        "cosign": selectors.awaiting_cosignature(user=user) if show else [],
        "limit_hours": int(UNSIGNED_NOTE_LIMIT.total_seconds() // 3600),
    }
