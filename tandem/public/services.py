"""Writes from the public site (booking, cancelling and moving the free consultation; contact messages)
and the coordinators' handling of them.

The visitor's writes have no staff actor: the public site acts as its SystemActor, through the same services
as staff (pathway opens and closes the case), and is audited as "system:public-site". Each is one
transaction: the request, the client, the case and the appointment are written together or not at all.
"""

import datetime as dt
import secrets
import uuid
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from tandem.access.services import AccessDenied, can_use_inbox
from tandem.accounts.models import User
from tandem.audit.actors import PUBLIC_SITE
from tandem.audit.services import audit_record
from tandem.cases.models import AbsentPartner, Case, Phase
from tandem.cases.services import ClientDetails, case_add_partner
from tandem.lib.errors import Refusal
from tandem.lib.time import practice_zone
from tandem.notify.mail import email_queue, message
from tandem.notify.models import Job, JobKind
from tandem.pathway.services import case_open, case_transition
from tandem.portal.services import client_invite
from tandem.public.models import (
    OPEN_REQUEST_STATUSES,
    ConsultationRequest,
    ContactMessage,
    MessageStatus,
    RequestStatus,
)
from tandem.scheduling.models import Appointment, AppointmentStatus
from tandem.scheduling.services import (
    BookingConflict,
    BookingError,
    appointment_cancel,
    consultation_book,
    consultation_cancel,
)

LINK_SALT = "tandem.public.consultation-link"
LINK_MAX_AGE = dt.timedelta(days=30)
# What the visitor is told when the slot went to someone else: never who holds it.
TAKEN = "Sorry, that time has just been taken. Please choose another time."
_PG_LOCK_NAMESPACE = 0x7075_6200


class Refused(Exception):
    """The public site refused a request; the message is fit to show to the visitor."""


class LinkInvalid(Exception):
    """A cancel/reschedule link cannot be used (forged, changed, expired, used); the message says why."""


@dataclass(frozen=True)
class Visitor:
    """What a visitor gives us: a name and at least one way to reach them."""

    name: str
    email: str = ""
    phone: str = ""

    @property
    def phone_key(self) -> str:
        return phone_key(self.phone)


def phone_key(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def _require_inbox(actor: Any) -> None:
    if not can_use_inbox(actor):
        raise AccessDenied("Only the intake coordinator or the clinical director handles the inbox.")


# --- signed links ---------------------------------------------------------------------------------
def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=LINK_SALT)


def link_token(request: ConsultationRequest) -> str:
    return _signer().sign(f"{request.pk}.{request.link_nonce}")


def request_by_token(token: str, *, now: dt.datetime | None = None) -> ConsultationRequest:
    """The booking behind a cancel/reschedule link if it may still be changed; otherwise LinkInvalid."""
    now = now or timezone.now()
    try:
        value = _signer().unsign(token, max_age=LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise LinkInvalid(
            "This link has expired. Contact us if you need to change your consultation."
        ) from None
    except signing.BadSignature:
        raise LinkInvalid("This link is not valid. Check that you copied the whole link.") from None
    pk, _, nonce = value.partition(".")
    request = (
        ConsultationRequest.objects.select_related("therapist", "appointment").filter(pk=pk).first()
        if pk.isdigit()
        else None
    )
    if request is None:
        raise LinkInvalid("This link is not valid. Check that you copied the whole link.")
    if request.status == RequestStatus.CANCELLED:
        raise LinkInvalid("This consultation has been cancelled already, so the link no longer works.")
    if request.status not in OPEN_REQUEST_STATUSES:
        raise LinkInvalid("The practice has taken this consultation further. Contact us to change anything.")
    if not secrets.compare_digest(nonce, request.link_nonce):
        raise LinkInvalid("This link was replaced by a newer one. Use the link from your latest e-mail.")
    if request.starts_at <= now:
        raise LinkInvalid("This consultation has started or taken place, so the link no longer works.")
    return request


def link_expires_at(request: ConsultationRequest, *, now: dt.datetime | None = None) -> dt.datetime:
    return min(request.starts_at, (now or timezone.now()) + LINK_MAX_AGE)


# --- e-mail ---------------------------------------------------------------------------------------
def _absolute(path: str) -> str:
    # A view hands over a link already built from the request (the address actually served); without a
    # request (a worker, a command) the configured address is all there is.
    if urlsplit(path).scheme:
        return path
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def _send_confirmation(*, to: str, starts_at: dt.datetime, mode: str, link: str, moved: bool) -> None:
    # Time, format and the link only: never the reason, the therapist or anything clinical.
    context = {
        "practice": settings.PRACTICE_NAME,
        "starts_at": starts_at.astimezone(practice_zone()),
        "mode": mode,
        "link": link,
        "moved": moved,
    }
    subject = render_to_string("public/email/confirmation_subject.txt", context).strip()
    body = render_to_string("public/email/confirmation.txt", context)
    send_mail(subject, body, None, [to])


def _confirm_later(request: ConsultationRequest, *, manage_path: Any, moved: bool) -> None:
    if not request.email:
        return
    link = _absolute(manage_path(link_token(request)))
    to, starts_at, mode = request.email, request.starts_at, request.mode
    transaction.on_commit(
        lambda: _send_confirmation(to=to, starts_at=starts_at, mode=mode, link=link, moved=moved)
    )


# --- booking --------------------------------------------------------------------------------------
def _lock_contact(visitor: Visitor) -> None:
    """Two bookings for one contact at the same moment take turns, so the cap below cannot be raced."""
    if connection.vendor != "postgresql":
        return  # SQLite serialises every write transaction already
    for key in sorted(k for k in (visitor.email.lower(), visitor.phone_key) if k):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_PG_LOCK_NAMESPACE, zlib.crc32(key.encode()) - 2**31]
            )


