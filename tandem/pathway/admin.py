from django.contrib import admin

from tandem.pathway.models import SpecialistType


@admin.register(SpecialistType)
class SpecialistTypeAdmin(admin.ModelAdmin):
    list_display = ["label", "slug", "adjunct", "active", "sort_order"]
    list_editable = ["active", "sort_order"]
    prepopulated_fields = {"slug": ["label"]}
