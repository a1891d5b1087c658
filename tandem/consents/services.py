"""Writes on consents: request, sign, revoke, and the release of information. Each is one transaction that
also writes its audit event (never with names or consent text in it)."""

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from tandem.access.services import AccessDenied, can_edit_case
from tandem.accounts.models import Role, User
from tandem.audit.services import audit_record
from tandem.cases.models import Case, Client
from tandem.consents.models import (
    ConfidentialityMode,
    Consent,
    ConsentDocument,
    ConsentKind,
    ReleaseCategory,
    SignMethod,
)
from tandem.consents.selectors import current_document
from tandem.lib.errors import Refusal
from tandem.lib.time import local_today
from tandem.pathway.services import consent_record_signed, consent_record_withdraw
from tandem.records.models import ConfidentialityPolicy
from tandem.records.services import confidentiality_agreement_from_consent


def _require_partner(case: Case, client: Client) -> None:
    if client.pk not in (case.partner_a_id, case.partner_b_id):
        raise Refusal("That person is not a partner in this case.")


def _require_staff(actor: User, case: Case) -> None:
    if actor.role == Role.CLIENT or not can_edit_case(actor, case):
        raise AccessDenied("Only the practice staff of this case can do that.")


def case_policy(case: Case) -> ConfidentialityPolicy | None:
    """The case's confidentiality policy as the records app keeps it, if one was set."""
    return ConfidentialityPolicy.objects.filter(case=case).first()


def _normalized(name: str) -> str:
    return " ".join(name.split()).casefold()


def _audit(actor: User, action: str, consent: Consent, **extra: Any) -> None:
    audit_record(
        actor=actor,
        action=action,
        target=consent,
        case=consent.case_id,
        detail={
            "kind": consent.document.kind,
            "version": consent.document.version,
            "client": consent.client_id,
            **extra,
        },
    )


def consent_request(
    *,
    actor: User,
    case: Case,
    client: Client,
    kind: str,
    document: ConsentDocument | None = None,
    confidentiality_mode: str = "",
) -> Consent:
    """Ask one partner to sign the current version of a consent (a release goes through release_create)."""
    _require_partner(case, client)
    _require_staff(actor, case)
    if kind not in ConsentKind.values or kind == ConsentKind.RELEASE:
        raise Refusal("Choose treatment, confidentiality or telehealth consent.")
    return _create(
        actor=actor,
        case=case,
        client=client,
        kind=kind,
        document=document,
        confidentiality_mode=confidentiality_mode,
    )


def release_create(
    *,
    actor: User,
    case: Case,
    client: Client,
    recipient: str,
    categories: Iterable[str],
    valid_until: dt.date,
    recipient_detail: str = "",
) -> Consent:
    """A release of information for one partner: to whom, which parts of the record, until when. It counts
    once that partner has signed it."""
    _require_partner(case, client)
    _require_staff(actor, case)
    recipient = " ".join(recipient.split())
    chosen = sorted(set(categories))
    if not recipient:
        raise Refusal("Say who receives the information.")
    if not chosen or any(c not in ReleaseCategory.values for c in chosen):
        raise Refusal("Choose at least one part of the record to release.")
    if valid_until < local_today():
        raise Refusal("The end date of a release cannot lie in the past.")
    return _create(
        actor=actor,
        case=case,
        client=client,
        kind=ConsentKind.RELEASE,
        recipient=recipient,
        recipient_detail=recipient_detail.strip(),
        categories=chosen,
        valid_until=valid_until,
    )


def _create(
    *,
    actor: User,
    case: Case,
    client: Client,
    kind: str,
    document: ConsentDocument | None = None,
    confidentiality_mode: str = "",
    **fields: Any,
) -> Consent:
    document = document or current_document(kind)
    if document is None or document.kind != kind:
        raise Refusal("There is no consent text of that kind in effect yet.")
    if kind == ConsentKind.CONFIDENTIALITY:
        policy = case_policy(case)
        # The records app holds the case's chosen mode; without one, the request itself names it.
        confidentiality_mode = policy.kind if policy is not None else confidentiality_mode
        if confidentiality_mode not in ConfidentialityMode.values:
            raise Refusal("Choose “no secrets” or “limited secrets” for this couple.")
    else:
        confidentiality_mode = ""
    with transaction.atomic():
        consent = Consent.objects.create(
            case=case,
            client=client,
            document=document,
            requested_at=timezone.now(),
            requested_by=actor,
            confidentiality_mode=confidentiality_mode,
            **fields,
        )
        _audit(actor, "consent.request", consent)
    return consent


