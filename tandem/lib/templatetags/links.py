"""`{{ case.pk|link:"cases:detail" }}`: a row's address in a long list without walking the URL resolver
for every row, as `{% url %}` does (tandem/lib/urls.py says why)."""

from typing import Any

from django import template

from tandem.lib.urls import link_to

register = template.Library()


@register.filter
def link(pk: Any, name: str) -> str:
    return link_to(name, pk)
