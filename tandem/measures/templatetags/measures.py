"""Fragments other pages include without their views knowing about measures (Today, the portal home)."""

from typing import Any

from django import template

from tandem.measures import selectors

register = template.Library()


@register.inclusion_tag("measures/_today_alerts.html", takes_context=True)
def today_safety_alerts(context: Any) -> dict[str, Any]:
    """`{% today_safety_alerts %}`: the banner of unacknowledged alerts (empty for everyone else)."""
    return {"alerts": selectors.today_alerts(user=context["request"].user, scope=context.get("care"))}


@register.inclusion_tag("measures/_today.html", takes_context=True)
def today_measures_due(context: Any) -> dict[str, Any]:
    """`{% today_measures_due %}`: questionnaires due on the therapist's cases."""
    user = context["request"].user
    due = selectors.today_due(user=user, scope=context.get("care"))
    return {"show": getattr(user, "is_therapist", False), "due": due}


@register.inclusion_tag("measures/_portal_due.html", takes_context=True)
def portal_measures(context: Any) -> dict[str, Any]:
    """`{% portal_measures %}`: the client's own due questionnaires on the portal home."""
    # One query: the portal home counts its queries; the couple report link lives on the list page.
    return {"show": True, "due": selectors.client_due(user=context["request"].user)}


@register.simple_tag
def measures_at_start_and_end(case: Any) -> list[selectors.MeasureChange]:
    """The discharge summary's measures section: the pathway's page asks for it here, so that the pathway
    need not import measures (measures reads the pathway's plan, not the other way round)."""
    return selectors.measures_start_end(case=case)


@register.filter
def measure_label(value: str) -> str:
    """`{{ band|measure_label }}`: "not_distressed" as "not distressed"."""
    return str(value or "").replace("_", " ")
