"""Storing questionnaire responses with their scores; safety alerts; sharing the couple report."""

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from tandem.access.clinical import can_enter_measures, can_share_couple_report, is_own_answer
from tandem.access.services import AccessDenied, is_assigned
from tandem.accounts.models import Role
from tandem.audit.services import audit_record
from tandem.cases.models import Case, Client
from tandem.lib.errors import Refusal
from tandem.lib.later import case_changed_later
from tandem.lib.time import practice_zone
from tandem.measures import engine, policy
from tandem.measures.models import CoupleReportShare, Instrument, MeasureRequest, Response, SafetyAlert

log = logging.getLogger(__name__)

NOTE_MIN = 10


def _check_may_enter(actor: Any, case: Case, client: Client) -> None:
    if client.pk not in (case.partner_a_id, case.partner_b_id):
        raise Refusal("That client is not a partner in this case.")
    if not can_enter_measures(actor, case, client):
        raise AccessDenied("Only the case's therapists or the clinical director may enter measures.")


def _stored_answers(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, int | None]:
    try:
        return engine.validate_answers(instrument.definition, answers)
    except engine.InvalidAnswers as exc:
        raise ValueError(f"{instrument.code}: {exc}") from exc


def required_missing(instrument: Instrument, answers: Mapping[str, Any]) -> list[str]:
    """linkIds the Questionnaire marks required that have no answer (the form refuses these)."""
    return [
        item["linkId"]
        for item in instrument.definition["questionnaire"]["item"]
        if item.get("type") != "display" and item.get("required") and answers.get(item["linkId"]) is None
    ]


def _complete_requests(response: Response) -> int:
    local_day = timezone.localtime(response.answered_at, practice_zone()).date()
    return MeasureRequest.objects.filter(
        case=response.case,
        client=response.client,
        instrument=response.instrument,
        completed_at__isnull=True,
        cancelled_at__isnull=True,
        due_on__lte=local_day + dt.timedelta(days=policy.COMPLETES_EARLY_DAYS),
    ).update(response=response, completed_at=timezone.now())


def _alert_recipients(case: Case) -> list[Any]:
    return [u for u in case.clinicians if u is not None and u.is_active and u.email]


def _send_safety_emails(case_id: int, link_base: str | None) -> None:
    """After commit: tell the assigned therapists to log in. No names, scores or answers in the e-mail."""
    case = Case.objects.with_people().filter(pk=case_id).first()
    if case is None:
        return
    base = (link_base or settings.PORTAL_BASE_URL).rstrip("/")
    context = {"link": f"{base}{reverse('today')}", "practice": settings.PRACTICE_NAME}
    subject = render_to_string("measures/email/safety_alert_subject.txt", context).strip()
    body = render_to_string("measures/email/safety_alert.txt", context)
    for user in _alert_recipients(case):
        try:
            send_mail(subject, body, None, [user.email])
        except Exception as error:  # the banner on Today stands even when the mail server fails
            log.warning("safety alert e-mail to user %s failed (%s)", user.pk, type(error).__name__)


