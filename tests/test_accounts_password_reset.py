"""Password reset by e-mail: same answer for any address, never logs in, staff still owe the code."""

import re

import pytest
from django.core import mail
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tandem.audit.models import AuditEvent
from tests.accounts_support import LOGIN, code_for, csp_safe, enrol, is_logged_in, password_step, url
from tests.cast import login
from tests.notify_support import deliver

RESET = "/accounts/password-reset/"
NEW_PASSWORD = "quiet-meadow-copper-77"
VERIFY = "/accounts/login/verify/"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mfa_on(settings):
    settings.TANDEM_STAFF_MFA_REQUIRED = True


def _reset_link(message) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/password-reset/\S+/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def _set_new_password(client: Client, link: str):
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"] is True
    set_url = form_page.redirect_chain[-1][0]
    return client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})


def test_reset_page_is_public_and_accessible(client):
    response = client.get(RESET)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'for="id_email"' in html and 'autocomplete="email"' in html
    assert csp_safe(html)


def test_reset_request_says_the_same_for_known_and_unknown_addresses(client, cast):
    known = client.post(RESET, {"email": cast.therapist_a.email}, follow=True)
    unknown = client.post(RESET, {"email": "nobody@nowhere.invalid"}, follow=True)
    assert mail.outbox == []  # nothing is sent inside the request
    deliver()
    assert known.redirect_chain == unknown.redirect_chain == [(url("accounts:password_reset_done"), 302)]
    assert known.content == unknown.content
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [cast.therapist_a.email]


def test_no_mail_for_a_disabled_account(client, cast):
    cast.therapist_a.is_active = False
    cast.therapist_a.save()
    client.post(RESET, {"email": cast.therapist_a.email})
    deliver()
    assert mail.outbox == []


def test_reset_sets_password_but_does_not_log_in_and_staff_still_need_the_code(client, cast):
    device = enrol(cast.therapist_a)
    client.post(RESET, {"email": cast.therapist_a.email})
    deliver()
    response = _set_new_password(client, _reset_link(mail.outbox[0]))
    assert response["Location"] == url("accounts:password_reset_complete")
    assert not is_logged_in(client)
    assert not client.get(response["Location"]).context["user"].is_authenticated
    cast.therapist_a.refresh_from_db()
    assert cast.therapist_a.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.get(action="auth.password_reset").actor_id == cast.therapist_a.pk

    step = password_step(client, cast.therapist_a, password=NEW_PASSWORD)
    assert step["Location"] == VERIFY
    assert not is_logged_in(client)
    assert client.post(VERIFY, {"code": code_for(device)}).status_code == 302
    assert is_logged_in(client)


def test_reset_link_works_once(client, cast):
    client.post(RESET, {"email": cast.partner_a.email})
    deliver()
    link = _reset_link(mail.outbox[0])
    _set_new_password(client, link)
    again = Client().get(link, follow=True)
    assert again.context["validlink"] is False


def test_reset_ends_existing_sessions(cast):
    existing = Client()
    login(existing, cast.therapist_a)
    resetter = Client()
    resetter.post(RESET, {"email": cast.therapist_a.email})
    deliver()
    _set_new_password(resetter, _reset_link(mail.outbox[0]))
    assert existing.get(url("accounts:security"))["Location"].startswith(LOGIN)


def test_reset_mail_names_the_practice(client, cast, settings):
    client.post(RESET, {"email": cast.partner_a.email})
    deliver()
    message = mail.outbox[0]
    assert settings.PRACTICE_NAME in message.subject
    assert "\n" not in message.subject
    assert settings.PRACTICE_NAME in message.body


def test_a_reset_password_alone_cannot_enrol_a_second_factor(client, cast):
    """Whoever can read a staff member's mailbox may choose a new password, but a staff member without an
    authenticator is still not logged in and is offered no enrolment: only the director's set-up link
    enrols one (tests/test_accounts_staff_link.py)."""
    assert not TOTPDevice.objects.filter(user=cast.coordinator).exists()
    client.post(RESET, {"email": cast.coordinator.email})
    deliver()
    _set_new_password(client, _reset_link(mail.outbox[0]))
    cast.coordinator.refresh_from_db()
    assert cast.coordinator.check_password(NEW_PASSWORD)
    step = password_step(client, cast.coordinator, password=NEW_PASSWORD)
    assert step["Location"] == LOGIN
    assert not is_logged_in(client)
    assert client.get(VERIFY)["Location"] == LOGIN
    assert client.get(url("accounts:authenticator"))["Location"].startswith(LOGIN)
    assert not TOTPDevice.objects.filter(user=cast.coordinator).exists()
