"""Fragments for the case page: the portal box (accounts, invitations) and links to the conversations."""

from typing import Any

from django import template
from django.utils import timezone

from tandem.access.services import can_edit_case, can_see_clinical
from tandem.cases.models import Case
from tandem.portal import messaging, selectors

register = template.Library()


@register.inclusion_tag("portal/_portal_access.html", takes_context=True)
def portal_access(context: Any, case: Case) -> dict[str, Any]:
    if not can_edit_case(context["request"].user, case):
        return {"rows": []}
    return {
        "case": case,
        "rows": selectors.case_portal_status(case=case, now=timezone.now()),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("portal/_case_messages.html", takes_context=True)
def case_messages(context: Any, case: Case) -> dict[str, Any]:
    """`{% case_messages case %}`: links to each partner's conversation, for the clinicians only."""
    if not can_see_clinical(context["request"].user, case):
        return {"rows": []}
    unread = messaging.unread_by_client(case=case)
    return {"case": case, "rows": [(c, unread.get(c.pk, 0)) for c in case.partners]}
