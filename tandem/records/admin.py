from django.contrib import admin

from tandem.records.models import NoteTemplate


@admin.register(NoteTemplate)
class NoteTemplateAdmin(admin.ModelAdmin):
    """The clinic edits its note templates here; notes themselves are clinical and stay out of the admin."""

    list_display = ["name", "slug", "couples_only", "active", "sort_order"]
    list_filter = ["active", "couples_only"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "description", "sections", "couples_only", "active", "sort_order"]
