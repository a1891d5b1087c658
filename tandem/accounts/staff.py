"""Staff accounts made by the director: invitations, set-up links after a lost factor, working hours.

A staff member's password and second factor are set together, through a single-use e-mailed link
(the approach of the clients' portal invitations, sharing `tandem.lib.tokens`). Knowing a password never
lets anyone enrol an authenticator: the log-in refuses staff who have none (see accounts.views).
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from tandem.accounts import services
from tandem.accounts.models import (
    STAFF_ROLES,
    Gender,
    Role,
    StaffInvitation,
    StaffLinkPurpose,
    TherapistProfile,
    User,
)
from tandem.audit.actors import STAFF_COMMAND, SystemActor
from tandem.audit.services import audit_record
from tandem.lib.roles import require_director
from tandem.lib.tokens import link_token_hash, new_link_token

STAFF_LINK_DAYS = 3
_NAMESPACE = "tandem.accounts.staff_link"
USED = "This link has been used already. Log in with your user name and password."


class StaffLinkInvalid(Exception):
    """The link cannot be used (unknown, used, expired, replaced); the message is fit to show."""


class SetupRefused(Exception):
    """The staff member's answers on the set-up page were refused; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SentStaffLink:
    invitation: StaffInvitation
    link: str


@dataclass(frozen=True)
class AcceptedStaffLink:
    user: User
    device: TOTPDevice | None
    recovery_codes: list[str]


def _send(*, invitation: StaffInvitation, link: str) -> None:
    user = invitation.user
    context = {
        "link": link,
        "expires_at": timezone.localtime(invitation.expires_at),
        "practice": settings.PRACTICE_NAME,
        "first_name": user.first_name,
        "username": user.username,
        "purpose": invitation.purpose,
        "mfa": settings.TANDEM_STAFF_MFA_REQUIRED,
    }
    subject = render_to_string("accounts/email/staff_link_subject.txt", context).strip()
    send_mail(subject, render_to_string("accounts/email/staff_link.txt", context), None, [invitation.email])


def _issue_link(
    *, actor: User | SystemActor, user: User, purpose: str, link_for: Any, mail: bool = True
) -> SentStaffLink:
    # Inside the caller's transaction: earlier unused links of this person stop working.
    token = new_link_token()
    now = timezone.now()
    StaffInvitation.objects.filter(user=user, used_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=now
    )
    invitation = StaffInvitation.objects.create(
        user=user,
        purpose=purpose,
        email=user.email or "",
        token_hash=link_token_hash(_NAMESPACE, token),
        created_by=actor if isinstance(actor, User) else None,
        created_at=now,
        expires_at=now + dt.timedelta(days=STAFF_LINK_DAYS),
    )
    link = link_for(token)
    if mail:
        transaction.on_commit(lambda: _send(invitation=invitation, link=link))
    return SentStaffLink(invitation, link)


def _clean_invite(*, first_name: str, last_name: str, email: str, role: str, gender: str) -> str:
    if not first_name.strip() or not last_name.strip():
        raise ValidationError("Give the new staff member's first and last name.")
    if role not in STAFF_ROLES:
        raise ValidationError("Choose a staff role: director, therapist or coordinator.")
    email = email.strip().lower()
    if not email:
        raise ValidationError("Give the e-mail address the link goes to.")
    if (
        User.objects.filter(email__iexact=email).exists()
        or User.objects.filter(username__iexact=email).exists()
    ):
        raise ValidationError("That e-mail address already belongs to an account.")
    if role == Role.THERAPIST and gender not in Gender.values:
        raise ValidationError("Give the therapist's gender: the co-therapy team rule reads it.")
    return email


def staff_invite(
    *,
    actor: User,
    first_name: str,
    last_name: str,
    email: str,
    role: str,
    link_for: Any,
    gender: str = "",
    credentials: str = "",
    licence_number: str = "",
) -> SentStaffLink:
    """Create a staff account without a usable password and e-mail its one-time set-up link.

    `link_for(token)` turns the token into the absolute link (the view knows the host).
    """
    require_director(actor)
    email = _clean_invite(first_name=first_name, last_name=last_name, email=email, role=role, gender=gender)
    with transaction.atomic():
        # is_staff: a director may also use the raw admin at /setup/.
        user = User(
            username=email,
            email=email,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            role=role,
            is_staff=role == Role.DIRECTOR,
        )
        user.set_unusable_password()
        user.save()
        if role == Role.THERAPIST:
            TherapistProfile.objects.create(
                user=user,
                gender=gender,
                credentials=credentials.strip(),
                licence_number=licence_number.strip(),
            )
        sent = _issue_link(actor=actor, user=user, purpose=StaffLinkPurpose.INVITATION, link_for=link_for)
        audit_record(actor=actor, action="staff.invite", target=user, detail={"role": role})
    return sent


