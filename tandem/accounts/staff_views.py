"""The staff set-up link: choose a password and enrol the authenticator on one page, then log in."""

from typing import Any

from django import forms as django_forms
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from tandem.accounts import services, staff
from tandem.accounts.forms import TotpCodeForm
from tandem.accounts.views import _show_codes_once
from tandem.lib.tokens import SessionLinkToken

# The e-mailed token moves into the session at once (as the portal's invitation does).
LINK_TOKEN = SessionLinkToken(session_key="_staff_link_token", placeholder="set-up")


class StaffSetupForm(SetPasswordForm):  # type: ignore[type-arg]
    """Django's password form and validators, plus the first code of the new authenticator."""

    def __init__(self, user: Any, *args: Any, with_code: bool, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.fields["new_password1"].label = "Choose a password"
        self.fields["new_password2"].label = "Type the password again"
        if with_code:
            self.fields["code"] = django_forms.CharField(
                label=TotpCodeForm.base_fields["code"].label,
                max_length=10,
                widget=django_forms.TextInput(
                    attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}
                ),
            )


def _invalid(request: HttpRequest, problem: str) -> HttpResponse:
    return render(request, "portal/invitation_invalid.html", {"problem": problem}, status=410)


@login_not_required
@never_cache
@sensitive_post_parameters("new_password1", "new_password2", "code")
@require_http_methods(["GET", "POST"])
def staff_link_view(request: HttpRequest, token: str) -> HttpResponse:
    if LINK_TOKEN.arrived(token):
        try:
            staff.staff_link_by_token(token)
        except staff.StaffLinkInvalid as problem:
            return _invalid(request, str(problem))
        return LINK_TOKEN.swap(request, token, url_name="accounts:staff_link")
    token = LINK_TOKEN.held(request)
    try:
        invitation = staff.staff_link_by_token(token)
    except staff.StaffLinkInvalid as problem:
        return _invalid(
            request, str(problem) if token else "Open the link in your e-mail again, in this browser."
        )
    user = invitation.user
    with_code = services.needs_second_factor(user)
    key = services.setup_key(session=request.session, user=user)
    data = request.POST if request.method == "POST" else None
    form = StaffSetupForm(user, data, with_code=with_code)
    if form.is_valid():
        try:
            done = staff.staff_link_accept(
                token=token,
                password=form.cleaned_data["new_password1"],
                totp_key=key,
                code=form.cleaned_data.get("code", ""),
            )
        except staff.StaffLinkInvalid as problem:
            return _invalid(request, str(problem))
        except staff.SetupRefused as problem:
            form.add_error(problem.field, str(problem))
        else:
            LINK_TOKEN.forget(request)
            backend = settings.AUTHENTICATION_BACKENDS[-1]
            method = "totp" if done.device is not None else "none"
            services.complete_login(
                request=request, user=done.user, backend=backend, device=done.device, method=method
            )
            if done.recovery_codes:
                return _show_codes_once(
                    request, done.recovery_codes, resolve_url(settings.LOGIN_REDIRECT_URL)
                )
            return redirect(settings.LOGIN_REDIRECT_URL)
    context = {
        "form": form,
        "staff_user": user,
        "setup": services.totp_setup(user=user, key=key) if with_code else None,
    }
    return render(request, "accounts/staff_link.html", context)
