"""The set-up admin: no log-in of its own, only verified directors with is_staff, accounts tables."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from tandem.accounts.admin import may_use_admin
from tandem.accounts.models import CoTherapyTeam, TherapistProfile, User
from tandem.audit.models import AuditEvent
from tandem.practice.models import PracticePolicy, TeamRule
from tandem.scheduling.admin import CoTherapyTeamForm
from tests.accounts_support import LOGIN, give_recovery_codes, is_logged_in
from tests.cast import login

NEW_PASSWORD = "quiet-meadow-copper-77"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mfa_on(settings):
    settings.TANDEM_STAFF_MFA_REQUIRED = True


@pytest.fixture
def director(cast):
    # Model permissions stay Django's: this director holds all of them as a superuser.
    cast.director.is_staff = True
    cast.director.is_superuser = True
    cast.director.save()
    return cast.director


def test_anonymous_admin_visit_ends_at_tandem_login(client):
    response = client.get("/setup/", follow=True)
    assert response.redirect_chain[-1][0] == f"{LOGIN}?next=/setup/"
    assert response.status_code == 200
    assert response.templates[0].name == "accounts/login.html"


def test_admin_login_url_redirects_and_never_shows_a_form(client):
    response = client.get("/setup/login/?next=/setup/accounts/user/")
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/setup/accounts/user/"
    assert client.post("/setup/login/", {"username": "x", "password": "y"})["Location"].startswith(LOGIN)


def test_admin_login_ignores_a_foreign_next(client):
    response = client.get("/setup/login/?next=https://evil.example/")
    assert response["Location"] == f"{LOGIN}?next=/setup/"


def test_verified_director_with_is_staff_gets_in(client, director):
    login(client, director)
    assert client.get("/setup/").status_code == 200
    assert client.get("/setup/login/?next=/setup/")["Location"] == "/setup/"


def test_director_without_is_staff_is_refused(client, cast):
    cast.director.is_superuser = True
    cast.director.save()
    login(client, cast.director)
    assert client.get("/setup/", follow=True).status_code == 403


def test_other_staff_with_is_staff_are_refused(client, cast):
    cast.therapist_a.is_staff = True
    cast.therapist_a.is_superuser = True
    cast.therapist_a.save()
    login(client, cast.therapist_a)
    assert client.get("/setup/", follow=True).status_code == 403
    assert client.get("/setup/accounts/user/", follow=True).status_code == 403


def _request_as(user, *, verified: bool):
    request = RequestFactory().get("/setup/")
    user.is_verified = lambda: verified
    request.user = user
    return request


def test_admin_requires_a_verified_session_when_mfa_is_on(director, settings):
    assert may_use_admin(_request_as(director, verified=True)) is True
    assert may_use_admin(_request_as(director, verified=False)) is False
    settings.TANDEM_STAFF_MFA_REQUIRED = False
    assert may_use_admin(_request_as(director, verified=False)) is True


def test_inactive_director_is_refused(director):
    director.is_active = False
    assert may_use_admin(_request_as(director, verified=True)) is False


def test_unverified_director_session_cannot_reach_admin(client, director):
    client.force_login(director)
    response = client.get("/setup/")
    assert response.status_code == 302
    assert not is_logged_in(client)


def test_accounts_models_are_registered_and_otp_secrets_are_not():
    registry = admin.site._registry
    assert {User, TherapistProfile, CoTherapyTeam} <= set(registry)
    assert TOTPDevice not in registry and StaticDevice not in registry
    inlines = [inline.model.__name__ for inline in registry[TherapistProfile].inlines]
    assert inlines == ["WorkingHours"]


def test_admin_pages_for_accounts_load(client, director, cast):
    login(client, director)
    assert client.get("/setup/accounts/user/").status_code == 200
    page = client.get(f"/setup/accounts/user/{cast.therapist_a.pk}/change/")
    assert page.status_code == 200
    assert 'name="role"' in page.content.decode()
    assert client.get("/setup/accounts/user/add/").status_code == 200
    profile = cast.therapist_a.therapist_profile
    assert client.get(f"/setup/accounts/therapistprofile/{profile.pk}/change/").status_code == 200
    assert client.get("/setup/accounts/cotherapyteam/add/").status_code == 200


def test_admin_setting_a_password_is_audited(client, director, cast):
    login(client, director)
    response = client.post(
        f"/setup/accounts/user/{cast.partner_a.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    cast.partner_a.refresh_from_db()
    assert cast.partner_a.check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(action="auth.password_changed")
    assert event.actor_id == director.pk and event.target_id == str(cast.partner_a.pk)
    assert event.detail == {"by": "admin"}


def test_admin_can_reset_a_lost_second_factor(client, director, cast):
    login(client, director)
    TOTPDevice.objects.create(user=cast.therapist_a, confirmed=True)
    give_recovery_codes(cast.therapist_a, ["aaaaaaaa"])
    response = client.post(
        "/setup/accounts/user/",
        {"action": "reset_second_factor", "_selected_action": [cast.therapist_a.pk]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=cast.therapist_a).exists()
    assert not StaticDevice.objects.filter(user=cast.therapist_a).exists()
    assert AuditEvent.objects.get(action="auth.mfa_reset").target_id == str(cast.therapist_a.pk)


def test_admin_logout_goes_through_tandem_logout(client, director):
    login(client, director)
    response = client.post("/setup/logout/")
    assert response["Location"] == LOGIN
    assert not is_logged_in(client)
    assert AuditEvent.objects.filter(action="auth.logout", actor=director).exists()


def test_admin_password_change_sends_to_security_page(client, director):
    login(client, director)
    assert client.get("/setup/password_change/")["Location"] == "/accounts/security/"


def _team(first, second) -> CoTherapyTeamForm:
    return CoTherapyTeamForm(data={"first": first.pk, "second": second.pk, "active": True})


def test_team_form_rules(cast):
    assert not _team(cast.therapist_b, cast.therapist_b).is_valid()
    assert not _team(cast.cotherapist, cast.therapist_a).is_valid()  # the existing pair, reversed
    assert not _team(cast.therapist_b, cast.partner_a).is_valid()
    # Theo and Colin are both male: refused under the default mixed-gender rule, by the one rule check.
    same = _team(cast.therapist_b, cast.cotherapist)
    assert not same.is_valid()
    assert "one female and one male therapist" in str(same.errors) and "Theo Other" in str(same.errors)
    mixed = _team(cast.therapist_a, cast.therapist_b)
    assert mixed.is_valid(), mixed.errors
    PracticePolicy.objects.create(team_rule=TeamRule.ANY_PAIR)
    good = _team(cast.therapist_b, cast.cotherapist)
    assert good.is_valid(), good.errors