def staff_reset_link(*, actor: User, user: User, link_for: Any) -> SentStaffLink:
    """After a lost phone or password: remove the second factor and e-mail a new set-up link."""
    require_director(actor)
    if not user.is_practice_staff:
        raise ValidationError(f"{user} is not an active staff member.")
    if not user.email:
        raise ValidationError(f"{user} has no e-mail address for the link.")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        sent = _issue_link(actor=actor, user=user, purpose=StaffLinkPurpose.RESET, link_for=link_for)
        audit_record(actor=actor, action="staff.reset_link", target=user, detail={})
    return sent


def staff_console_link(*, user: User, link_for: Any) -> SentStaffLink:
    """A set-up link for the `staff_link` command (the first director of a new installation), printed
    rather than e-mailed; audited as the staff command's, work done on the server."""
    if not user.is_practice_staff:
        raise ValidationError(f"{user} is not an active staff member.")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        sent = _issue_link(
            actor=STAFF_COMMAND, user=user, purpose=StaffLinkPurpose.RESET, link_for=link_for, mail=False
        )
        audit_record(actor=STAFF_COMMAND, action="staff.reset_link", target=user, detail={"by": "command"})
    return sent


def staff_first_director(*, first_name: str, last_name: str, email: str, link_for: Any) -> SentStaffLink:
    """The first clinical director of a new installation (from the `staff_link` command): refused once
    the practice has an active director, who then invites everyone else from the set-up pages."""
    if User.objects.filter(role=Role.DIRECTOR, is_active=True).exists():
        raise ValidationError(
            "The practice has a clinical director: they invite staff from the set-up pages."
        )
    email = _clean_invite(
        first_name=first_name, last_name=last_name, email=email, role=Role.DIRECTOR, gender=""
    )
    with transaction.atomic():
        # is_staff: the director may also use the raw admin at /setup/.
        user = User(
            username=email,
            email=email,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            role=Role.DIRECTOR,
            is_staff=True,
        )
        user.set_unusable_password()
        user.save()
        sent = _issue_link(
            actor=STAFF_COMMAND, user=user, purpose=StaffLinkPurpose.INVITATION, link_for=link_for, mail=False
        )
        audit_record(
            actor=STAFF_COMMAND,
            action="staff.invite",
            target=user,
            detail={"role": Role.DIRECTOR, "by": "command"},
        )
    return sent


def staff_link_by_token(token: str) -> StaffInvitation:
    """The link's row if it can still be used; otherwise StaffLinkInvalid saying why."""
    invitation = (
        StaffInvitation.objects.select_related("user")
        .filter(token_hash=link_token_hash(_NAMESPACE, token))
        .first()
    )
    if invitation is None:
        raise StaffLinkInvalid("This link is not valid. Check that you copied the whole link.")
    if invitation.used_at is not None:
        raise StaffLinkInvalid(USED)
    if invitation.revoked_at is not None:
        raise StaffLinkInvalid("This link was replaced by a newer one. Use the link in the latest e-mail.")
    if invitation.expires_at <= timezone.now() or not invitation.user.is_active:
        raise StaffLinkInvalid("This link has expired. Ask the clinical director for a new one.")
    return invitation


def staff_link_accept(*, token: str, password: str, totp_key: str, code: str) -> AcceptedStaffLink:
    """Set the password and (when staff need one) confirm the authenticator, all or nothing.

    The link stops working once used. A wrong code or a weak password changes nothing.
    """
    with transaction.atomic():
        found = staff_link_by_token(token)
        invitation = StaffInvitation.objects.select_for_update().select_related("user").get(pk=found.pk)
        if invitation.used_at is not None:
            raise StaffLinkInvalid(USED)
        user = invitation.user
        try:
            validate_password(password, user)
        except ValidationError as problem:
            raise SetupRefused("new_password1", " ".join(problem.messages)) from problem
        device, codes = None, []
        if services.needs_second_factor(user):
            device = services.confirm_totp(user=user, key=totp_key, code=code)
            if device is None:
                raise SetupRefused("code", "That code did not work. Check the code and try again.")
            codes = services.regenerate_recovery_codes(user=user)
        user.set_password(password)
        user.save(update_fields=["password"])
        invitation.used_at = timezone.now()
        invitation.save(update_fields=["used_at"])
        audit_record(
            actor=user, action="staff.link_used", target=invitation, detail={"purpose": invitation.purpose}
        )
    return AcceptedStaffLink(user=user, device=device, recovery_codes=codes)
