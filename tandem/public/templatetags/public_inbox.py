from typing import Any

from django import template

from tandem.public.selectors import inbox_counts

register = template.Library()


@register.inclusion_tag("public/_today.html", takes_context=True)
def today_inbox(context: Any) -> dict[str, Any]:
    """The inbox count on the Today page, for the coordinator and the director only."""
    return {"public_inbox": inbox_counts(context["user"])}
