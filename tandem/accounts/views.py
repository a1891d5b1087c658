"""Log-in (password, then a second factor for staff), log-out, the security page and password reset.

Views stay thin: every rule lives in tandem.accounts.services.
"""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from tandem.accounts import forms, services
from tandem.accounts.models import User


def _public(view: Any) -> Any:
    """Log-in steps: reachable without a session, never cached (they carry secrets), GET or POST."""
    return login_not_required(never_cache(require_http_methods(["GET", "POST"])(view)))


def _after_login_url(next_url: str) -> str:
    return next_url or resolve_url(settings.LOGIN_REDIRECT_URL)


def _logout_reason_text(reason: str) -> str:
    if reason == "idle":
        minutes = max(1, settings.SESSION_IDLE_SECONDS // 60)
        return ngettext(
            "You were logged out after %(n)d minute without activity.",
            "You were logged out after %(n)d minutes without activity.",
            minutes,
        ) % {"n": minutes}
    if reason == "absolute":
        hours = max(1, settings.SESSION_ABSOLUTE_SECONDS // 3600)
        return ngettext(
            "You were logged out because you had been logged in for %(n)d hour. Please log in again.",
            "You were logged out because you had been logged in for %(n)d hours. Please log in again.",
            hours,
        ) % {"n": hours}
    return "Please log in again with your password and second factor."


NO_SECOND_FACTOR = (
    "Your account has no authenticator app set up yet. Use the set-up link the clinical director "
    "e-mailed you, or ask them for a new one."
)


def _restart(request: HttpRequest) -> HttpResponse:
    messages.info(request, "Your log-in took too long or was interrupted. Please start again.")
    return redirect("accounts:login")


# --- Log-in ---------------------------------------------------------------------------------------


@_public
@sensitive_post_parameters("password")
def login_view(request: HttpRequest) -> HttpResponse:
    reason = request.session.pop(services.LOGOUT_REASON_KEY, None)
    if reason:
        messages.info(request, _logout_reason_text(reason))
    form = forms.LoginForm(request.POST or None, initial={"next": request.GET.get("next", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = services.check_password(request=request, username=data["username"], password=data["password"])
        if user is not None:
            return _after_password(request, user, services.safe_next(request=request, candidate=data["next"]))
        form.add_error(None, forms.INVALID_LOGIN)
    return render(request, "accounts/login.html", {"form": form})


def _after_password(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    if not services.needs_second_factor(user):
        backend = getattr(user, "backend", None) or settings.AUTHENTICATION_BACKENDS[-1]
        services.complete_login(request=request, user=user, backend=backend, device=None, method="none")
        return redirect(_after_login_url(next_url))
    if services.confirmed_totp(user=user) is None:
        # A password alone never enrols a second factor: only the director's e-mailed set-up link does.
        services.refuse_without_second_factor(user=user)
        messages.error(request, NO_SECOND_FACTOR)
        return redirect("accounts:login")
    services.start_pending_login(request=request, user=user, next_url=next_url)
    return redirect("accounts:verify")


@_public
@sensitive_post_parameters("code", "recovery_code")
def verify_view(request: HttpRequest) -> HttpResponse:
    pending = services.pending_login(request=request)
    if pending is None:
        return _restart(request)
    if services.confirmed_totp(user=pending.user) is None:
        return _restart(request)
    username = pending.user.get_username()
    if services.is_locked_out(request=request, username=username):
        return locked_out(request, None, {"username": username})
    totp_form = forms.TotpCodeForm(request.POST if "code" in request.POST else None)
    recovery_form = forms.RecoveryCodeForm(request.POST if "recovery_code" in request.POST else None)
    if recovery_form.is_bound:
        # Focus belongs on the recovery code the person was typing, not on the app code above it.
        totp_form.fields["code"].widget.attrs.pop("autofocus", None)
    if request.method == "POST":
        done = _check_second_factor(request, pending, totp_form, recovery_form)
        if done is not None:
            return done
    context = {"totp_form": totp_form, "recovery_form": recovery_form, "use_recovery": recovery_form.is_bound}
    return render(request, "accounts/verify.html", context)


def _check_second_factor(
    request: HttpRequest,
    pending: services.PendingLogin,
    totp_form: forms.TotpCodeForm,
    recovery_form: forms.RecoveryCodeForm,
) -> HttpResponse | None:
    form: forms.TotpCodeForm | forms.RecoveryCodeForm
    if totp_form.is_valid():
        form, field, method = totp_form, "code", "totp"
        check, device = services.verify_totp(user=pending.user, code=totp_form.cleaned_data["code"])
    elif recovery_form.is_valid():
        form, field, method = recovery_form, "recovery_code", "recovery_code"
        check, device = services.use_recovery_code(
            user=pending.user, code=recovery_form.cleaned_data["recovery_code"]
        )
    else:
        return None
    if check is services.CodeCheck.OK:
        services.complete_login(
            request=request, user=pending.user, backend=pending.backend, device=device, method=method
        )
        if method == "recovery_code":
            _recovery_code_reminder(request, pending.user)
        return redirect(_after_login_url(pending.next_url))
    if check is services.CodeCheck.THROTTLED:
        form.add_error(field, forms.WAIT_CODE)
    else:
        services.second_factor_failed(request=request, user=pending.user, stage=method)
        form.add_error(field, forms.WRONG_CODE)
    return None


def _recovery_code_reminder(request: HttpRequest, user: User) -> None:
    left = services.second_factor_status(user=user).recovery_codes_left
    messages.warning(
        request,
        f"You logged in with a recovery code; {left} left. If you lost your authenticator app, "
        "set up a new one on the Security page.",
    )


def _show_codes_once(request: HttpRequest, codes: list[str], continue_url: str) -> HttpResponse:
    services.forget_setup_key(session=request.session)
    request.session[services.FRESH_CODES_KEY] = {"codes": codes, "next": continue_url}
    return redirect("accounts:recovery_codes")


@never_cache
@require_http_methods(["GET"])
def recovery_codes_view(request: HttpRequest) -> HttpResponse:
    """Shows freshly issued recovery codes exactly once: reloading the page does not show them again."""
    fresh = request.session.pop(services.FRESH_CODES_KEY, None)
    if not fresh:
        return redirect("accounts:security")
    context = {"codes": fresh["codes"], "continue_url": fresh["next"] or reverse("accounts:security")}
    return render(request, "accounts/recovery_codes.html", context)


@login_not_required
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    was_logged_in = request.user.is_authenticated
    services.log_out(request=request, reason="user")
    if was_logged_in:
        messages.success(request, "You have been logged out.")
    return redirect(settings.LOGOUT_REDIRECT_URL)


def locked_out(
    request: HttpRequest, original_response: Any = None, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    """Axes' lock-out page. Worded the same whether or not the user name exists."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    services.record_lockout(request=request, username=str(username))
    minutes = max(1, round(float(settings.AXES_COOLOFF_TIME) * 60))
    return render(request, "accounts/locked_out.html", {"minutes": minutes}, status=429)


# --- Security page --------------------------------------------------------------------------------


def _staff_user(request: HttpRequest) -> User:
    user: Any = request.user
    if not user.is_practice_staff:
        raise PermissionDenied
    return user  # type: ignore[no-any-return]


def _security_page(request: HttpRequest, *, status: int = 200, **form_overrides: Any) -> HttpResponse:
    user: Any = request.user
    context: dict[str, Any] = {
        "password_form": forms.PasswordChangeForm(user),
        # Unprefixed on purpose: axes masks a field named "password" in what it stores of failed attempts.
        "regenerate_form": forms.PasswordConfirmForm(),
        "second_factor": services.second_factor_status(user=user) if user.is_practice_staff else None,
        "verified": bool(getattr(user, "is_verified", lambda: False)()),
        "mfa_required": settings.TANDEM_STAFF_MFA_REQUIRED,
        **form_overrides,
    }
    return render(request, "accounts/security.html", context, status=status)


@never_cache
@require_http_methods(["GET"])
def security_view(request: HttpRequest) -> HttpResponse:
    return _security_page(request)


@never_cache
@require_POST
@sensitive_post_parameters()
def password_change_view(request: HttpRequest) -> HttpResponse:
    form = forms.PasswordChangeForm(request.user, request.POST)
    if form.is_valid():
        services.change_password(request=request, form=form)
        messages.success(request, "Your password has been changed. Any other sessions of yours have ended.")
        return redirect("accounts:security")
    return _security_page(request, password_form=form)


@never_cache
@require_POST
@sensitive_post_parameters()
def regenerate_codes_view(request: HttpRequest) -> HttpResponse:
    user = _staff_user(request)
    form = forms.PasswordConfirmForm(request.POST)
    if form.is_valid():
        if services.reauthenticate(request=request, user=user, password=form.cleaned_data["password"]):
            codes = services.regenerate_recovery_codes(user=user)
            return _show_codes_once(request, codes, reverse("accounts:security"))
        form.add_error("password", "That is not your current password.")
    return _security_page(request, regenerate_form=form)


@never_cache
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters()
def authenticator_view(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator from the security page, or replace a lost or changed one."""
    user = _staff_user(request)
    key = services.setup_key(session=request.session, user=user)
    form = forms.AuthenticatorSetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = _replace_authenticator(request, user, key, form)
        if done is not None:
            return done
    setup = services.totp_setup(user=user, key=key)
    context = {"form": form, "setup": setup, "has_totp": services.confirmed_totp(user=user) is not None}
    return render(request, "accounts/authenticator.html", context)


def _replace_authenticator(
    request: HttpRequest, user: User, key: str, form: forms.AuthenticatorSetupForm
) -> HttpResponse | None:
    if not services.reauthenticate(request=request, user=user, password=form.cleaned_data["password"]):
        form.add_error("password", "That is not your current password.")
        return None
    code = form.cleaned_data["code"]
    device = services.replace_authenticator(request=request, user=user, key=key, code=code)
    if device is None:
        form.add_error("code", forms.WRONG_CODE)
        return None
    if services.second_factor_status(user=user).recovery_codes_left == 0:
        codes = services.regenerate_recovery_codes(user=user)
        return _show_codes_once(request, codes, reverse("accounts:security"))
    services.forget_setup_key(session=request.session)
    messages.success(request, "Your authenticator app is set up. Codes from any earlier app no longer work.")
    return redirect("accounts:security")


# --- Password reset (Django's views; the confirm step never logs in) --------------------------------


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    form_class = forms.PasswordResetForm
    success_url = reverse_lazy("accounts:password_reset_done")

    @property
    def extra_email_context(self) -> dict[str, str]:  # type: ignore[override]
        return {"site_name": settings.PRACTICE_NAME}


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


@method_decorator(never_cache, name="dispatch")
class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
    # Setting a new password proves control of the mailbox only; staff still owe the second factor.
    post_reset_login = False

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        if self.user is not None:
            services.record_password_reset(user=self.user)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
