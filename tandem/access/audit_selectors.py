"""Reading the audit trail, for the clinical director's audit page."""

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.db.models import QuerySet, Subquery
from django.utils import timezone

from tandem.audit.models import AuditEvent
from tandem.cases.models import Case
from tandem.lib.lookups import Ids
from tandem.lib.remembered_queries import remembered_query

# Sort key -> ORDER BY. Every order ends on seq so that pages never overlap or skip rows.
SORTS: dict[str, tuple[str, ...]] = {
    "newest": ("-at", "-seq"),
    "oldest": ("at", "seq"),
    "person": ("actor_label", "-seq"),
    "action": ("action", "-seq"),
}
DEFAULT_SORT = "newest"


def can_read_audit(user: Any) -> bool:
    """The audit trail names every case and person: the clinical director alone reads it."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_director", False))


def _local_midnight(day: dt.date) -> dt.datetime:
    # Dates on the page are the practice's calendar days, whatever zone the server runs in; make_aware
    # with zoneinfo handles the daylight-saving days (23 and 25 hours long).
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone())


# What the page prints: not the chain's HMACs, nor the actor's or the case's other columns.
SHOWN = (
    "seq",
    "at",
    "actor_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "case_id",
    "ip",
    "detail",
)


def _order(sort: str) -> tuple[str, ...]:
    return SORTS.get(sort, SORTS[DEFAULT_SORT])


def audit_events(
    viewer: Any,
    *,
    actor_id: int | None = None,
    username: str = "",
    case_id: int | None = None,
    case_reference: str = "",
    action: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    sort: str = DEFAULT_SORT,
) -> QuerySet[AuditEvent]:
    """Audit events matching the filters, in the order asked for; `audit_rows` loads a page of them.

    Dates are inclusive local dates in the practice time zone. `username` matches part of the name the
    actor had when the event was written, so it also finds clients, anonymous requests and people
    whose account is gone.
    """
    if not can_read_audit(viewer):
        return AuditEvent.objects.none()
    events = AuditEvent.objects.all()
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if username:
        events = events.filter(actor_label__icontains=username)
    if case_id is not None:
        events = events.filter(case_id=case_id)
    if case_reference:
        # One case at most (references are unique): as a value, so that the case's index serves the order.
        events = events.filter(
            case_id=Subquery(
                Case.objects.filter(reference__iexact=case_reference).order_by().values("pk")[:1]
            )
        )
    if action:
        events = events.filter(action=action)
    if date_from is not None:
        events = events.filter(at__gte=_local_midnight(date_from))
    if date_to is not None:
        events = events.filter(at__lt=_local_midnight(date_to + dt.timedelta(days=1)))
    return events.order_by(*_order(sort))


def audit_rows(ids: list[int], *, sort: str = DEFAULT_SORT) -> list[AuditEvent]:
    """One page's events by id, in the page's order, with what the page prints.

    The page is found as ids first (`audit_events(...).values_list("pk")`): a month of one action is then
    read from the (action, -at, -seq) index, which holds the ids, without touching the table. Asked for
    whole rows at once, PostgreSQL walked the time index instead, whose order is the table's, reading
    every event of the month (10,000 at 20,000 cases) to find fifty of one action.
    """
    return _ROWS[sort if sort in SORTS else DEFAULT_SORT].rows(ids=Ids(ids))


def _rows_in(order: tuple[str, ...]) -> Callable[..., QuerySet[AuditEvent]]:
    def build(*, ids: Ids) -> QuerySet[AuditEvent]:
        events = AuditEvent.objects.select_related("actor", "case").only(
            *SHOWN, "actor__username", "actor__first_name", "actor__last_name", "case__reference"
        )
        return events.filter(pk__any_of=ids).order_by(*order)

    build.__qualname__ = f"audit_rows[{order[0]}]"
    return build


# A page of the trail is read on every view: compiled once per worker for each order
# (lib/remembered_queries.py).
_ROWS = {sort: remembered_query(_rows_in(order)) for sort, order in SORTS.items()}


def audit_actions() -> list[str]:
    """Every action name that occurs in the trail, sorted.

    A plain SELECT DISTINCT reads the whole (ever-growing) table on each page view. This recursive query
    jumps from one action to the next through the action index instead: one index probe per distinct
    action. The syntax is the same on PostgreSQL and SQLite.
    """
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    sql = f"""
        WITH RECURSIVE actions(action) AS (
            SELECT MIN(action) FROM {table}
            UNION ALL
            SELECT (SELECT MIN(e.action) FROM {table} e WHERE e.action > actions.action)
            FROM actions WHERE actions.action IS NOT NULL
        )
        SELECT action FROM actions WHERE action IS NOT NULL
    """  # noqa: S608  (the only interpolation is the model's own table name, quoted)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]