def _same_contact(visitor: Visitor) -> Q:
    match = Q(pk__in=[])
    if visitor.email:
        match |= Q(email__iexact=visitor.email)
    if visitor.phone_key:
        match |= Q(phone_key=visitor.phone_key)
    return match


def _check_caps(visitor: Visitor, *, now: dt.datetime, this: ConsultationRequest) -> None:
    others = ConsultationRequest.objects.exclude(pk=this.pk)
    open_booked = others.filter(_same_contact(visitor), status__in=OPEN_REQUEST_STATUSES, starts_at__gt=now)
    if open_booked.exists():
        raise AlreadyBooked()
    recent = others.filter(created_at__gte=now - dt.timedelta(hours=1)).count()
    if recent >= settings.PUBLIC_CONSULTATIONS_PER_HOUR:
        raise Refused("Online booking is very busy just now. Please try again later, or contact us.")


def _split_name(name: str) -> tuple[str, str]:
    first, _, last = name.strip().rpartition(" ")
    return (first, last) if first else (last, "")


def _open_consultation_case(visitor: Visitor) -> Case:
    """The case a free consultation belongs to, opened by the public site through pathway's case_open.
    Whether a partner will join is not known yet: the coordinator records it later."""
    first_name, last_name = _split_name(visitor.name)
    return case_open(
        actor=PUBLIC_SITE,
        partner_a=ClientDetails(
            first_name=first_name, last_name=last_name, email=visitor.email.lower(), phone=visitor.phone
        ),
        partner_b=None,
        absent_partner=AbsentPartner.UNAVAILABLE,
        absent_partner_note="Not known yet: booked the free consultation online.",
        phase=Phase.CONSULTATION,
        reason="Booked online.",
    )


def consultation_request_book(
    *,
    visitor: Visitor,
    reason: str,
    therapist: User,
    starts_at: dt.datetime,
    mode: str,
    idempotency_key: uuid.UUID,
    manage_path: Any,
) -> ConsultationRequest:
    """Book a free consultation for a visitor: request, client, case and appointment in one transaction.

    The same form sent twice (same idempotency key) answers with the first booking; a slot someone else
    took in the meantime raises Refused and leaves nothing behind. `manage_path(token)` is the site path
    of the cancel/reschedule page (the view knows the URL).
    """
    existing = ConsultationRequest.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    now = timezone.now()
    try:
        with transaction.atomic():
            # First, so that a second copy of the same form waits here (PostgreSQL) and then fails.
            request = ConsultationRequest.objects.create(
                idempotency_key=idempotency_key,
                name=visitor.name,
                email=visitor.email.lower(),
                phone=visitor.phone,
                phone_key=visitor.phone_key,
                reason=reason,
                mode=mode,
                starts_at=starts_at,
                ends_at=starts_at,
                therapist=therapist,
                link_nonce=secrets.token_urlsafe(12),
            )
            _lock_contact(visitor)
            _check_caps(visitor, now=now, this=request)
            case = _open_consultation_case(visitor)
            appointment = consultation_book(
                actor=PUBLIC_SITE, case=case, therapist=therapist, starts_at=starts_at, mode=mode
            )
            request.case, request.appointment, request.ends_at = case, appointment, appointment.ends_at
            request.save(update_fields=["case", "appointment", "ends_at"])
            audit_record(
                actor=PUBLIC_SITE,
                action="consultation.book",
                target=request,
                case=case,
                detail={"appointment": appointment.pk, "mode": mode},
            )
            _confirm_later(request, manage_path=manage_path, moved=False)
    except IntegrityError:
        # The same form won a moment ago in another request: show that booking.
        existing = ConsultationRequest.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return existing
    except AlreadyBooked:
        _tell_the_address_owner(visitor)
        raise
    except BookingError as problem:
        existing = ConsultationRequest.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
        raise Refused(_visitor_message(problem)) from problem
    return request


