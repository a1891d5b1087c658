"""Staff invitations and set-up links: single use, expiring, keyed hash, password and TOTP together."""

import datetime as dt
import re
from io import StringIO
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tandem.accounts import services, staff
from tandem.accounts.models import Gender, Role, StaffInvitation, TherapistProfile, User
from tandem.audit.models import AuditEvent
from tandem.lib.tokens import link_token_hash
from tests.accounts_support import LOGIN, code_for, csp_safe, enrol, is_logged_in, password_step
from tests.cast import login

NEW_PASSWORD = "copper-meadow-sundial-77"
SET_UP = "/accounts/welcome/set-up/"


@pytest.fixture(autouse=True)
def _mfa_on(settings):
    settings.TANDEM_STAFF_MFA_REQUIRED = True


def _link(token: str) -> str:
    return f"http://testserver/accounts/welcome/{token}/"


def _invite(cast, email="nina.new@staff.tandem.invalid"):
    with_commit = staff.staff_invite(
        actor=cast.director,
        first_name="Nina",
        last_name="Newcomer",
        email=email,
        role=Role.THERAPIST,
        gender=Gender.FEMALE,
        credentials="MSc",
        licence_number="LIC-0001",
        link_for=_link,
    )
    return with_commit


def _path(link: str) -> str:
    return link.removeprefix("http://testserver")


def _open(client: Client, link: str):
    first = client.get(_path(link))
    assert first["Location"] == SET_UP  # the token leaves the address bar at once
    return client.get(SET_UP)


def test_director_invites_and_the_link_is_mailed_once_stored_as_a_keyed_hash(
    cast, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sent = _invite(cast)
    user = User.objects.get(email="nina.new@staff.tandem.invalid")
    assert user.role == Role.THERAPIST and not user.has_usable_password()
    assert TherapistProfile.objects.get(user=user).gender == Gender.FEMALE
    token = sent.link.rstrip("/").rsplit("/", 1)[1]
    invitation = StaffInvitation.objects.get(user=user)
    assert invitation.token_hash == link_token_hash("tandem.accounts.staff_link", token) != token
    assert token not in str(list(StaffInvitation.objects.values()))
    assert len(mail.outbox) == 1 and sent.link in mail.outbox[0].body
    assert mail.outbox[0].to == ["nina.new@staff.tandem.invalid"]
    event = AuditEvent.objects.get(action="staff.invite")
    assert event.actor_id == cast.director.pk and token not in str(event.detail)


def test_only_the_director_invites(cast):
    with pytest.raises(PermissionDenied):
        staff.staff_invite(
            actor=cast.coordinator,
            first_name="X",
            last_name="Y",
            email="x@y.invalid",
            role=Role.COORDINATOR,
            link_for=_link,
        )
    assert not User.objects.filter(email="x@y.invalid").exists()


def test_invite_page_refuses_a_taken_address_and_a_therapist_without_gender(cast):
    client = login(Client(), cast.director)
    url = reverse("setup:staff")
    data = {
        "action": "invite",
        "first_name": "Nina",
        "last_name": "N",
        "email": cast.coordinator.email,
        "role": "coordinator",
    }
    assert "already belongs to an account" in client.post(url, data).content.decode()
    data = {**data, "email": "nina@staff.tandem.invalid", "role": "therapist"}
    refused = client.post(url, data)
    assert refused.status_code == 400 and "gender" in refused.content.decode()
    assert not User.objects.filter(email="nina@staff.tandem.invalid").exists()
    assert client.post(url, {**data, "gender": "female"}).status_code == 302
    assert User.objects.filter(email="nina@staff.tandem.invalid").exists()


def test_link_sets_password_and_authenticator_together_then_logs_in(cast):
    sent = _invite(cast)
    client = Client()
    page = _open(client, sent.link)
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html and csp_safe(html)
    key = client.session[services.SETUP_KEY]["key"]
    code = code_for(TOTPDevice(key=key))
    done = client.post(SET_UP, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD, "code": code})
    assert done["Location"] == reverse("accounts:recovery_codes")
    user = sent.invitation.user
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id and is_logged_in(client)
    assert StaticToken.objects.filter(device__user=user).count() == 10
    assert client.get(reverse("accounts:recovery_codes")).status_code == 200
    assert {"auth.mfa_enrolled", "staff.link_used", "auth.login"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )
    # The code typed to confirm cannot be replayed to log in.
    other = Client()
    password_step(other, user, password=NEW_PASSWORD)
    assert other.post("/accounts/login/verify/", {"code": code}).status_code == 200
    assert not is_logged_in(other)


