"""Portal accounts by invitation: a single-use, expiring e-mailed link; the client sets their own password."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from tandem.access.services import AccessDenied, can_edit_case
from tandem.accounts.models import Role, User
from tandem.audit.services import audit_record
from tandem.cases.models import Case, Client
from tandem.lib.errors import Refusal
from tandem.lib.tokens import link_token_hash, new_link_token
from tandem.notify.mail import email_queue, message
from tandem.notify.models import Job, JobKind
from tandem.portal.models import Invitation

INVITATION_DAYS = 7
USED = "This link has been used already. Log in with your e-mail address and password."


class InvitationInvalid(Exception):
    """The link cannot be used (unknown, used, expired, replaced); the message is fit to show."""


def token_hash(token: str) -> str:
    return link_token_hash("tandem.portal.invitation", token)


@dataclass(frozen=True)
class SentInvitation:
    invitation: Invitation
    link: str


def client_invite(*, actor: User, case: Case, client: Client, link_for: Any) -> SentInvitation:
    """E-mail one partner a link to set up their portal account; any earlier unused link stops working.

    `link_for(token)` turns the token into the absolute link (the view knows the host).
    """
    if not can_edit_case(actor, case):
        raise AccessDenied("You cannot invite the clients of this case.")
    if client.pk not in (case.partner_a_id, case.partner_b_id):
        raise Refusal("That person is not a partner in this case.")
    if client.user_id is not None:
        raise Refusal(f"{client.full_name} already has a portal account.")
    email = (client.email or "").strip().lower()
    if not email:
        raise Refusal(f"Add an e-mail address for {client.full_name} first.")
    # Whether the address already has an account is not checked here: the worker tells the address's
    # owner (and nobody else) when it does, and invitation_accept refuses it.
    token = new_link_token()
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(client=client, used_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=now
        )
        invitation = Invitation.objects.create(
            client=client,
            case=case,
            email=email,
            token_hash=token_hash(token),
            created_by=actor,
            created_at=now,
            expires_at=now + dt.timedelta(days=INVITATION_DAYS),
        )
        audit_record(
            actor=actor, action="portal.invite", target=invitation, case=case, detail={"client": client.pk}
        )
        link = link_for(token)
        # Queued in the same transaction: a rolled-back invite sends nothing, and the worker sends it.
        email_queue(kind=JobKind.INVITATION, secret=link, object_id=invitation.pk)
    return SentInvitation(invitation, link)


def invitation_by_token(token: str) -> Invitation:
    """The invitation behind a link if it can still be used; otherwise InvitationInvalid saying why."""
    invitation = Invitation.objects.select_related("client").filter(token_hash=token_hash(token)).first()
    if invitation is None:
        raise InvitationInvalid("This link is not valid. Check that you copied the whole link.")
    if invitation.used_at is not None or invitation.client.user_id is not None:
        raise InvitationInvalid(USED)
    if invitation.revoked_at is not None:
        raise InvitationInvalid("This link was replaced by a newer one. Use the link in the latest e-mail.")
    if invitation.expires_at <= timezone.now():
        raise InvitationInvalid("This link has expired. Ask the practice to send you a new one.")
    return invitation


def new_portal_user(invitation: Invitation) -> User:
    """The account the invitation would create, unsaved (password validators compare against it)."""
    client = invitation.client
    return User(
        username=invitation.email,
        email=invitation.email,
        first_name=client.first_name,
        last_name=client.last_name,
        role=Role.CLIENT,
    )


def invitation_accept(*, token: str, password: str) -> User:
    """Create the client's own account with the password they chose; the link then stops working."""
    with transaction.atomic():
        found = invitation_by_token(token)
        # Locked and checked again: two tabs submitting the same link create one account.
        invitation = Invitation.objects.select_for_update().select_related("client").get(pk=found.pk)
        client = Client.objects.select_for_update().get(pk=invitation.client_id)
        if invitation.used_at is not None or client.user_id is not None:
            raise InvitationInvalid(USED)
        if (
            User.objects.filter(username__iexact=invitation.email).exists()
            or User.objects.filter(email__iexact=invitation.email).exists()
        ):
            raise InvitationInvalid("An account with this e-mail address exists. Contact the practice.")
        user = new_portal_user(invitation)
        validate_password(password, user)
        user.set_password(password)
        user.save()
        client.user = user
        client.save(update_fields=["user", "updated_at"])
        invitation.used_at = timezone.now()
        invitation.user = user
        invitation.save(update_fields=["used_at", "user"])
        audit_record(
            actor=user,
            action="portal.invitation_accepted",
            target=invitation,
            case=invitation.case_id,
            detail={"client": client.pk},
        )
    return user


def portal_read(*, user: User, page: str, case: Case | None = None, target: Model | None = None) -> None:
    """Record that a client looked at one of their portal pages: which page and record, never what it
    shows (the staff side records its reads with the same helper)."""
    audit_record(actor=user, action="portal.view", target=target or case, case=case, detail={"page": page})


def invitation_email(job: Job, now: dt.datetime) -> tuple[str, list[Any]]:
    """What a queued invitation says, decided when the worker sends it (registered with notify.mail)."""
    invitation = Invitation.objects.select_related("client").filter(pk=job.object_id or 0).first()
    if invitation is None or invitation.used_at is not None or invitation.revoked_at is not None:
        return "invitation used or replaced", []
    if invitation.expires_at <= now:
        return "invitation expired", []
    taken = User.objects.filter(email__iexact=invitation.email).exists()
    # Whether the address already has an account is told to its owner only, never to the sender.
    template = "portal/email/invitation_account_exists" if taken else "portal/email/invitation"
    context = {"link": job.secret or "", "expires_at": invitation.expires_at}
    return "", [message(job, 0, template=template, context=context, to=invitation.email)]