def consent_sign(*, actor: User, consent: Consent, typed_name: str, ip: str | None = None) -> Consent:
    """The partner signs by typing their full name: in the portal (their own consent only), or on a staff
    device with the case's staff member as witness."""
    case = consent.case
    if actor.role == Role.CLIENT:
        if consent.client.user_id != actor.pk:
            raise AccessDenied("Only the person named on a consent can sign it.")
        method = SignMethod.PORTAL
    else:
        _require_staff(actor, case)
        method = SignMethod.STAFF_DEVICE
    if _normalized(typed_name) != _normalized(consent.client.full_name):
        raise Refusal(
            f"Type the full name exactly as the practice has it ({consent.client.full_name}) to sign."
        )
    now = timezone.now()
    with transaction.atomic():
        current = Consent.objects.select_for_update().get(pk=consent.pk)
        if current.signed_at is not None:
            raise Refusal("This consent has already been signed.")
        if current.valid_until is not None and current.valid_until < local_today():
            raise Refusal("This release has expired; the practice can prepare a new one.")
        pathway_record = None
        if consent.document.kind == ConsentKind.TREATMENT:
            # The pathway's rule reads TreatmentConsent: signing here is how that record gets made.
            pathway_record = consent_record_signed(
                case=case,
                client=consent.client,
                version=consent.document.code,
                given_at=now,
                recorded_by=actor,
            )
        elif consent.document.kind == ConsentKind.CONFIDENTIALITY:
            confidentiality_agreement_from_consent(
                actor=actor,
                case=case,
                client_id=consent.client_id,
                mode=consent.confidentiality_mode,
                agreed_at=now,
                proposed_by=consent.requested_by,
            )
        Consent.objects.filter(pk=consent.pk).update(
            signed_at=now,
            signed_by_user=actor,
            method=method,
            typed_name=" ".join(typed_name.split()),
            signed_ip=ip or None,
            pathway_record=pathway_record,
        )
        consent.refresh_from_db()
        _audit(actor, "consent.sign", consent, method=method)
    return consent


def consent_revoke(*, actor: User, consent: Consent, reason: str = "") -> Consent:
    """Withdraw a signed consent from now on. The partner may do it in the portal; staff write why."""
    reason = reason.strip()
    if actor.role == Role.CLIENT:
        if consent.client.user_id != actor.pk:
            raise AccessDenied("Only the person named on a consent can withdraw it.")
    else:
        _require_staff(actor, consent.case)
        if len(reason) < 5:
            raise Refusal("Write why the consent is withdrawn (for example, what the client said).")
    with transaction.atomic():
        current = Consent.objects.select_for_update().get(pk=consent.pk)
        if current.signed_at is None:
            raise Refusal("Only a signed consent can be withdrawn.")
        if current.revoked_at is not None:
            raise Refusal("This consent has already been withdrawn.")
        if current.pathway_record_id is not None:
            consent_record_withdraw(record_id=current.pathway_record_id)
        if consent.document.kind == ConsentKind.CONFIDENTIALITY:
            confidentiality_agreement_from_consent(
                actor=actor,
                case=consent.case,
                client_id=consent.client_id,
                mode=consent.confidentiality_mode,
                agreed_at=None,
                proposed_by=consent.requested_by,
            )
        Consent.objects.filter(pk=consent.pk).update(
            revoked_at=timezone.now(), revoked_by=actor, revoke_reason=reason, pathway_record=None
        )
        consent.refresh_from_db()
        _audit(actor, "consent.revoke", consent)
    return consent