class AlreadyBooked(Refused):
    """This contact has an open consultation. Told only to the address's owner, by e-mail: the visitor
    sees the same "received" page as any accepted request, so the form cannot be used to learn whether
    someone booked."""


def _tell_the_address_owner(visitor: Visitor) -> None:
    if visitor.email:
        with transaction.atomic():
            email_queue(kind=JobKind.CONSULTATION_DUPLICATE, secret=visitor.email.lower())


def duplicate_email(job: Job, now: dt.datetime) -> tuple[str, list[Any]]:
    """What a queued "you have a consultation already" note says (registered with notify.mail)."""
    return "", [message(job, 0, template="public/email/duplicate", context={}, to=job.secret or "")]


def _visitor_message(problem: BookingError) -> str:
    if isinstance(problem, BookingConflict):
        return TAKEN
    return str(problem)


def _release(appointment: Appointment, *, why: str) -> None:
    """Free the visitor's consultation slot through scheduling's system path, which keeps the change
    history (with no staff member) and releases the occupancy in this transaction."""
    if Appointment.objects.filter(pk=appointment.pk, status=AppointmentStatus.BOOKED).exists():
        consultation_cancel(actor=PUBLIC_SITE, appointment=appointment, reason=why)


def _locked_by_token(token: str) -> ConsultationRequest:
    found = request_by_token(token)
    locked = ConsultationRequest.objects.select_for_update().get(pk=found.pk)
    # Checked again under the lock: two tabs using one link change the booking once.
    if locked.status != found.status or locked.link_nonce != found.link_nonce:
        raise LinkInvalid("This link was just used. Reload the page to see your booking as it is now.")
    return locked


def consultation_request_cancel(*, token: str) -> ConsultationRequest:
    """The visitor cancels with their link: the slot is free again, the case closes, the link is spent."""
    with transaction.atomic():
        request = _locked_by_token(token)
        if request.appointment is not None:
            _release(request.appointment, why="cancelled by the visitor")
        request.status = RequestStatus.CANCELLED
        request.link_nonce = secrets.token_urlsafe(12)
        request.save(update_fields=["status", "link_nonce"])
        if request.case_id is not None:
            _close_case_by_system(
                request.case_id, reason="The visitor cancelled the free consultation online."
            )
        audit_record(actor=PUBLIC_SITE, action="consultation.cancel", target=request, case=request.case_id)
    return request


def _close_case_by_system(case_id: int, *, reason: str) -> None:
    # Only a case nobody has taken further: once staff moved it on, it is theirs to close. Locked before
    # the phase is read, so a move made meanwhile is seen here rather than refused inside case_transition.
    case = Case.objects.locked().get(pk=case_id)
    if case.phase == Phase.CONSULTATION:
        case_transition(actor=PUBLIC_SITE, case=case, to_phase=Phase.CLOSED, reason=reason)


def consultation_request_reschedule(
    *, token: str, therapist: User, starts_at: dt.datetime, mode: str, manage_path: Any
) -> ConsultationRequest:
    """Move the consultation to another offered slot: the old slot is released and the new one booked in
    one transaction, so a refused new slot keeps the old booking as it was. Older links stop working."""
    try:
        with transaction.atomic():
            request = _locked_by_token(token)
            if request.appointment is not None:
                _release(request.appointment, why="moved by the visitor")
            case = _case_of(request)
            appointment = consultation_book(
                actor=PUBLIC_SITE, case=case, therapist=therapist, starts_at=starts_at, mode=mode
            )
            old = request.starts_at
            request.appointment, request.therapist, request.mode = appointment, therapist, mode
            request.starts_at, request.ends_at = appointment.starts_at, appointment.ends_at
            request.link_nonce = secrets.token_urlsafe(12)
            request.save(
                update_fields=["appointment", "therapist", "mode", "starts_at", "ends_at", "link_nonce"]
            )
            audit_record(
                actor=PUBLIC_SITE,
                action="consultation.reschedule",
                target=request,
                case=case,
                detail={"from": old.isoformat(), "to": starts_at.isoformat(), "appointment": appointment.pk},
            )
            _confirm_later(request, manage_path=manage_path, moved=True)
    except BookingError as problem:
        raise Refused(_visitor_message(problem)) from problem
    return request


