from django.contrib import admin

from tandem.homework.models import Exercise


@admin.register(Exercise)
class ExerciseAdmin(admin.ModelAdmin):
    """The clinic edits its library here; assignments and logs are clinical and stay out of the admin."""

    list_display = ["title", "category", "audience", "stage", "next_stage", "active"]
    list_filter = ["category", "audience", "active"]
    search_fields = ["title", "summary"]
    prepopulated_fields = {"slug": ["title"]}
    list_select_related = ["next_stage"]
    fields = [
        "title",
        "slug",
        "category",
        "audience",
        "summary",
        "instructions",
        "times_per_week",
        "minutes",
        "stage",
        "next_stage",
        "active",
        "sort_order",
    ]
