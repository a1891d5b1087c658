from typing import Any

from django import template

from tandem.access.billing import can_see_case_billing
from tandem.cases.models import Case

register = template.Library()


@register.inclusion_tag("billing/_case_link.html", takes_context=True)
def case_billing_link(context: dict[str, Any], case: Case) -> dict[str, Any]:
    """The case page's pointer to its billing, for those who may see it."""
    return {"case": case, "show": can_see_case_billing(context["user"], case)}
