"""The `date` filter of every Django template (settings: TEMPLATES builtins), in place of Django's own:
the same text, each date formatted once per worker (tandem/lib/dates.py says why)."""

from typing import Any

from django import template

from tandem.lib import dates

register = template.Library()


@register.filter(expects_localtime=True, is_safe=False)
def date(value: Any, arg: str | None = None) -> str:
    return dates.date(value, arg)
