"""Portal invitations: staff e-mail a single-use, expiring link; the client chooses their own password."""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.template import Context, Template
from django.test import Client as HttpClient
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from tandem.access.services import AccessDenied
from tandem.accounts.models import Role, User
from tandem.audit.models import AuditEvent
from tandem.cases.models import Client
from tandem.lib.errors import Refusal
from tandem.portal.models import Invitation
from tandem.portal.services import client_invite, invitation_accept, token_hash
from tests.cast import login
from tests.notify_support import deliver

GOOD_PASSWORD = "quiet-meadow-copper-87"


@pytest.fixture
def newcomer(cast) -> Client:
    """Partner A of the solo case gets an e-mail address and no account yet."""
    client = cast.solo_case.partner_a
    client.email = "sam.solo@example.invalid"
    client.save()
    return client


def _invite(cast, newcomer, django_capture_on_commit_callbacks) -> str:
    """Send the invitation from the case page, as the front desk does, and return the link's path."""
    http = login(HttpClient(), cast.coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = http.post(
            reverse("portal:invite", kwargs={"case_id": cast.solo_case.pk, "client_id": newcomer.pk})
        )
    assert response.status_code == 302
    message = deliver()[-1]
    assert message.to == ["sam.solo@example.invalid"]
    found = re.search(r"https?://\S+", str(message.body))
    assert found is not None
    return found.group(0).split("testserver", 1)[1]


def test_invitation_email_has_a_link_and_no_clinical_detail(
    cast, newcomer, django_capture_on_commit_callbacks
):
    path = _invite(cast, newcomer, django_capture_on_commit_callbacks)
    body = f"{mail.outbox[-1].subject} {mail.outbox[-1].body}"
    # The link's random token may spell anything ("…0samf…" once did): read the words around it.
    words = body.replace(path, "/").lower()
    assert path in body
    for word in ("Sam", "Solo", "therap", "sex", "T-0002"):
        assert word.lower() not in words
    token = path.rstrip("/").rsplit("/", 1)[1]
    stored = Invitation.objects.get()
    assert stored.token_hash == token_hash(token) and token not in stored.token_hash
    assert AuditEvent.objects.filter(action="portal.invite").exists()


SET_PASSWORD = "/portal/welcome/set-password/"


def _open(client, path: str) -> str:
    """Follow the e-mailed link: the token moves into the session and the address loses it."""
    response = client.get(path)
    assert response.status_code == 302 and response["Location"] == SET_PASSWORD
    return SET_PASSWORD


def test_link_works_once(client, cast, newcomer, django_capture_on_commit_callbacks):
    path = _invite(cast, newcomer, django_capture_on_commit_callbacks)
    form_path = _open(client, path)
    page = client.get(form_path)
    assert page.status_code == 200 and "sam.solo@example.invalid" in page.content.decode()
    response = client.post(form_path, {"new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    newcomer.refresh_from_db()
    user = newcomer.user
    assert client.get(reverse("portal:home")).status_code == 200
    assert user.role == Role.CLIENT and user.check_password(GOOD_PASSWORD)
    assert user.username == "sam.solo@example.invalid"
    again = client.post(
        path, {"new_password1": "another-" + GOOD_PASSWORD, "new_password2": "another-" + GOOD_PASSWORD}
    )
    assert again.status_code == 410 and "used already" in again.content.decode()
    retry = client.post(
        form_path, {"new_password1": "another-" + GOOD_PASSWORD, "new_password2": "another-" + GOOD_PASSWORD}
    )
    assert retry.status_code == 410 and "Open the link in your e-mail again" in retry.content.decode()
    user.refresh_from_db()
    assert user.check_password(GOOD_PASSWORD) and User.objects.filter(role=Role.CLIENT).count() == 3


def test_link_expires_after_seven_days(client, cast, newcomer, django_capture_on_commit_callbacks):
    path = _invite(cast, newcomer, django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now() + dt.timedelta(days=6, hours=23)):
        assert client.get(_open(client, path)).status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(days=7, minutes=1)):
        # Opened in time, submitted too late (the session has long ended too); the link no longer opens.
        response = client.post(SET_PASSWORD, {"new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD})
        assert response.status_code == 410
        response = client.get(path)
        assert response.status_code == 410 and "expired" in response.content.decode()
    newcomer.refresh_from_db()
    assert newcomer.user is None


def test_a_new_link_replaces_the_old_one(client, cast, newcomer, django_capture_on_commit_callbacks):
    old = _invite(cast, newcomer, django_capture_on_commit_callbacks)
    new = _invite(cast, newcomer, django_capture_on_commit_callbacks)
    assert "replaced" in client.get(old).content.decode()
    assert client.get(_open(client, new)).status_code == 200


def test_weak_or_mismatched_passwords_are_refused_with_reasons(
    client, cast, newcomer, django_capture_on_commit_callbacks
):
    path = _open(client, _invite(cast, newcomer, django_capture_on_commit_callbacks))
    short = client.post(path, {"new_password1": "short", "new_password2": "short"})
    assert short.status_code == 400 and "too short" in short.content.decode()
    differ = client.post(path, {"new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD + "x"})
    assert "The two passwords differ." in differ.content.decode()
    newcomer.refresh_from_db()
    assert newcomer.user is None and Invitation.objects.get().used_at is None


def test_unknown_token_changes_nothing(client, cast):
    response = client.get(reverse("portal:accept", kwargs={"token": "not-a-real-token"}))
    assert response.status_code == 410 and "not valid" in response.content.decode()
    assert "_portal_invitation_token" not in client.session


def test_the_password_page_has_no_token_in_its_address(
    client, cast, newcomer, django_capture_on_commit_callbacks
):
    path = _invite(cast, newcomer, django_capture_on_commit_callbacks)
    token = path.rstrip("/").rsplit("/", 1)[1]
    page = client.get(path, follow=True)
    assert page.redirect_chain == [(SET_PASSWORD, 302)] and token not in page.content.decode()
    # Without the session (another browser) the token-less page cannot be used.
    other = HttpClient()
    response = other.post(SET_PASSWORD, {"new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD})
    assert response.status_code == 410
    newcomer.refresh_from_db()
    assert newcomer.user is None


def test_service_refusals(cast, newcomer):
    link = lambda token: f"https://clinic.invalid/{token}"  # noqa: E731
    with pytest.raises(AccessDenied):
        client_invite(actor=cast.therapist_b, case=cast.solo_case, client=newcomer, link_for=link)
    with pytest.raises(Refusal, match="already has a portal account"):
        client_invite(
            actor=cast.director, case=cast.couple_case, client=cast.couple_case.partner_a, link_for=link
        )
    with pytest.raises(Refusal, match="not a partner"):
        client_invite(
            actor=cast.director, case=cast.solo_case, client=cast.couple_case.partner_a, link_for=link
        )
    newcomer.email = ""
    newcomer.save()
    with pytest.raises(Refusal, match="e-mail address"):
        client_invite(actor=cast.director, case=cast.solo_case, client=newcomer, link_for=link)
    assert not Invitation.objects.exists()


def test_accept_through_the_service_then_log_in_with_password_only(client, cast, newcomer):
    sent = client_invite(actor=cast.therapist_a, case=cast.solo_case, client=newcomer, link_for=lambda t: t)
    user = invitation_accept(token=sent.link, password=GOOD_PASSWORD)
    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": GOOD_PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert client.get("/portal/").status_code == 200


@pytest.mark.parametrize("role", ["therapist_b", "partner_a"])
def test_outsiders_cannot_invite(client, cast, newcomer, role):
    login(client, getattr(cast, role))
    response = client.post(
        reverse("portal:invite", kwargs={"case_id": cast.solo_case.pk, "client_id": newcomer.pk})
    )
    assert response.status_code == 404 and not Invitation.objects.exists()


def test_case_page_fragment_offers_invitations_to_those_who_may_edit(cast, newcomer):
    def render(user) -> str:
        request = RequestFactory().get("/")
        request.user = user
        return Template("{% load portal %}{% portal_access case %}").render(
            Context({"request": request, "case": cast.solo_case})
        )

    assert "Invite Sam" in render(cast.coordinator)
    assert render(cast.therapist_b).strip() == ""