# --- contact messages -----------------------------------------------------------------------------
def contact_message_send(*, visitor: Visitor, message: str) -> ContactMessage:
    """Store a contact-form message for the inbox, within the caps that keep a flood out of it."""
    now = timezone.now()
    with transaction.atomic():
        _lock_contact(visitor)
        same = ContactMessage.objects.filter(
            _same_contact(visitor),
            status=MessageStatus.NEW,
            created_at__gte=now - dt.timedelta(days=1),
        ).count()
        if same >= settings.PUBLIC_MESSAGES_PER_CONTACT_PER_DAY:
            raise Refused("We have your earlier messages and will reply soon. Please wait for our answer.")
        recent = ContactMessage.objects.filter(created_at__gte=now - dt.timedelta(hours=1)).count()
        if recent >= settings.PUBLIC_MESSAGES_PER_HOUR:
            raise Refused("We are receiving many messages just now. Please try again later, or phone us.")
        sent = ContactMessage.objects.create(
            name=visitor.name,
            email=visitor.email.lower(),
            phone=visitor.phone,
            phone_key=visitor.phone_key,
            message=message,
        )
        audit_record(actor=PUBLIC_SITE, action="contact.message", target=sent)
    return sent


def contact_message_set_status(*, actor: User, message: ContactMessage, status: str) -> ContactMessage:
    _require_inbox(actor)
    if status not in MessageStatus.values:
        raise Refusal("Unknown status.")
    with transaction.atomic():
        message.status, message.handled_by, message.handled_at = status, actor, timezone.now()
        message.save(update_fields=["status", "handled_by", "handled_at"])
        audit_record(actor=actor, action="contact.status", target=message, detail={"status": status})
    return message


# --- the coordinator's side -----------------------------------------------------------------------
@dataclass(frozen=True)
class Conversion:
    request: ConsultationRequest
    invited: list[str]
    not_invited: list[str]


def _locked_open(request: ConsultationRequest) -> ConsultationRequest:
    locked = ConsultationRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status not in OPEN_REQUEST_STATUSES:
        raise Refusal(f"This request is {locked.get_status_display().lower()} already.")
    if locked.case_id is None:
        raise Refusal("This request has no case.")
    return locked


def _case_of(request: ConsultationRequest) -> Case:
    if request.case_id is None:
        raise Refusal("This request has no case.")
    return Case.objects.with_people().get(pk=request.case_id)


def consultation_request_confirm(*, actor: User, request: ConsultationRequest) -> ConsultationRequest:
    """The coordinator has seen the request (and, say, phoned to confirm): new → confirmed."""
    _require_inbox(actor)
    with transaction.atomic():
        locked = _locked_open(request)
        locked.status, locked.handled_by, locked.handled_at = RequestStatus.CONFIRMED, actor, timezone.now()
        locked.save(update_fields=["status", "handled_by", "handled_at"])
        audit_record(actor=actor, action="consultation.confirm", target=locked, case=locked.case_id)
    return locked


def consultation_request_convert(
    *,
    actor: User,
    request: ConsultationRequest,
    partner: ClientDetails | None,
    invite: bool,
    link_for: Any,
) -> Conversion:
    """After the consultation: the case moves to intake (with the partner, if one was named), and each
    partner with an e-mail address is invited to the portal. One action, one transaction."""
    _require_inbox(actor)
    invited: list[str] = []
    not_invited: list[str] = []
    with transaction.atomic():
        locked = _locked_open(request)
        case = _case_of(locked)
        if partner is not None and not case.is_couple:
            case = case_add_partner(actor=actor, case=case, partner=partner)
        case_transition(actor=actor, case=case, to_phase=Phase.INTAKE, reason="After the free consultation.")
        locked.status, locked.handled_by, locked.handled_at = RequestStatus.CONVERTED, actor, timezone.now()
        locked.save(update_fields=["status", "handled_by", "handled_at"])
        audit_record(actor=actor, action="consultation.convert", target=locked, case=case)
        if invite:
            for client in case.partners:
                try:
                    with transaction.atomic():
                        client_invite(actor=actor, case=case, client=client, link_for=link_for)
                except (Refusal, AccessDenied) as refusal:
                    not_invited.append(str(refusal))
                else:
                    invited.append(client.full_name)
    return Conversion(locked, invited, not_invited)


def consultation_request_decline(
    *, actor: User, request: ConsultationRequest, reason: str
) -> ConsultationRequest:
    """No treatment follows: a booked future consultation is released and the case is closed."""
    _require_inbox(actor)
    reason = reason.strip()
    if not reason:
        raise Refusal("Write why the request is declined.")
    with transaction.atomic():
        locked = _locked_open(request)
        appointment = locked.appointment
        if (
            appointment is not None
            and appointment.status == AppointmentStatus.BOOKED
            and appointment.starts_at > timezone.now()
        ):
            appointment_cancel(actor=actor, appointment=appointment, reason=reason)
        case = _case_of(locked)
        case_transition(actor=actor, case=case, to_phase=Phase.CLOSED, reason=reason)
        locked.status, locked.handled_by, locked.handled_at = RequestStatus.DECLINED, actor, timezone.now()
        locked.save(update_fields=["status", "handled_by", "handled_at"])
        audit_record(actor=actor, action="consultation.decline", target=locked, case=case)
    return locked
