"""The security page: second-factor status, authenticator set-up, new recovery codes, password change."""

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tandem.accounts import services
from tandem.audit.models import AuditEvent
from tests.accounts_support import (
    code_for,
    csp_safe,
    give_recovery_codes,
    is_logged_in,
    password_step,
    url,
)
from tests.cast import PASSWORD, login

SECURITY = "/accounts/security/"
AUTHENTICATOR = "/accounts/security/authenticator/"
REGENERATE = "/accounts/security/recovery-codes/new/"
CODES = "/accounts/security/recovery-codes/"
VERIFY = "/accounts/login/verify/"
NEW_PASSWORD = "quiet-meadow-copper-77"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mfa_on(settings):
    settings.TANDEM_STAFF_MFA_REQUIRED = True


def test_security_page_needs_login(client):
    response = client.get(SECURITY)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_staff_see_their_second_factor_status(client, cast):
    login(client, cast.therapist_a)
    give_recovery_codes(cast.therapist_a, ["aaaaaaaa", "bbbbbbbb", "cccccccc"])
    response = client.get(SECURITY)
    html = response.content.decode()
    status = response.context["second_factor"]
    assert status.totp is not None and status.recovery_codes_left == 3
    assert "Recovery codes left" in html and "Confirmed with a second factor" in html
    assert 'autocomplete="new-password"' in html and 'autocomplete="current-password"' in html
    assert csp_safe(html)


def test_clients_see_password_change_only(client, cast):
    client.force_login(cast.partner_a)
    response = client.get(SECURITY)
    assert response.status_code == 200
    assert response.context["second_factor"] is None
    assert "Second factor" not in response.content.decode()
    assert client.get(AUTHENTICATOR).status_code == 403
    assert client.post(REGENERATE, {"password": PASSWORD}).status_code == 403


def test_regenerating_recovery_codes_needs_the_password_and_replaces_old_codes(client, cast):
    login(client, cast.therapist_a)
    give_recovery_codes(cast.therapist_a, ["oldcode1", "oldcode2"])
    refused = client.post(REGENERATE, {"password": "not-my-password"})
    assert refused.status_code == 200
    assert "That is not your current password." in refused.content.decode()
    assert StaticToken.objects.filter(token="oldcode1").exists()

    response = client.post(REGENERATE, {"password": PASSWORD})
    assert response["Location"] == CODES
    page = client.get(CODES)
    codes = page.context["codes"]
    assert len(codes) == 10
    assert page.context["continue_url"] == SECURITY
    tokens = set(StaticToken.objects.filter(device__user=cast.therapist_a).values_list("token", flat=True))
    assert tokens == set(codes)
    assert client.get(CODES)["Location"] == SECURITY
    assert AuditEvent.objects.filter(action="auth.recovery_codes_regenerated").count() == 1
    assert AuditEvent.objects.get(action="auth.login_failed").detail == {"stage": "reauthenticate"}
    # The failed re-check is counted by axes, which must not store the password that was typed.
    stored = "".join(AccessAttempt.objects.values_list("post_data", flat=True))
    assert stored and "not-my-password" not in stored


def test_replacing_the_authenticator_keeps_this_session_verified(client, cast):
    login(client, cast.therapist_a)
    old = TOTPDevice.objects.get(user=cast.therapist_a)
    give_recovery_codes(cast.therapist_a, ["keepthis"])
    page = client.get(AUTHENTICATOR)
    assert "<svg" in page.content.decode()
    assert page.context["has_totp"] is True
    key = client.session[services.SETUP_KEY]["key"]
    new = TOTPDevice(key=key)

    wrong_code = "000000" if code_for(new) != "000000" else "111111"
    wrong = client.post(AUTHENTICATOR, {"code": wrong_code, "password": PASSWORD})
    assert wrong.status_code == 200
    bad_password = client.post(AUTHENTICATOR, {"code": code_for(new), "password": "nope-nope-nope"})
    assert "That is not your current password." in bad_password.content.decode()

    done = client.post(AUTHENTICATOR, {"code": code_for(new), "password": PASSWORD})
    assert done["Location"] == SECURITY
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()
    current = TOTPDevice.objects.get(user=cast.therapist_a)
    assert current.key == key
    assert client.get(SECURITY).context["verified"] is True
    # Existing recovery codes stay valid when only the app changes.
    assert StaticToken.objects.filter(token="keepthis").exists()
    assert AuditEvent.objects.filter(action="auth.mfa_enrolled", actor=cast.therapist_a).exists()


def test_other_sessions_verified_by_the_old_authenticator_end(cast):
    here, elsewhere = Client(), Client()
    login(here, cast.therapist_a)
    login(elsewhere, cast.therapist_a)
    here.get(AUTHENTICATOR)
    new = TOTPDevice(key=here.session[services.SETUP_KEY]["key"])
    here.post(AUTHENTICATOR, {"code": code_for(new), "password": PASSWORD})
    assert here.get(SECURITY).status_code == 200
    assert elsewhere.get(SECURITY).status_code == 302
    assert not is_logged_in(elsewhere)


def test_first_authenticator_from_security_page_hands_out_codes(client, cast, settings):
    settings.TANDEM_STAFF_MFA_REQUIRED = False
    password_step(client, cast.coordinator)
    assert client.get(SECURITY).context["second_factor"].totp is None
    client.get(AUTHENTICATOR)
    new = TOTPDevice(key=client.session[services.SETUP_KEY]["key"])
    response = client.post(AUTHENTICATOR, {"code": code_for(new), "password": PASSWORD})
    assert response["Location"] == CODES
    assert len(client.get(CODES).context["codes"]) == 10


def test_new_authenticator_works_at_the_next_login(client, cast):
    with time_machine.travel(dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        login(client, cast.therapist_a)
        client.get(AUTHENTICATOR)
        new = TOTPDevice(key=client.session[services.SETUP_KEY]["key"])
        client.post(AUTHENTICATOR, {"code": code_for(new), "password": PASSWORD})
        client.post(url("accounts:logout"))
        traveller.shift(dt.timedelta(seconds=31))
        password_step(client, cast.therapist_a)
        assert client.post(VERIFY, {"code": code_for(new)}).status_code == 302
        assert is_logged_in(client)


def test_password_change_enforces_the_validators(client, cast):
    login(client, cast.therapist_a)
    response = client.post(
        url("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"},
    )
    assert response.status_code == 200
    assert "at least 12 characters" in response.content.decode()
    wrong_old = client.post(
        url("accounts:password_change"),
        {"old_password": "wrong-old-password", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert wrong_old.status_code == 200
    cast.therapist_a.refresh_from_db()
    assert cast.therapist_a.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(action="auth.password_changed").exists()


def test_password_change_works_and_is_audited(client, cast):
    login(client, cast.therapist_a)
    response = client.post(
        url("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response["Location"] == SECURITY
    cast.therapist_a.refresh_from_db()
    assert cast.therapist_a.check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(action="auth.password_changed")
    assert event.actor_id == cast.therapist_a.pk
    assert NEW_PASSWORD not in str(event.detail)
