"""Storing questionnaire responses with their scores."""

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from tandem.access.services import AccessDenied, can_see_clinical
from tandem.audit.services import audit_record
from tandem.cases.models import Case, Client
from tandem.measures import engine
from tandem.measures.models import Instrument, Response


def _check_may_enter(actor: Any, case: Case, client: Client) -> None:
    if client.pk not in (case.partner_a_id, case.partner_b_id):
        raise AccessDenied("That client is not a partner in this case.")
    # Until the portal lands only clinicians enter answers, on the client's behalf.
    if not can_see_clinical(actor, case):
        raise AccessDenied("Only the case's therapists or the clinical director may enter measures.")


def _stored_answers(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, int | None]:
    try:
        return engine.validate_answers(instrument.definition, answers)
    except engine.InvalidAnswers as exc:
        raise ValueError(f"{instrument.code}: {exc}") from exc


def response_record(
    *,
    actor: Any,
    case: Case,
    client: Client,
    instrument_code: str,
    answers: Mapping[str, Any],
    answered_at: dt.datetime | None = None,
) -> Response:
    """Validate, score and store one response; audited in the same transaction.

    `answers` maps item linkIds to scored values; an absent or None item is missing, which leaves the
    scores that need it empty and is recorded. Raises AccessDenied or ValueError (naming the item).
    """
    _check_may_enter(actor, case, client)
    instrument = Instrument.objects.filter(code=instrument_code).first()
    if instrument is None:
        raise ValueError(f"Unknown instrument {instrument_code!r} (has `manage.py load_instruments` run?)")
    checked = _stored_answers(instrument, answers)
    result = engine.score(instrument.definition, checked)
    shown = result.as_json(instrument.definition)
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
            },
        )
    return response
