"""Secure messages between one client and the case's clinicians: sending, reading, and who may do which.

A conversation is (case, client): each partner has their own, and the other partner never sees it.
"""

from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from tandem.access.clinical import can_answer_messages
from tandem.access.services import AccessDenied, cases_visible_to
from tandem.accounts.models import Role, User
from tandem.audit.services import audit_record
from tandem.cases.models import Case, Client
from tandem.lib.errors import Refusal
from tandem.lib.remembered_queries import remembered_query
from tandem.notify.services import message_notice_schedule, message_notice_withdraw
from tandem.portal.models import Message

MAX_LENGTH = 5000


def message_send(*, actor: User, case: Case, client: Client, body: str) -> Message:
    """Add a message to a client's conversation: by the client themself, or by one of their clinicians."""
    body = body.strip()
    if not body:
        raise Refusal("Write a message first.")
    if len(body) > MAX_LENGTH:
        raise Refusal(f"A message is at most {MAX_LENGTH} characters.")
    if client.pk not in (case.partner_a_id, case.partner_b_id):
        raise Refusal("That person is not a client of this case.")
    from_client = actor.role == Role.CLIENT
    if from_client and (client.user_id is None or client.user_id != actor.pk):
        raise AccessDenied("You can only write in your own conversation.")
    if not from_client and not can_answer_messages(actor, case):
        raise AccessDenied("Only the case's therapists or the clinical director can answer.")
    with transaction.atomic():
        message = Message.objects.create(
            case=case, client=client, sender=actor, from_client=from_client, body=body, sent_at=timezone.now()
        )
        if not from_client:
            message_notice_schedule(user=client.user, message_id=message.pk, now=message.sent_at)
        # The audit trail records that a message was sent, never what it says.
        audit_record(
            actor=actor,
            action="message.send",
            target=message,
            case=case,
            detail={"client": client.pk, "from_client": from_client},
        )
    return message


def conversation_read(*, reader: User, case: Case, client: Client) -> list[Message]:
    """The conversation in order; the other side's unread messages are marked read by this look."""
    messages = list(Message.objects.filter(case=case, client=client).select_related("sender"))
    unread = [m.pk for m in messages if m.read_at is None and m.from_client != (reader.role == Role.CLIENT)]
    if unread:
        now = timezone.now()
        with transaction.atomic():  # read and no longer to be announced: both or neither
            Message.objects.filter(pk__in=unread).update(read_at=now)
            message_notice_withdraw(message_ids=unread)
        for m in messages:
            if m.pk in unread:
                m.read_at = now
    return messages


def client_conversations(*, user: Any) -> list[tuple[Case, Client]]:
    """Each case of this client with the client row that is theirs (normally one)."""
    if user.role != Role.CLIENT:
        return []
    result = []
    for case in cases_visible_to(user).with_people().order_by("-opened_on", "-id"):
        mine = next((c for c in case.partners if c.user_id == user.pk), None)
        if mine is not None:
            result.append((case, mine))
    return result


def client_conversation(*, user: Any, case_id: Any) -> tuple[Case, Client]:
    for case, client in client_conversations(user=user):
        if str(case.pk) == str(case_id):
            return case, client
    raise Http404("Not found")


def unread_for_client(*, user: Any) -> int:
    if user.role != Role.CLIENT:
        return 0
    return Message.objects.filter(client__user=user, from_client=False, read_at__isnull=True).count()


@remembered_query
def _unread_by_client(*, case_id: int) -> QuerySet[Message, Any]:
    # Read on every view of the case page: compiled once per worker (lib/remembered_queries.py).
    return (
        Message.objects.filter(case_id=case_id)
        .values("client_id")
        .annotate(unread=Count("id", filter=Q(from_client=True, read_at__isnull=True)))
        .order_by()
    )


def unread_by_client(*, case: Case) -> dict[int, int]:
    """Per partner of the case: messages from them the clinicians have not read yet."""
    return {r["client_id"]: r["unread"] for r in _unread_by_client.rows(case_id=case.pk)}
