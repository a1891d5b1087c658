"""Scheduling in the set-up admin: calendar feeds (read-only; the director can switch one off) and the
practice's closures.

Appointments are not here on purpose: they are written only through scheduling.services, which keep
the occupancy rows and the audit trail with them.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.http import HttpRequest

from tandem.accounts.models import CLINICAL_ROLES, CoTherapyTeam, User
from tandem.lib.time import local_day_bounds
from tandem.practice.admin import AuditedAdmin
from tandem.practice.models import PracticeClosure
from tandem.scheduling import feeds
from tandem.scheduling.models import Appointment, AppointmentStatus, AppointmentType, CalendarFeed, TimeOff
from tandem.scheduling.services import BookingInvalid, check_team_rule


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


# Teams are registered here, not in accounts.admin: the team rule they must keep is scheduling's.
class CoTherapyTeamForm(forms.ModelForm):
    class Meta:
        model = CoTherapyTeam
        fields = ("first", "second", "active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        clinicians = User.objects.filter(is_active=True, role__in=CLINICAL_ROLES)
        for name in ("first", "second"):
            self.fields[name].queryset = clinicians  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("first"), data.get("second")
        if first and second and first == second:
            raise forms.ValidationError("A team is two different therapists.")
        if first and second:
            same_pair = CoTherapyTeam.objects.filter(
                Q(first=first, second=second) | Q(first=second, second=first)
            ).exclude(pk=self.instance.pk)
            if same_pair.exists():
                raise forms.ValidationError("These two therapists already form a team.")
            # The one team rule of scheduling, as the set-up pages and bookings apply it.
            try:
                check_team_rule([first, second])
            except BookingInvalid as refusal:
                raise forms.ValidationError(str(refusal)) from refusal
        return data


@admin.register(CoTherapyTeam)
class CoTherapyTeamAdmin(admin.ModelAdmin):
    form = CoTherapyTeamForm
    list_display = ("__str__", "active", "created_at")
    list_filter = ("active",)
