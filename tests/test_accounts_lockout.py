"""Lock-out after repeated failures, keyed on (user name, address), with wording that reveals nothing."""

import datetime as dt
import re

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client

from tandem.accounts import services
from tandem.audit.models import AuditEvent
from tests.accounts_support import LOGIN, code_for, enrol, is_logged_in, password_step
from tests.cast import PASSWORD

VERIFY = "/accounts/login/verify/"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.TANDEM_STAFF_MFA_REQUIRED = True
    settings.AXES_FAILURE_LIMIT = 5


def fail_password(client: Client, username: str, times: int) -> list[int]:
    return [
        client.post(LOGIN, {"username": username, "password": f"not-the-password-{i}"}).status_code
        for i in range(times)
    ]


def test_five_failures_lock_that_name_from_that_address_only(cast):
    attacker = Client(REMOTE_ADDR="10.0.0.1")
    assert fail_password(attacker, cast.partner_a.username, 5) == [200, 200, 200, 200, 429]

    refused = password_step(attacker, cast.partner_a)
    assert refused.status_code == 429
    assert not is_logged_in(attacker)

    victim = Client(REMOTE_ADDR="10.0.0.2")
    response = password_step(victim, cast.partner_a)
    assert response.status_code == 302
    assert is_logged_in(victim)


def test_lockout_on_one_name_does_not_block_other_names_from_that_address(cast):
    shared = Client(REMOTE_ADDR="10.0.0.1")
    fail_password(shared, cast.partner_a.username, 5)
    assert password_step(shared, cast.partner_b).status_code == 302
    assert is_logged_in(shared)


def test_staff_victim_still_logs_in_from_elsewhere(cast):
    device = enrol(cast.therapist_a)
    fail_password(Client(REMOTE_ADDR="10.0.0.1"), cast.therapist_a.username, 5)
    victim = Client(REMOTE_ADDR="10.0.0.2")
    assert password_step(victim, cast.therapist_a)["Location"] == VERIFY
    assert victim.post(VERIFY, {"code": code_for(device)}).status_code == 302
    assert is_logged_in(victim)


def test_lockout_ends_after_the_cool_off(cast):
    with time_machine.travel(dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        attacker = Client(REMOTE_ADDR="10.0.0.1")
        fail_password(attacker, cast.partner_a.username, 5)
        traveller.shift(dt.timedelta(minutes=10))
        assert password_step(attacker, cast.partner_a).status_code == 429
        traveller.shift(dt.timedelta(minutes=16))
        assert password_step(attacker, cast.partner_a).status_code == 302


def _normalise(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_lockout_page_is_the_same_for_existing_and_unknown_names(cast):
    existing = Client(REMOTE_ADDR="10.0.0.1")
    unknown = Client(REMOTE_ADDR="10.0.0.1")
    fail_password(existing, cast.therapist_a.username, 5)
    fail_password(unknown, "no.such.person", 5)
    page_existing = existing.post(LOGIN, {"username": cast.therapist_a.username, "password": PASSWORD})
    page_unknown = unknown.post(LOGIN, {"username": "no.such.person", "password": PASSWORD})
    assert page_existing.status_code == page_unknown.status_code == 429
    assert "accounts/locked_out.html" in [t.name for t in page_existing.templates]
    assert _normalise(page_existing.content.decode()) == _normalise(page_unknown.content.decode())
    assert "too many unsuccessful attempts" in page_existing.content.decode()
    assert cast.therapist_a.username not in page_existing.content.decode()


def test_lockout_is_audited_without_the_name(cast):
    attacker = Client(REMOTE_ADDR="10.0.0.1")
    fail_password(attacker, cast.partner_a.username, 5)
    event = AuditEvent.objects.filter(action="auth.locked_out").latest("seq")
    assert event.actor_id is None
    assert event.detail == {"username_hash": services.username_hash(cast.partner_a.username)}
    assert str(event.ip) == "10.0.0.1"
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 5
    password_step(attacker, cast.partner_a)
    # A refused attempt during the lock-out is a failed log-in as well as a lock-out event.
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 6
    assert AuditEvent.objects.filter(action="auth.locked_out").count() == 2
    assert "not-the-password" not in "".join(AccessAttempt.objects.values_list("post_data", flat=True))


def test_wrong_second_factor_codes_count_towards_the_lockout(cast):
    device = enrol(cast.therapist_a)
    attacker = Client(REMOTE_ADDR="10.0.0.1")
    statuses = []
    with time_machine.travel(dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        password_step(attacker, cast.therapist_a)
        for _ in range(5):
            # Past django-otp's own short back-off, so each wrong code is really checked.
            traveller.shift(dt.timedelta(seconds=20))
            statuses.append(attacker.post(VERIFY, {"code": "000000"}).status_code)
        assert statuses == [200, 200, 200, 200, 429]
        assert services.PENDING_LOGIN_KEY not in attacker.session

        # Even password and a correct code are refused from that address now.
        traveller.shift(dt.timedelta(seconds=31))
        assert password_step(attacker, cast.therapist_a).status_code == 429
        assert not is_logged_in(attacker)

        elsewhere = Client(REMOTE_ADDR="10.0.0.2")
        password_step(elsewhere, cast.therapist_a)
        assert elsewhere.post(VERIFY, {"code": code_for(device)}).status_code == 302
        assert is_logged_in(elsewhere)


def test_locked_pending_login_cannot_continue_with_a_good_code(cast):
    device = enrol(cast.therapist_a)
    attacker = Client(REMOTE_ADDR="10.0.0.1")
    password_step(attacker, cast.therapist_a)
    # Lock the pair from a second browser at the same address while this one waits at the code step.
    fail_password(Client(REMOTE_ADDR="10.0.0.1"), cast.therapist_a.username, 5)
    response = attacker.post(VERIFY, {"code": code_for(device)})
    assert response.status_code == 429
    assert not is_logged_in(attacker)


def test_successful_login_resets_the_failure_count(cast):
    browser = Client(REMOTE_ADDR="10.0.0.1")
    fail_password(browser, cast.partner_a.username, 4)
    assert password_step(browser, cast.partner_a).status_code == 302
    browser.post("/accounts/logout/")
    assert fail_password(browser, cast.partner_a.username, 4) == [200, 200, 200, 200]
