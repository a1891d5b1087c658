"""The Jinja2 environment for the few fragments that print many rows (the practice's calendar week, a
page of the audit trail, Today's tables of appointments).

Django's template engine costs about a tenth of a millisecond per printed entry, which made a large
practice's week spend 250 ms rendering; Jinja2 compiles a template to Python and prints the same markup
in a tenth of that. Everything else stays in Django templates. Autoescaping is on, as in Django, and an
unknown name is an error rather than an empty string, so that a typo fails the tests instead of a page.
"""

import datetime as dt
from functools import lru_cache
from typing import Any

from django.http import QueryDict
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from jinja2 import Environment, StrictUndefined

from tandem.lib.dates import date
from tandem.lib.time import practice_zone
from tandem.lib.urls import link_to


def local(at: dt.datetime) -> dt.datetime:
    """An instant in the practice's time zone, as Django's {% timezone %} block shows it."""
    return timezone.localtime(at, practice_zone())


@lru_cache(maxsize=256)
def _choice_labels(model: type, name: str, language: str | None) -> dict[Any, str]:
    return {value: str(label) for value, label in model._meta.get_field(name).flatchoices}  # type: ignore[attr-defined]


def label(obj: Any, name: str) -> Any:
    """`{{ case|label("phase") }}`: what `case.get_phase_display()` gives, from a table of the field's
    labels made once per language. Django's own method rebuilds that table on every call (a fifth of
    the time Today spends printing its hundred case links)."""
    value = getattr(obj, name)
    return _choice_labels(obj.__class__, name, get_language()).get(value, value)


def link(pk: Any, name: str) -> str:
    """`{{ case_id|link("cases:detail") }}`, as the `link` filter of Django's templates
    (lib/templatetags/links.py)."""
    return link_to(name, pk)


def with_page(query: QueryDict, name: str, number: int) -> str:
    """`{{ request.GET|with_page("invoices", 2) }}`: this page's query string with one list's page changed,
    for a page that pages several lists at once, each keeping its own page as the others move."""
    changed = query.copy()
    changed[name] = str(number)
    return f"?{changed.urlencode()}"


def environment(**options: Any) -> Environment:
    options["undefined"] = StrictUndefined
    options["autoescape"] = True
    env = Environment(**options)  # noqa: S701 -- autoescape is set on the line above
    env.filters["link"] = link
    env.filters["local"] = local
    env.filters["date"] = date
    env.filters["label"] = label
    env.filters["with_page"] = with_page
    return env


def fragment(template_name: str, context: dict[str, Any]) -> SafeString:
    """A `*.jinja` fragment rendered for a page that the Django engine prints around it."""
    return mark_safe(render_to_string(template_name, context, using="jinja2"))  # noqa: S308 -- autoescaped
