"""Secure messages: each partner has their own conversation with the clinicians, invisible to the other."""

import pytest
from django.core import mail
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from tandem.access.services import AccessDenied
from tandem.audit.models import AuditEvent
from tandem.notify.models import Job, JobKind
from tandem.notify.services import run_once
from tandem.portal.messaging import conversation_read, message_send
from tandem.portal.models import Message
from tests.cast import login


def _client_url(case) -> str:
    return reverse("portal:messages", kwargs={"case_id": case.pk})


def _staff_url(case, client) -> str:
    return reverse("portal:staff_messages", kwargs={"case_id": case.pk, "client_id": client.pk})


@pytest.fixture
def b_wrote(cast) -> Message:
    return message_send(
        actor=cast.partner_b,
        case=cast.couple_case,
        client=cast.couple_case.partner_b,
        body="B-SECRET-MESSAGE",
    )


def test_partner_writes_and_the_therapist_answers(client, cast):
    case = cast.couple_case
    login(client, cast.partner_a)
    assert client.get("/portal/").status_code == 200
    response = client.post(_client_url(case), {"body": "Can we move the focus to communication?"})
    assert response.status_code == 302
    message = Message.objects.get()
    assert (message.client, message.from_client, message.read_at) == (case.partner_a, True, None)
    event = AuditEvent.objects.get(action="message.send")
    assert "communication" not in str(event.detail)  # the audit trail never holds the text

    login(client, cast.therapist_a)
    page = client.get(_staff_url(case, case.partner_a)).content.decode()
    assert "Can we move the focus to communication?" in page
    message.refresh_from_db()
    assert message.read_at is not None
    assert (
        client.post(_staff_url(case, case.partner_a), {"body": "Yes, let us talk on Tuesday."}).status_code
        == 302
    )

    login(client, cast.partner_a)
    home = client.get("/portal/").content.decode()
    assert "You have 1 new message" in home
    assert "let us talk on Tuesday" in client.get(_client_url(case)).content.decode()


def test_partner_never_sees_the_others_conversation(client, cast, b_wrote):
    case = cast.couple_case
    login(client, cast.partner_a)
    assert "B-SECRET-MESSAGE" not in client.get(_client_url(case)).content.decode()
    # Guessing the staff URL of the partner's conversation: clients never reach staff pages.
    assert client.get(_staff_url(case, case.partner_b)).status_code == 404
    assert client.post(_staff_url(case, case.partner_b), {"body": "x"}).status_code == 404
    assert client.get(_client_url(cast.solo_case)).status_code == 404
    with pytest.raises(AccessDenied):
        message_send(actor=cast.partner_a, case=case, client=case.partner_b, body="pretending to be B")
    assert Message.objects.count() == 1


@pytest.mark.parametrize(("role", "status"), [("therapist_b", 404), ("coordinator", 404), ("director", 200)])
def test_staff_access_to_conversations(client, cast, b_wrote, role, status):
    login(client, getattr(cast, role))
    response = client.get(_staff_url(cast.couple_case, cast.couple_case.partner_b))
    assert response.status_code == status
    if status == 404:
        assert b"B-SECRET-MESSAGE" not in response.content


def test_staff_cannot_use_the_client_side_and_empty_messages_say_why(client, cast):
    login(client, cast.therapist_a)
    assert client.get(_client_url(cast.couple_case)).status_code == 404
    response = client.post(_staff_url(cast.couple_case, cast.couple_case.partner_a), {"body": "  "})
    assert response.status_code == 400 and "Write a message first." in response.content.decode()
    assert not Message.objects.exists()


def test_case_fragment_links_conversations_with_unread_counts(cast, b_wrote):
    def render(user) -> str:
        request = RequestFactory().get("/")
        request.user = user
        return Template("{% load portal %}{% case_messages case %}").render(
            Context({"request": request, "case": cast.couple_case})
        )

    shown = render(cast.therapist_a)
    assert "Conversation with Blair Partner" in shown and "1 unread" in shown
    assert render(cast.coordinator).strip() == ""


def test_client_gets_a_notice_without_the_text_unless_already_read(cast):
    case = cast.couple_case
    cast.partner_a.email = "alex@example.invalid"
    cast.partner_a.save()
    message_send(actor=cast.therapist_a, case=case, client=case.partner_a, body="HOW-DID-STAGE-ONE-GO")
    run_once(worker="w")
    assert [m.to for m in mail.outbox] == [["alex@example.invalid"]]
    assert "HOW-DID-STAGE-ONE-GO" not in mail.outbox[0].body and "/portal/" in mail.outbox[0].body
    # Read in the portal before the worker came round: no e-mail needed.
    message_send(actor=cast.therapist_a, case=case, client=case.partner_a, body="second")
    conversation_read(reader=cast.partner_a, case=case, client=case.partner_a)
    run_once(worker="w")
    assert len(mail.outbox) == 1


def test_a_notice_is_not_sent_once_its_message_is_read(client, cast):
    """The portal withdraws the notice when the client reads the message; the worker then skips it."""
    case = cast.couple_case
    message = message_send(actor=cast.therapist_a, case=case, client=case.partner_a, body="See you Tuesday.")
    job = Job.objects.get(kind=JobKind.MESSAGE_NOTICE, object_id=message.pk)
    assert job.skipped == "" and job.sent_at is None
    conversation_read(reader=cast.partner_a, case=case, client=case.partner_a)
    run_once(worker="test")
    job.refresh_from_db()
    assert (job.sent_at, job.skipped) == (None, "message already read")
