"""Scheduling in the set-up admin: calendar feeds (read-only; the director can switch one off) and the
practice's closures.

Appointments are not here on purpose: they are written only through scheduling.services, which keep
the occupancy rows and the audit trail with them.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from tandem.lib.time import local_day_bounds
from tandem.practice.admin import AuditedAdmin
from tandem.practice.models import PracticeClosure
from tandem.scheduling import feeds
from tandem.scheduling.models import Appointment, AppointmentStatus, AppointmentType, CalendarFeed, TimeOff


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


# The practice's closures are set up here, not in practice.admin: saving one warns about what is still
# booked that day, which only scheduling knows.
class PracticeClosureForm(forms.ModelForm):
    class Meta:
        model = PracticeClosure
        fields = ["date", "reason"]
        help_texts = {
            "reason": "Shown on the calendars and when a booking falls on this day (e.g. “King's Day”).",
        }


@admin.register(PracticeClosure)
class PracticeClosureAdmin(AuditedAdmin):
    form = PracticeClosureForm
    list_display = ["date", "weekday", "reason"]
    date_hierarchy = "date"
    search_fields = ["reason"]
    ordering = ["-date"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Closing a day does not cancel what is booked on it: say so, so that someone moves them.
        start, end = local_day_bounds(obj.date)
        booked = Appointment.objects.between(start, end).filter(status=AppointmentStatus.BOOKED).count()
        if booked:
            self.message_user(
                request,
                f"{booked} appointment(s) are still booked on {obj.date:%A %d %B %Y}: move or cancel them.",
                level=messages.WARNING,
            )

    @admin.display(description="Day", ordering="date")
    def weekday(self, obj: PracticeClosure) -> str:
        return f"{obj.date:%A}"