def response_record(
    *,
    actor: Any,
    case: Case,
    client: Client,
    instrument_code: str,
    answers: Mapping[str, Any],
    answered_at: dt.datetime | None = None,
    enforce_required: bool = False,
    link_base: str | None = None,
) -> Response:
    """Validate, score and store one response; audited in the same transaction.

    `answers` maps item linkIds to scored values; an absent or None item is missing, which leaves the
    scores that need it empty and is recorded (with `enforce_required`, as the forms call it, an item the
    Questionnaire marks required may not be missing). A safety flag raises a SafetyAlert in the same
    transaction and e-mails the assigned therapists after commit. The response completes the client's
    open requests for this questionnaire. Raises AccessDenied, Refusal or
    ValueError (naming the item).
    `link_base` is the address the request came in on (the e-mail's link starts with it); without a
    request (a command, the seed) PORTAL_BASE_URL is used.
    """
    _check_may_enter(actor, case, client)
    instrument = Instrument.objects.filter(code=instrument_code).first()
    if instrument is None:
        raise ValueError(f"Unknown instrument {instrument_code!r} (has `manage.py load_instruments` run?)")
    checked = _stored_answers(instrument, answers)
    if enforce_required:
        unanswered = required_missing(instrument, checked)
        if unanswered:
            raise ValueError(f"Please answer question {', '.join(unanswered)}.")
    result = engine.score(instrument.definition, checked)
    shown = result.as_json(instrument.definition)
    alert_flags = [flag for flag in result.flags if flag in policy.SAFETY_FLAGS]
    with transaction.atomic():
        response = Response.objects.create(
            instrument=instrument,
            instrument_version=instrument.version,
            client=client,
            case=case,
            answered_at=answered_at or timezone.now(),
            answers=checked,
            entered_by=actor,
            total=result.total,
            band=result.band or "",
            domains=shown["domains"],
            flags=result.flags,
            missing=result.missing,
        )
        completed = _complete_requests(response)
        case_changed_later(case_id=case.pk)
        audit_record(
            actor=actor,
            action="measures.response_recorded",
            target=response,
            case=case,
            # Scores and flags, not answers: the audit log is read more widely than the clinical record.
            detail={
                "instrument": instrument.code,
                "version": instrument.version,
                "client": client.pk,
                "flags": result.flags,
                "missing": result.missing,
                "own": is_own_answer(actor, client),
                "requests_completed": completed,
            },
        )
        if alert_flags:
            alert = SafetyAlert.objects.create(
                response=response, case=case, client=client, flags=alert_flags, created_at=timezone.now()
            )
            audit_record(
                actor=actor,
                action="measures.safety_alert_raised",
                target=alert,
                case=case,
                detail={"flags": alert_flags, "client": client.pk},
            )
            transaction.on_commit(lambda: _send_safety_emails(case.pk, link_base), robust=True)
    return response


def safety_alert_acknowledge(*, actor: Any, alert: SafetyAlert, note: str) -> SafetyAlert:
    """An assigned therapist (or the director) confirms they have acted on the alert, saying how."""
    note = note.strip()
    case = alert.case
    if not (is_assigned(actor, case) or getattr(actor, "role", None) == Role.DIRECTOR):
        raise AccessDenied("Only the case's therapists or the clinical director can acknowledge an alert.")
    if len(note) < NOTE_MIN:
        raise Refusal(f"Write what you did about it (at least {NOTE_MIN} characters).")
    with transaction.atomic():
        locked = SafetyAlert.objects.select_for_update().get(pk=alert.pk)
        if locked.acknowledged_at is not None:
            raise Refusal("This alert has already been acknowledged.")
        locked.acknowledged_at = timezone.now()
        locked.acknowledged_by = actor
        locked.note = note
        locked.save(update_fields=["acknowledged_at", "acknowledged_by", "note"])
        # The note stays in the clinical record, not in the audit detail.
        audit_record(actor=actor, action="measures.safety_alert_acknowledged", target=locked, case=case)
    return locked


def _check_may_share(actor: Any, case: Case) -> None:
    if not case.is_couple:
        raise Refusal("A couple report needs a couple case.")
    if not can_share_couple_report(actor, case):
        raise AccessDenied("Only the case's therapists or the clinical director can share the couple report.")


def couple_report_share(*, actor: Any, case: Case) -> CoupleReportShare:
    """Let both partners see the couple report in the portal (couple-measure scores, never answers)."""
    _check_may_share(actor, case)
    with transaction.atomic():
        Case.objects.locked().filter(pk=case.pk).first()
        current = CoupleReportShare.objects.filter(case=case, revoked_at__isnull=True).first()
        if current is not None:
            return current
        share = CoupleReportShare.objects.create(case=case, shared_by=actor, shared_at=timezone.now())
        audit_record(actor=actor, action="measures.couple_report_shared", target=share, case=case)
    return share


def couple_report_revoke(*, actor: Any, case: Case) -> int:
    """Stop showing the couple report in the portal; returns how many shares were ended."""
    _check_may_share(actor, case)
    with transaction.atomic():
        ended = CoupleReportShare.objects.filter(case=case, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=actor
        )
        if ended:
            audit_record(actor=actor, action="measures.couple_report_revoked", target=case, case=case)
    return ended
