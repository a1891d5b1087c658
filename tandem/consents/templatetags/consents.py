from typing import Any

from django import template

from tandem.access.clinical import can_export_record
from tandem.access.services import can_see_clinical
from tandem.cases.models import Case
from tandem.consents import selectors

register = template.Library()


@register.inclusion_tag("consents/_portal_card.html", takes_context=True)
def portal_consents_card(context: dict[str, Any]) -> dict[str, Any]:
    """The portal home's pointer to the partner's own consents (the other partner's never count here)."""
    user = context["user"]
    return {"pending": selectors.pending_for(user=user), "has_any": selectors.has_any(user=user)}


@register.inclusion_tag("consents/_case_links.html", takes_context=True)
def case_consent_links(context: dict[str, Any], case: Case) -> dict[str, Any]:
    user = context["user"]
    return {
        "case": case,
        "may_export": can_export_record(user, case),
        "clinical": can_see_clinical(user, case),
        "director": getattr(user, "is_director", False),
    }
