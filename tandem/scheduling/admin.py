"""Scheduling in the set-up admin: calendar feeds (read-only; the director can switch one off).

Appointments are not here on purpose: they are written only through scheduling.services, which keep
the occupancy rows and the audit trail with them.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from tandem.scheduling import feeds
from tandem.scheduling.models import AppointmentType, CalendarFeed, TimeOff


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    list_display = [
        "therapist",
        "is_on",
        "created_at",
        "rotated_at",
        "revoked_at",
        "last_fetched_at",
    ]
    list_filter = ["revoked_at"]
    list_select_related = ["therapist"]
    search_fields = ["therapist__first_name", "therapist__last_name", "therapist__username"]
    # The hash is useless to a reader but there is no reason to show it either.
    fields = ("therapist", "created_at", "rotated_at", "revoked_at", "last_fetched_at")
    readonly_fields = fields
    actions = ["switch_off"]

    @admin.display(boolean=True, description="On")
    def is_on(self, obj: CalendarFeed) -> bool:
        return obj.active

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the token is shown once, to its therapist, on their own feed page

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Switch off (the feed address stops working at once)")
    def switch_off(self, request: HttpRequest, queryset: Any) -> None:
        stopped = 0
        for feed in queryset.select_related("therapist"):
            if feeds.calendar_feed_revoke(actor=request.user, therapist=feed.therapist) is not None:  # type: ignore[arg-type]
                stopped += 1
        self.message_user(request, f"{stopped} feed(s) switched off.")


@admin.register(AppointmentType)
class AppointmentTypeAdmin(admin.ModelAdmin):
    """Kinds without a row here use the built-in lengths and modes (scheduling.models.TYPE_DEFAULTS)."""

    list_display = ["kind", "default_minutes", "max_minutes", "in_person", "phone", "video"]


@admin.register(TimeOff)
class TimeOffAdmin(admin.ModelAdmin):
    list_display = ["therapist", "starts_at", "ends_at"]
    list_filter = ["therapist"]
    list_select_related = ["therapist"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["therapist"]
