"""How long the practice keeps a closed case's record, and which archived cases have passed that time.

Policy: a record is kept for RETENTION_YEARS after the last contact with the client (the later of the day the
case was closed and its last session that was not cancelled). Fifteen years is the longest period that
common health-record rules ask of psychotherapy practices, so keeping that long satisfies the shorter ones.
Nothing is deleted automatically: a case past its period only appears on the retention list, and deleting
it would need a recorded decision of the clinical director (not built: the list is where it starts).
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max, Q

from tandem.cases.models import Case, Phase
from tandem.lib.time import local_today, practice_zone
from tandem.scheduling.models import AppointmentStatus

RETENTION_YEARS = 15
ARCHIVED_PHASES = (Phase.DISCHARGED, Phase.CLOSED)


def years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class RetentionRow:
    case: Case
    last_contact: dt.date
    keep_until: dt.date


def retention_due(*, on: dt.date | None = None) -> list[RetentionRow]:
    """Archived cases whose retention period ended before `on` (today by default), oldest first."""
    day = on or local_today()
    # The last contact is never before closing, so a case closed within the period cannot be due.
    cutoff = years_after(day, -RETENTION_YEARS)
    candidates = (
        Case.objects.filter(phase__in=ARCHIVED_PHASES)
        .filter(Q(closed_on__lt=cutoff) | Q(closed_on__isnull=True, opened_on__lt=cutoff))
        .annotate(
            last_session=Max(
                "appointments__starts_at", filter=~Q(appointments__status=AppointmentStatus.CANCELLED)
            )
        )
        .order_by("closed_on", "pk")
    )
    rows = []
    for case in candidates:
        dates = [case.closed_on or case.opened_on]
        if case.last_session is not None:  # type: ignore[attr-defined]
            dates.append(case.last_session.astimezone(practice_zone()).date())  # type: ignore[attr-defined]
        last = max(dates)
        keep_until = years_after(last, RETENTION_YEARS)
        if keep_until < day:
            rows.append(RetentionRow(case, last, keep_until))
    return rows
