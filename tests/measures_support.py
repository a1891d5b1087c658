"""Shared helpers for the measures tests."""

import datetime as dt
from typing import Any

from django.utils import timezone

from tandem.cases.models import Case, Client
from tandem.measures.models import Response
from tandem.measures.services import response_record

PHQ9_CALM = {str(n): 0 for n in range(1, 10)}


def phq9(*values: int) -> dict[str, int]:
    return {str(n): v for n, v in enumerate(values, start=1)}


def csi16(total_target: int) -> dict[str, int]:
    """CSI-16 answers summing to `total_target` (item 1 goes to 6, the others to 5)."""
    answers, left = {}, total_target
    for n in range(1, 17):
        top = 6 if n == 1 else 5
        answers[str(n)] = min(top, left)
        left -= answers[str(n)]
    assert left == 0, "target out of range"
    return answers


def record(
    actor: Any, case: Case, client: Client, code: str, answers: dict[str, Any], *, days_ago: int = 0
) -> Response:
    return response_record(
        actor=actor,
        case=case,
        client=client,
        instrument_code=code,
        answers=answers,
        answered_at=timezone.now() - dt.timedelta(days=days_ago),
    )
