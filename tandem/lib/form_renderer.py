"""How forms print their fields: with Django's own Jinja2 copies of its form templates (the same markup),
which cost a fraction of the Django engine's time (a filter form of seven fields took a third of the audit
page's). A widget whose template exists only for the Django engine (the admin's password hash) is printed
by that engine."""

from typing import Any

from django.forms.renderers import BaseRenderer, DjangoTemplates, Jinja2
from django.template import TemplateDoesNotExist


class FormRenderer(BaseRenderer):
    def __init__(self) -> None:
        self.fast = Jinja2()
        self.full = DjangoTemplates()

    def get_template(self, template_name: str) -> Any:
        try:
            return self.fast.get_template(template_name)
        except TemplateDoesNotExist:
            return self.full.get_template(template_name)