def test_link_works_once(cast):
    sent = _invite(cast)
    client = Client()
    _open(client, sent.link)
    code = code_for(TOTPDevice(key=client.session[services.SETUP_KEY]["key"]))
    client.post(SET_UP, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD, "code": code})
    again = Client().get(_path(sent.link))
    assert again.status_code == 410 and "used already" in again.content.decode()


def test_password_without_the_code_changes_nothing(cast):
    sent = _invite(cast)
    client = Client()
    _open(client, sent.link)
    key = client.session[services.SETUP_KEY]["key"]
    right = code_for(TOTPDevice(key=key))
    wrong = "123456" if right != "123456" else "654321"
    for code in ("", wrong):
        page = client.post(
            SET_UP, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD, "code": code}
        )
        assert page.status_code == 200 and not is_logged_in(client)
    user = User.objects.get(pk=sent.invitation.user_id)
    assert not user.has_usable_password()
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert StaffInvitation.objects.get(pk=sent.invitation.pk).used_at is None
    weak = client.post(SET_UP, {"new_password1": "short", "new_password2": "short", "code": right})
    assert weak.status_code == 200 and not TOTPDevice.objects.filter(user=user).exists()


def test_link_expires_and_a_newer_one_replaces_it(cast):
    with time_machine.travel(dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        first = _invite(cast)
        second = staff.staff_reset_link(actor=cast.director, user=first.invitation.user, link_for=_link)
        replaced = Client().get(_path(first.link))
        assert replaced.status_code == 410 and "replaced" in replaced.content.decode()
        traveller.shift(dt.timedelta(days=staff.STAFF_LINK_DAYS, seconds=1))
        expired = Client().get(_path(second.link))
        assert expired.status_code == 410 and "expired" in expired.content.decode()
    assert Client().get("/accounts/welcome/not-a-real-token/").status_code == 410
    assert Client().get(SET_UP).status_code == 410


def test_director_reset_link_replaces_a_lost_authenticator(cast):
    old = enrol(cast.therapist_a)
    client = login(Client(), cast.director)
    page = client.post(reverse("setup:staff"), {"action": "reset", "pk": cast.therapist_a.pk})
    assert page.status_code == 302
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()
    assert AuditEvent.objects.filter(action="staff.reset_link", target_id=str(cast.therapist_a.pk)).exists()
    # Without the link, the password no longer gets anyone in, nor to an enrolment page.
    other = Client()
    assert password_step(other, cast.therapist_a)["Location"] == LOGIN
    assert not is_logged_in(other)


def test_with_the_switch_off_the_link_sets_a_password_only(cast, settings):
    settings.TANDEM_STAFF_MFA_REQUIRED = False
    sent = _invite(cast)
    client = Client()
    page = _open(client, sent.link)
    assert "<svg" not in page.content.decode()
    done = client.post(SET_UP, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == "/"
    assert is_logged_in(client)
    assert not TOTPDevice.objects.filter(user=sent.invitation.user).exists()


def test_the_email_names_no_secret_but_the_link(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sent = _invite(cast)
    body = mail.outbox[0].body
    assert re.findall(r"https?://\S+", body) == [sent.link]
    assert "LIC-0001" not in body


def test_the_first_director_gets_in_through_a_printed_link(cast, django_capture_on_commit_callbacks):
    """A new installation: `createsuperuser` leaves a director whom a password alone cannot enrol."""
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("staff_link", cast.director.username, stdout=out)
    link = out.getvalue().strip().splitlines()[-1]
    assert "/accounts/welcome/" in link and not mail.outbox  # printed, not e-mailed
    client = Client()
    assert client.get(urlsplit(link).path)["Location"] == SET_UP
    assert client.get(SET_UP).status_code == 200
    key = client.session[services.SETUP_KEY]["key"]
    data = {
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
        "code": code_for(TOTPDevice(key=key)),
    }
    assert client.post(SET_UP, data).status_code == 302
    assert is_logged_in(client)
    assert AuditEvent.objects.get(action="staff.reset_link").detail == {"by": "command"}
    with pytest.raises(CommandError):
        call_command("staff_link", cast.partner_a.username, stdout=StringIO())


def test_a_new_installation_creates_its_first_director_from_the_command(db):
    out = StringIO()
    call_command(
        "staff_link",
        "dee@staff.tandem.invalid",
        "--new-director",
        "--first-name",
        "Dee",
        "--last-name",
        "Rector",
        stdout=out,
    )
    director = User.objects.get(email="dee@staff.tandem.invalid")
    assert director.role == Role.DIRECTOR and not director.has_usable_password()
    assert "/accounts/welcome/" in out.getvalue()
    with pytest.raises(CommandError, match="has a clinical director"):
        call_command(
            "staff_link",
            "other@staff.tandem.invalid",
            "--new-director",
            "--first-name",
            "O",
            "--last-name",
            "P",
        )
    assert User.objects.count() == 1
