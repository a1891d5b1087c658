"""Security headers on every page, a CSP without inline script, and a clean deploy check."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.cast import login

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def test_login_page_headers(client, db):
    response = client.get(reverse("accounts:login"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_staff_pages_have_no_inline_script_and_are_not_cached(client, cast):
    login(client, cast.director)
    case = cast.couple_case
    urls = [
        reverse("today"),
        reverse("cases:list"),
        reverse("cases:create"),
        reverse("audit:events"),
        reverse("cases:detail", kwargs={"case_id": case.pk}),
        reverse("cases:edit", kwargs={"case_id": case.pk}),
        reverse("cases:problems", kwargs={"case_id": case.pk}),
        reverse("access:break_glass"),
        reverse("accounts:security"),
    ]
    for url in urls:
        response = client.get(url)
        body = response.content.decode()
        assert response.status_code == 200, url
        assert not INLINE_SCRIPT.search(body), url
        assert not EVENT_HANDLER.search(body), url
        assert "no-store" in response["Cache-Control"], url


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 60 + "production-like-secret",
    "AUDIT_HMAC_KEY": "y" * 48,
    "ALLOWED_HOSTS": "clinic.example.org",
}


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a fresh process: settings are read once, at start-up."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _production_env(**overrides: str) -> dict[str, str]:
    # The browser tests' conftest allows async-unsafe ORM use here; check --deploy must not inherit it.
    ignored = {"TANDEM_STAFF_MFA_REQUIRED", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in ignored}
    return {**env, **PRODUCTION, **overrides}


def test_deploy_check_is_clean_in_production_mode():
    result = _manage(_production_env(), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_warns_when_staff_mfa_is_off():
    result = _manage(
        _production_env(TANDEM_STAFF_MFA_REQUIRED="0"), "check", "--deploy", "--fail-level", "WARNING"
    )
    assert result.returncode != 0 and "tandem.W001" in result.stderr + result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "AUDIT_HMAC_KEY"])
def test_production_refuses_to_start_without_its_secrets(missing):
    env = _production_env()
    env.pop(missing)
    result = _manage(env, "check")
    assert result.returncode != 0 and missing in result.stderr
