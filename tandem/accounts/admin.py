"""The set-up admin (mounted at /setup/): accounts tables, and an admin that cannot bypass the log-in.

The admin has no log-in form of its own: its log-in URL sends people to Tandem's, so the password,
the second factor, the lock-out and the audit all apply. Only an active director with is_staff, in a
session verified with a second factor (when required), gets in.
"""

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from tandem.accounts import services, views
from tandem.accounts.forms import TandemUserChangeForm, TandemUserCreationForm
from tandem.accounts.models import Role, TherapistProfile, User, WorkingHours


def may_use_admin(request: HttpRequest) -> bool:
    user: Any = request.user
    if not (user.is_active and user.is_staff and getattr(user, "role", None) == Role.DIRECTOR):
        return False
    if settings.TANDEM_STAFF_MFA_REQUIRED:
        return bool(getattr(user, "is_verified", lambda: False)())
    return True


@login_not_required
@never_cache
def admin_login(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    target = services.safe_next(request=request, candidate=request.GET.get("next")) or reverse("admin:index")
    if not request.user.is_authenticated:
        return redirect_to_login(target, reverse("accounts:login"))
    if may_use_admin(request):
        return redirect(target)
    raise PermissionDenied


def admin_password_change(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    # One place to change one's own password, which audits and keeps this session.
    return redirect("accounts:security")


admin.site.login = admin_login  # type: ignore[method-assign,assignment]
admin.site.logout = views.logout_view  # type: ignore[method-assign,assignment]
admin.site.password_change = admin_password_change  # type: ignore[method-assign,assignment]
admin.site.has_permission = may_use_admin  # type: ignore[method-assign]

# django-otp's own admins would show every user's TOTP secret and recovery codes to whoever runs
# set-up, letting them act as that person. Resetting a lost second factor is an action on the user.
for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(User)
class TandemUserAdmin(UserAdmin):
    form = TandemUserChangeForm
    add_form = TandemUserCreationForm
    list_display = ("username", "first_name", "last_name", "role", "is_active", "is_staff")
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("username", "first_name", "last_name", "email")
    readonly_fields = ("last_login", "date_joined")
    actions = ["reset_second_factor"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "email")}),
        (
            "Role and access",
            {
                "fields": ("role", "is_active", "is_staff", "is_superuser", "groups", "user_permissions"),
                "description": "Turning off “active” ends every session of the user at once.",
            },
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "first_name", "last_name", "email", "role", "password1", "password2"),
            },
        ),
    )

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, unquote(id))
            if user is not None:
                services.record_admin_password_change(actor=request.user, user=user)
        return response

    @admin.action(description="Reset second factor (then send them a set-up link from the set-up pages)")
    def reset_second_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.reset_second_factor(actor=request.user, user=user)
        messages.success(request, f"Second factor reset for {queryset.count()} user(s).")


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 1


@admin.register(TherapistProfile)
class TherapistProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "gender", "credentials", "licence_expires")
    list_filter = ("gender",)
    search_fields = ("user__username", "user__first_name", "user__last_name", "licence_number")
    raw_id_fields = ("user",)
    inlines = [WorkingHoursInline]
