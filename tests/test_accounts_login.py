"""Log-in: password step, second factor for staff, enrolment, clients, redirects, audit."""

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tandem.accounts import services
from tandem.accounts.forms import INVALID_LOGIN, WAIT_CODE, WRONG_CODE
from tandem.audit.models import AuditEvent
from tests.accounts_support import (
    LOGIN,
    code_for,
    csp_safe,
    enrol,
    give_recovery_codes,
    is_logged_in,
    password_step,
    url,
)
from tests.cast import PASSWORD, login

VERIFY = "/accounts/login/verify/"
ENROL = "/accounts/login/set-up/"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mfa_on(settings):
    settings.TANDEM_STAFF_MFA_REQUIRED = True


def test_login_page_is_public_and_accessible(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'for="id_username"' in html and 'for="id_password"' in html
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html
    assert csp_safe(html)
    assert "no-store" in response["Cache-Control"]


def test_url_names():
    assert url("accounts:login") == LOGIN
    assert url("accounts:logout") == "/accounts/logout/"
    assert url("accounts:security") == "/accounts/security/"


def test_staff_password_alone_does_not_log_in(client, cast):
    enrol(cast.therapist_a)
    response = password_step(client, cast.therapist_a)
    assert response.status_code == 302
    assert response["Location"] == VERIFY
    assert not is_logged_in(client)
    pending = client.session[services.PENDING_LOGIN_KEY]
    assert pending["user_id"] == cast.therapist_a.pk
    # Nothing protected is reachable in the half-done state.
    assert client.get(url("accounts:security")).status_code == 302


def test_staff_login_with_totp_cycles_session_and_verifies(client, cast):
    device = enrol(cast.therapist_a)
    password_step(client, cast.therapist_a)
    key_before = client.session.session_key
    response = client.post(VERIFY, {"code": code_for(device)})
    assert response.status_code == 302
    assert response["Location"] == "/"
    session = client.session
    assert session[SESSION_KEY] == str(cast.therapist_a.pk)
    assert session.session_key != key_before
    assert session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert services.PENDING_LOGIN_KEY not in session
    page = client.get(url("accounts:security"))
    assert page.status_code == 200
    assert page.context["verified"] is True


def test_session_key_changes_between_anonymous_visit_and_login(client, cast):
    device = enrol(cast.coordinator)
    client.get(LOGIN)
    client.session.save()
    anonymous_key = client.session.session_key
    password_step(client, cast.coordinator)
    client.post(VERIFY, {"code": code_for(device)})
    assert is_logged_in(client)
    assert client.session.session_key != anonymous_key


def test_replayed_totp_code_is_refused(client, cast):
    device = enrol(cast.therapist_a)
    code = code_for(device)
    password_step(client, cast.therapist_a)
    assert client.post(VERIFY, {"code": code}).status_code == 302

    other = Client()
    password_step(other, cast.therapist_a)
    response = other.post(VERIFY, {"code": code})
    assert response.status_code == 200
    assert WRONG_CODE in response.content.decode()
    assert not is_logged_in(other)


def test_next_totp_step_works_after_the_previous_one_was_used(client, cast):
    device = enrol(cast.therapist_a)
    with time_machine.travel(dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        password_step(client, cast.therapist_a)
        assert client.post(VERIFY, {"code": code_for(device)}).status_code == 302
        traveller.shift(dt.timedelta(seconds=31))
        other = Client()
        password_step(other, cast.therapist_a)
        assert other.post(VERIFY, {"code": code_for(device)}).status_code == 302
        assert is_logged_in(other)


def test_verify_locks_the_device_row(client, cast, monkeypatch):
    device = enrol(cast.therapist_a)
    seen = []
    original = TOTPDevice.objects.select_for_update

    def spy(*args, **kwargs):
        seen.append(True)
        return original(*args, **kwargs)

    monkeypatch.setattr(TOTPDevice.objects, "select_for_update", spy)
    check, verified = services.verify_totp(user=cast.therapist_a, code=code_for(device))
    assert check is services.CodeCheck.OK and verified == device
    assert seen, "the TOTP device must be read with select_for_update"


def test_wrong_code_keeps_user_out_and_is_audited(client, cast):
    enrol(cast.therapist_a)
    password_step(client, cast.therapist_a)
    response = client.post(VERIFY, {"code": "000000"})
    assert response.status_code == 200
    assert WRONG_CODE in response.content.decode()
    assert not is_logged_in(client)
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.actor_id == cast.therapist_a.pk
    assert event.detail == {"stage": "totp"}


def test_recovery_code_logs_in_once(client, cast):
    enrol(cast.director)
    give_recovery_codes(cast.director, ["abcdefgh", "ijklmnop"])
    password_step(client, cast.director)
    response = client.post(VERIFY, {"recovery_code": "ABCD EFGH"})
    assert response.status_code == 302
    assert is_logged_in(client)
    assert not StaticToken.objects.filter(token="abcdefgh").exists()
    used = AuditEvent.objects.get(action="auth.recovery_code_used")
    assert used.detail == {"codes_left": 1}
    reminder = [str(m) for m in client.get(url("accounts:security")).context["messages"]]
    assert any("recovery code; 1 left" in m for m in reminder)

    other = Client()
    password_step(other, cast.director)
    again = other.post(VERIFY, {"recovery_code": "abcdefgh"})
    assert again.status_code == 200
    assert not is_logged_in(other)


def test_password_alone_cannot_reach_enrolment(client, cast):
    """A staff member without an authenticator, logging in with the right password, is neither logged
    in nor shown a way to enrol one: whoever knows the password must not be able to claim the account.
    Enrolment goes through the director's e-mailed set-up link (tests/test_accounts_staff_link.py)."""
    response = password_step(client, cast.coordinator, next_url="/cases/")
    assert response["Location"] == LOGIN
    assert not is_logged_in(client)
    assert services.PENDING_LOGIN_KEY not in client.session
    assert services.SETUP_KEY not in client.session
    page = client.get(LOGIN).content.decode()
    assert "no authenticator app set up yet" in page and "<svg" not in page
    assert client.get(ENROL).status_code == 404  # the old first-log-in enrolment page is gone
    assert client.get(VERIFY)["Location"] == LOGIN
    assert client.get(url("accounts:authenticator"))["Location"].startswith(LOGIN)
    assert not TOTPDevice.objects.filter(user=cast.coordinator).exists()
    failed = AuditEvent.objects.get(action="auth.login_failed")
    assert failed.detail == {"stage": "no_second_factor"} and failed.actor_id == cast.coordinator.pk


def test_enrolment_is_not_offered_to_someone_who_already_has_an_authenticator(client, cast):
    enrol(cast.therapist_a)
    assert password_step(client, cast.therapist_a)["Location"] == VERIFY


def test_second_factor_pages_need_a_fresh_password_step(client, cast):
    assert client.get(VERIFY)["Location"] == LOGIN
    device = enrol(cast.therapist_a)
    with time_machine.travel(dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        password_step(client, cast.therapist_a)
        traveller.shift(dt.timedelta(seconds=services.PENDING_LOGIN_SECONDS + 1))
        response = client.post(VERIFY, {"code": code_for(device)})
        assert response["Location"] == LOGIN
        assert not is_logged_in(client)


def test_password_change_during_pending_login_voids_it(client, cast):
    device = enrol(cast.therapist_a)
    password_step(client, cast.therapist_a)
    cast.therapist_a.set_password("a-brand-new-long-passphrase")
    cast.therapist_a.save()
    assert client.post(VERIFY, {"code": code_for(device)})["Location"] == LOGIN
    assert not is_logged_in(client)


def test_client_logs_in_with_password_only(client, cast):
    response = password_step(client, cast.partner_a)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[SESSION_KEY] == str(cast.partner_a.pk)
    assert AuditEvent.objects.get(action="auth.login").detail == {"second_factor": "none"}


def test_staff_log_in_with_password_only_when_switch_is_off(client, cast, settings):
    settings.TANDEM_STAFF_MFA_REQUIRED = False
    enrol(cast.therapist_a)
    response = password_step(client, cast.therapist_a)
    assert response["Location"] == "/"
    assert is_logged_in(client)
    assert client.get(url("accounts:security")).status_code == 200


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/cases/?q=1", "/cases/?q=1"),
        ("https://evil.example/steal", "/"),
        ("//evil.example/", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_redirect_after_login_only_to_this_site(client, cast, next_url, expected):
    response = password_step(client, cast.partner_a, next_url=next_url)
    assert response["Location"] == expected


def test_staff_redirect_keeps_safe_next_through_second_factor(client, cast):
    device = enrol(cast.therapist_a)
    password_step(client, cast.therapist_a, next_url="/cases/")
    assert client.post(VERIFY, {"code": code_for(device)})["Location"] == "/cases/"


def test_next_from_login_redirect_is_carried_in_the_form(client):
    html = client.get(LOGIN + "?next=/cases/").content.decode()
    assert re.search(r'name="next" value="/cases/"', html)


def test_same_message_for_unknown_user_wrong_password_and_inactive_user(client, cast):
    cast.therapist_b.is_active = False
    cast.therapist_b.save()
    attempts = [
        {"username": "nobody.here", "password": PASSWORD},
        {"username": cast.therapist_a.username, "password": "wrong-password-entirely"},
        {"username": cast.therapist_b.username, "password": PASSWORD},
    ]
    bodies = []
    for data in attempts:
        response = client.post(LOGIN, data)
        assert response.status_code == 200
        assert not is_logged_in(client)
        body = response.content.decode()
        assert INVALID_LOGIN in body
        body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)
        bodies.append(body.replace(data["username"], "USERNAME"))
    assert bodies[0] == bodies[1] == bodies[2]


def test_failed_login_audit_holds_no_password_or_name(client, cast):
    client.post(LOGIN, {"username": cast.therapist_a.username, "password": "wrong-password-entirely"})
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.actor_id is None
    assert set(event.detail) == {"stage", "username_hash"}
    assert event.detail["username_hash"] == services.username_hash(cast.therapist_a.username)
    assert cast.therapist_a.username not in str(event.detail)
    assert "wrong-password" not in str(event.detail) + event.actor_label
    assert event.ip == "127.0.0.1"


def test_login_and_logout_are_audited(client, cast):
    device = enrol(cast.therapist_a)
    password_step(client, cast.therapist_a)
    client.post(VERIFY, {"code": code_for(device)})
    login_event = AuditEvent.objects.get(action="auth.login")
    assert login_event.actor_id == cast.therapist_a.pk
    assert login_event.detail == {"second_factor": "totp"}
    response = client.post(url("accounts:logout"))
    assert response["Location"] == LOGIN
    assert not is_logged_in(client)
    assert AuditEvent.objects.get(action="auth.logout").actor_id == cast.therapist_a.pk


def test_logout_is_post_only(client, cast):
    login(client, cast.therapist_a)
    assert client.get(url("accounts:logout")).status_code == 405
    assert is_logged_in(client)


def test_logging_in_as_someone_else_ends_the_first_session(client, cast):
    client.post(LOGIN, {"username": cast.partner_a.username, "password": PASSWORD})
    assert client.session[SESSION_KEY] == str(cast.partner_a.pk)
    enrol(cast.therapist_a)
    password_step(client, cast.therapist_a)
    assert not is_logged_in(client)


def test_second_factor_page_is_accessible(client, cast):
    enrol(cast.therapist_a)
    password_step(client, cast.therapist_a)
    html = client.get(VERIFY).content.decode()
    assert 'for="id_code"' in html and 'for="id_recovery_code"' in html
    assert 'autocomplete="one-time-code"' in html and 'inputmode="numeric"' in html
    assert csp_safe(html)
    assert "no-store" in client.get(VERIFY)["Cache-Control"]
    after_wrong = client.post(VERIFY, {"recovery_code": "zzzzzzzz"}).content.decode()
    assert 'aria-invalid="true"' in after_wrong
    code_input = re.search(r'<input[^>]*name="code"[^>]*>', after_wrong)
    assert code_input and "autofocus" not in code_input.group(0)


def test_client_logging_in_over_another_session_ends_it_with_an_audit(client, cast):
    login(client, cast.therapist_a)
    password_step(client, cast.partner_a)
    assert client.session[SESSION_KEY] == str(cast.partner_a.pk)
    event = AuditEvent.objects.get(action="auth.logout")
    assert event.actor_id == cast.therapist_a.pk and event.detail == {"reason": "new_login"}


def test_rapid_retries_are_throttled_without_counting_as_failures(client, cast):
    enrol(cast.therapist_a)
    with time_machine.travel(dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC), tick=False):
        password_step(client, cast.therapist_a)
        assert WRONG_CODE in client.post(VERIFY, {"code": "000000"}).content.decode()
        assert WAIT_CODE in client.post(VERIFY, {"code": "000000"}).content.decode()
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 1
