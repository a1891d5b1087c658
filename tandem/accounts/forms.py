from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.utils.module_loading import import_string

from tandem.accounts.models import User

# One wording for unknown user, wrong password and disabled account: the page must not tell an
# attacker which user names exist.
INVALID_LOGIN = "The user name or password is not correct. Check both and try again."
WRONG_CODE = "That code did not work. Check the code and try again."
WAIT_CODE = "Too many wrong codes in a row. Wait a minute, then try again."


def _text(autocomplete: str, **extra: str) -> dict[str, str]:
    return {"autocomplete": autocomplete, "autocapitalize": "none", "spellcheck": "false", **extra}


class LoginForm(forms.Form):
    username = forms.CharField(
        label="User name", max_length=150, widget=forms.TextInput(attrs=_text("username", autofocus=""))
    )
    password = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class TotpCodeForm(forms.Form):
    code = forms.CharField(
        label="Six-digit code from your authenticator app",
        max_length=10,
        widget=forms.TextInput(
            attrs=_text("one-time-code", inputmode="numeric", pattern=r"[0-9 ]*", autofocus="")
        ),
    )


class RecoveryCodeForm(forms.Form):
    recovery_code = forms.CharField(
        label="Recovery code",
        max_length=20,
        help_text="One of the ten codes you saved when you set up your authenticator. Each works once.",
        widget=forms.TextInput(attrs=_text("off")),
    )


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(
        label="Your current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class AuthenticatorSetupForm(PasswordConfirmForm, TotpCodeForm):
    field_order = ["code", "password"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the first field on the page should take focus.
        self.fields["code"].widget.attrs.pop("autofocus", None)


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["old_password"].widget.attrs.pop("autofocus", None)


class PasswordResetForm(auth_forms.PasswordResetForm):
    email = forms.EmailField(
        label="E-mail address", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )

    def save(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # Never look the address up or send inside the request: the notify worker does both. The queue
        # lives in notify, a layer above accounts, so it is named in settings (as Django names backends).
        import_string(settings.TANDEM_RESET_EMAIL_QUEUE)(email=self.cleaned_data["email"])


class TandemUserCreationForm(auth_forms.UserCreationForm):
    class Meta(auth_forms.UserCreationForm.Meta):
        model = User
        fields = ("username", "first_name", "last_name", "email", "role")


class TandemUserChangeForm(auth_forms.UserChangeForm):
    class Meta(auth_forms.UserChangeForm.Meta):
        model = User
        fields = "__all__"
