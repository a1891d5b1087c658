"""Set-up tables of the practice: locations, rooms and the booking policy (closures are set up in
scheduling.admin, beside the bookings a closure has to warn about).

The admin is the director's (see accounts.admin). Every change here alters what can be booked, so each
save and delete also goes into the audit trail: which table, which row, which fields, and by whom.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from tandem.audit.services import audit_record
from tandem.practice.models import Location, Practice, PracticePolicy, Room

# The booking services refuse longer blocks; the form says so before anything is saved.
MAX_INTENSIVE_DAYS = 31
MAX_INTENSIVE_MINUTES = 12 * 60
MAX_LATE_CANCEL_HOURS = 14 * 24


class AuditedAdmin(admin.ModelAdmin):
    """Writes a `setup.*` audit event with every save and delete (field names only, never values)."""

    def _audit(self, request: HttpRequest, obj: Model, action: str, fields: list[str] | None = None) -> None:
        detail: dict[str, Any] = {"model": obj._meta.label_lower}
        if fields:
            detail["fields"] = sorted(fields)
        audit_record(actor=request.user, action=action, target=obj, detail=detail)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self._audit(request, obj, "setup.change" if change else "setup.add", list(form.changed_data))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self._audit(request, obj, "setup.delete")
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self._audit(request, obj, "setup.delete")
        super().delete_queryset(request, queryset)


class LocationInline(admin.TabularInline):
    model = Location
    extra = 0


class RoomInline(admin.TabularInline):
    model = Room
    extra = 0


@admin.register(Practice)
class PracticeAdmin(AuditedAdmin):
    list_display = ["name", "phone", "email"]
    inlines = [LocationInline]


@admin.register(Location)
class LocationAdmin(AuditedAdmin):
    list_display = ["name", "practice", "room_count"]
    list_filter = ["practice"]
    search_fields = ["name", "address"]
    inlines = [RoomInline]

    @admin.display(description="Rooms")
    def room_count(self, obj: Location) -> int:
        return obj.rooms.count()


@admin.register(Room)
class RoomAdmin(AuditedAdmin):
    list_display = ["name", "location", "accessible", "capacity", "active"]
    list_filter = ["location", "accessible", "active"]
    list_select_related = ["location"]
    search_fields = ["name", "location__name"]
    actions = ["take_out_of_use"]

    # A room that has held appointments cannot be deleted (its history points at it): retire it.
    @admin.action(description="Take out of use (no new bookings; history kept)")
    def take_out_of_use(self, request: HttpRequest, queryset: Any) -> None:
        for room in queryset.filter(active=True):
            room.active = False
            room.save(update_fields=["active"])
            self._audit(request, room, "setup.change", ["active"])
        self.message_user(request, "Those rooms take no new bookings now.")


class PracticePolicyForm(forms.ModelForm):
    class Meta:
        model = PracticePolicy
        fields = [
            "team_rule",
            "intensive_days",
            "intensive_minutes",
            "intensive_weekdays_only",
            "late_cancel_hours",
        ]
        help_texts = {"intensive_days": "Clinic days in one intensive block (the classic model: 10)."}

    def clean_intensive_days(self) -> int:
        days = self.cleaned_data["intensive_days"]
        if not 1 <= days <= MAX_INTENSIVE_DAYS:
            raise forms.ValidationError(f"An intensive block has between 1 and {MAX_INTENSIVE_DAYS} days.")
        return int(days)

    def clean_intensive_minutes(self) -> int:
        minutes = self.cleaned_data["intensive_minutes"]
        if not 15 <= minutes <= MAX_INTENSIVE_MINUTES:
            raise forms.ValidationError("An intensive day lasts between 15 minutes and 12 hours.")
        return int(minutes)

    def clean_late_cancel_hours(self) -> int:
        hours = self.cleaned_data["late_cancel_hours"]
        if hours > MAX_LATE_CANCEL_HOURS:
            raise forms.ValidationError("The notice period is at most 14 days (336 hours).")
        return int(hours)


@admin.register(PracticePolicy)
class PracticePolicyAdmin(AuditedAdmin):
    """One row: the practice's booking rules. Until it is saved the defaults apply."""

    form = PracticePolicyForm
    list_display = [
        "__str__",
        "team_rule",
        "intensive_days",
        "intensive_minutes",
        "intensive_weekdays_only",
        "late_cancel_hours",
    ]
    fieldsets = [
        ("Co-therapy teams", {"fields": ["team_rule"]}),
        ("Intensive blocks", {"fields": ["intensive_days", "intensive_minutes", "intensive_weekdays_only"]}),
        ("Cancellations", {"fields": ["late_cancel_hours"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not PracticePolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting would silently bring back the defaults; change the values instead.
        return False
