"""Fragments other pages include without their views knowing about homework (case page, Today)."""

from typing import Any

from django import template

from tandem.accounts.models import Role
from tandem.cases.models import Case
from tandem.homework import selectors
from tandem.lib.time import local_today

register = template.Library()


@register.inclusion_tag("homework/_case_adherence.html", takes_context=True)
def case_adherence(context: Any, case: Case) -> dict[str, Any]:
    """`{% case_adherence case %}`: renders nothing for someone who may not see clinical content."""
    return {"case": case, "items": selectors.case_adherence(user=context["request"].user, case=case)}


@register.inclusion_tag("homework/_today_adherence.html", takes_context=True)
def today_adherence(context: Any) -> dict[str, Any]:
    """`{% today_adherence %}`: the clinician's sessions of the day and how the homework went."""
    user = context["request"].user
    show = getattr(user, "role", None) in (Role.THERAPIST, Role.DIRECTOR)
    if not show:
        return {"show": False, "cases": []}
    # Today hands over the cases it has in its care and of its appointments, read once for the page.
    cases = selectors.today_adherence(
        user=user, day=local_today(), scope=context.get("care"), case_ids=context.get("day_case_ids")
    )
    return {"show": True, "cases": cases}
