"""Helpers shared by the test_accounts_* modules: TOTP codes, enrolled devices and the password step."""

import re

from django.test import Client as HttpClient
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tandem.accounts.models import User
from tandem.audit.models import AuditEvent
from tests.cast import PASSWORD

LOGIN = "/accounts/login/"


def code_for(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (or `steps_ahead` time steps later)."""
    value = totp(device.bin_key, device.step, device.t0, device.digits, drift=steps_ahead)
    return f"{value:0{device.digits}d}"


def enrol(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def give_recovery_codes(user: User, codes: list[str]) -> StaticDevice:
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    for code in codes:
        StaticToken.objects.create(device=device, token=code)
    return device


def password_step(client: HttpClient, user: User, *, password: str = PASSWORD, next_url: str = ""):
    data = {"username": user.username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(LOGIN, data)


def is_logged_in(client: HttpClient) -> bool:
    return "_auth_user_id" in client.session


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


def csp_safe(html: str) -> bool:
    """No inline script, no inline event handler, no inline style: what the CSP would block."""
    return not (
        re.search(r"<script(?![^>]*\bsrc=)", html) or re.search(r"\son[a-z]+=", html) or " style=" in html
    )


def url(name: str, **kwargs: object) -> str:
    return reverse(name, kwargs=kwargs or None)
