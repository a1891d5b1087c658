"""Session limits (idle, absolute, unverified staff) and sessions ending on password change or disable."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.http import HttpResponse
from django.test import Client, RequestFactory

from tandem.accounts import services
from tandem.accounts.middleware import SessionLimitsMiddleware
from tandem.audit.models import AuditEvent
from tests.accounts_support import LOGIN, is_logged_in, password_step, url
from tests.cast import PASSWORD, login

SECURITY = "/accounts/security/"
NEW_PASSWORD = "quiet-meadow-copper-77"
START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mfa_on(settings):
    settings.TANDEM_STAFF_MFA_REQUIRED = True


def messages_on(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_idle_session_is_logged_out_with_a_message(client, cast, settings):
    # A longer cookie than the idle limit, so it is the middleware (not the session store) that acts.
    settings.SESSION_COOKIE_AGE = 3600
    with time_machine.travel(START, tick=False) as traveller:
        login(client, cast.therapist_a)
        assert client.get(SECURITY).status_code == 200
        traveller.shift(dt.timedelta(minutes=15, seconds=1))
        response = client.get(SECURITY)
        assert response.status_code == 302
        assert response["Location"] == f"{LOGIN}?next={SECURITY}"
        assert not is_logged_in(client)
        page = client.get(response["Location"])
        assert "You were logged out after 15 minutes without activity." in messages_on(page)
        # Said once only.
        assert messages_on(client.get(LOGIN)) == []
    event = AuditEvent.objects.get(action="auth.logout")
    assert event.actor_id == cast.therapist_a.pk and event.detail == {"reason": "idle"}


def test_activity_keeps_the_session_alive(client, cast, settings):
    settings.SESSION_COOKIE_AGE = 3600
    with time_machine.travel(START, tick=False) as traveller:
        login(client, cast.therapist_a)
        for _ in range(4):
            assert client.get(SECURITY).status_code == 200
            traveller.shift(dt.timedelta(minutes=14))
        assert client.get(SECURITY).status_code == 200


def test_a_page_writes_the_last_seen_time_only_when_it_is_a_minute_old(client, cast):
    with time_machine.travel(START, tick=False) as traveller:
        password_step(client, cast.partner_a)
        started = int(START.timestamp())
        traveller.shift(dt.timedelta(seconds=59))
        assert client.get(SECURITY).status_code == 200
        assert client.session[services.LAST_SEEN_KEY] == started
        traveller.shift(dt.timedelta(seconds=1))
        assert client.get(SECURITY).status_code == 200
        assert client.session[services.LAST_SEEN_KEY] == started + 60
        # The store keeps the session well past the idle limit from that write on.
        traveller.shift(dt.timedelta(minutes=14, seconds=59))
        assert client.get(SECURITY).status_code == 200


def test_a_short_idle_limit_is_kept_to_within_a_tenth(client, cast, settings):
    settings.SESSION_IDLE_SECONDS = 60
    with time_machine.travel(START, tick=False) as traveller:
        password_step(client, cast.partner_a)
        # Active every 50 seconds for five minutes: never idle for a minute, never logged out.
        for _ in range(6):
            traveller.shift(dt.timedelta(seconds=50))
            assert client.get(SECURITY).status_code == 200


def test_idle_limit_follows_the_setting(client, cast, settings):
    settings.SESSION_IDLE_SECONDS = 60
    with time_machine.travel(START, tick=False) as traveller:
        login(client, cast.therapist_a)
        client.get(SECURITY)
        traveller.shift(dt.timedelta(seconds=50))
        assert client.get(SECURITY).status_code == 200
        traveller.shift(dt.timedelta(seconds=61))
        response = client.get(SECURITY, follow=True)
        assert "You were logged out after 1 minute without activity." in messages_on(response)


def test_absolute_limit_ends_even_an_active_session(client, cast, settings):
    settings.SESSION_ABSOLUTE_SECONDS = 60 * 60
    with time_machine.travel(START, tick=False) as traveller:
        password_step(client, cast.partner_a)
        assert client.session[services.LOGIN_AT_KEY] == int(START.timestamp())
        for _ in range(6):
            traveller.shift(dt.timedelta(minutes=10))
            assert client.get(SECURITY).status_code == 200
        traveller.shift(dt.timedelta(minutes=1))
        response = client.get(SECURITY)
        assert response.status_code == 302
        assert not is_logged_in(client)
        page = client.get(LOGIN)
        assert any("logged in for 1 hour" in m for m in messages_on(page))
    assert AuditEvent.objects.get(action="auth.logout").detail == {"reason": "absolute"}


def test_unverified_staff_session_is_ended(client, cast):
    client.force_login(cast.therapist_a)  # a session made without the second factor
    response = client.get(SECURITY)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert not is_logged_in(client)
    assert AuditEvent.objects.get(action="auth.logout").detail == {"reason": "unverified"}


def test_unverified_staff_session_is_fine_when_the_switch_is_off(client, cast, settings):
    settings.TANDEM_STAFF_MFA_REQUIRED = False
    client.force_login(cast.therapist_a)
    assert client.get(SECURITY).status_code == 200
    assert is_logged_in(client)


def test_client_session_needs_no_second_factor(client, cast):
    client.force_login(cast.partner_a)
    assert client.get(SECURITY).status_code == 200


def test_staff_session_ends_when_its_second_factor_is_reset(client, cast):
    login(client, cast.therapist_a)
    assert client.get(SECURITY).status_code == 200
    services.reset_second_factor(actor=cast.director, user=cast.therapist_a)
    assert client.get(SECURITY).status_code == 302
    assert not is_logged_in(client)


def test_login_logout_and_static_are_exempt(client, cast):
    client.force_login(cast.therapist_a)
    assert client.get(LOGIN).status_code == 200
    client.get("/static/css/tandem.css")
    assert is_logged_in(client)
    assert client.post(url("accounts:logout")).status_code == 302


def test_htmx_request_gets_a_client_side_redirect(client, cast, settings):
    settings.SESSION_IDLE_SECONDS = 60
    with time_machine.travel(START, tick=False) as traveller:
        login(client, cast.therapist_a)
        client.get(SECURITY)
        traveller.shift(dt.timedelta(minutes=2))
        response = client.get(SECURITY, headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"] == LOGIN


def test_post_to_an_expired_session_is_not_replayed(client, cast, settings):
    settings.SESSION_IDLE_SECONDS = 60
    with time_machine.travel(START, tick=False) as traveller:
        login(client, cast.therapist_a)
        client.get(SECURITY)
        traveller.shift(dt.timedelta(minutes=2))
        response = client.post(url("accounts:password_change"), {"old_password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == LOGIN


def test_middleware_makes_no_queries_of_its_own(cast, django_assert_num_queries, settings):
    settings.SESSION_COOKIE_AGE = 3600
    middleware = SessionLimitsMiddleware(lambda request: HttpResponse("ok"))
    request = RequestFactory().get(SECURITY)
    request.session = SessionStore()
    request.session[SESSION_KEY] = str(cast.therapist_a.pk)
    request.session["otp_device_id"] = "otp_totp.totpdevice/1"
    user = cast.therapist_a
    user.is_verified = lambda: True  # what OTPMiddleware installs, already evaluated
    request.user = user
    with django_assert_num_queries(0):
        assert middleware(request).status_code == 200
    anonymous = RequestFactory().get(SECURITY)
    anonymous.session = SessionStore()
    with django_assert_num_queries(0):
        assert middleware(anonymous).status_code == 200


def test_password_change_keeps_this_session_and_ends_the_others(cast):
    here, elsewhere = Client(), Client()
    login(here, cast.therapist_a)
    login(elsewhere, cast.therapist_a)
    assert elsewhere.get(SECURITY).status_code == 200
    response = here.post(
        url("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response["Location"] == SECURITY
    assert here.get(SECURITY).status_code == 200
    assert here.get(SECURITY).context["verified"] is True
    assert elsewhere.get(SECURITY).status_code == 302
    assert not is_logged_in(elsewhere)
    assert AuditEvent.objects.filter(action="auth.password_changed", actor=cast.therapist_a).exists()


def test_disabling_an_account_ends_all_its_sessions(cast):
    first, second = Client(), Client()
    login(first, cast.therapist_a)
    login(second, cast.therapist_a)
    cast.therapist_a.is_active = False
    cast.therapist_a.save()
    for browser in (first, second):
        assert browser.get(SECURITY).status_code == 302
        assert not browser.get(LOGIN).context["user"].is_authenticated


def test_model_backend_refuses_inactive_users(cast):
    cast.partner_a.is_active = False
    cast.partner_a.save()
    assert ModelBackend().get_user(cast.partner_a.pk) is None
    cast.partner_a.is_active = True
    cast.partner_a.save()
    assert ModelBackend().get_user(cast.partner_a.pk) == cast.partner_a


def test_idle_message_also_when_the_session_store_expired_first(client, cast, settings):
    # When the store drops the session no later than the idle limit (a deployment may set the ages
    # equal), the log-in page must still say why.
    settings.SESSION_COOKIE_AGE = settings.SESSION_IDLE_SECONDS
    with time_machine.travel(START, tick=False) as traveller:
        password_step(client, cast.partner_a)
        assert client.get(SECURITY).status_code == 200
        traveller.shift(dt.timedelta(minutes=16))
        response = client.get(SECURITY)
        assert response.status_code == 302 and response["Location"].startswith(LOGIN)
        page = client.get(response["Location"])
    assert "You were logged out after 15 minutes without activity." in messages_on(page)


def test_no_idle_message_after_an_ordinary_logout(client, cast):
    password_step(client, cast.partner_a)
    client.post(url("accounts:logout"))
    client.get(SECURITY)
    assert not any("without activity" in m for m in messages_on(client.get(LOGIN)))


def test_past_the_middleware_the_user_is_the_verified_user_itself(client, cast):
    # Not a lazy proxy (each attribute read through two of them cost the busiest pages a tenth of their
    # time), and still carrying what the second-factor middleware sets.
    login(client, cast.therapist_a)
    user = client.get(SECURITY).wsgi_request.user
    assert type(user) is type(cast.therapist_a) and user.pk == cast.therapist_a.pk
    assert user.is_verified() and user.otp_device is not None
    anonymous = Client().get(LOGIN).wsgi_request.user
    assert not anonymous.is_authenticated and not anonymous.is_verified()
