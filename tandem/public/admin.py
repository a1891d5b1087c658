from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from tandem.audit.services import audit_record
from tandem.public.models import PublicPage


@admin.register(PublicPage)
class PublicPageAdmin(admin.ModelAdmin):
    """The clinic's own words for the public site. Requests and messages stay out of the admin: the
    inbox handles them, with its audit trail."""

    list_display = ["title", "slug", "nav_label", "nav_order", "updated_at"]
    search_fields = ["title", "body"]
    fields = ["title", "summary", "body", "nav_label", "nav_order", "slug"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The slug is the page's address; the site links to these addresses by name.
        return ["slug"] if obj is not None else []

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the site has a fixed set of pages, each at its own address

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: PublicPage, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(actor=request.user, action="public_page.edit", target=obj, detail={"slug": obj.slug})
