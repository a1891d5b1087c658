"""Reads behind the Today page and the case page, always scoped through the permission layer."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, prefetch_related_objects

from tandem.access.models import BreakGlassGrant
from tandem.access.services import CareScope, care_scope, in_care
from tandem.accounts.models import CLINICAL_ROLES, Role
from tandem.cases.models import (
    Case,
    CaseLink,
    CaseProblem,
    Phase,
    case_link_columns,
    link_fields,
)
from tandem.lib.lookups import Ids
from tandem.lib.remembered_queries import remembered_query
from tandem.lib.time import local_day_bounds
from tandem.pathway import selectors as pathway_selectors
from tandem.scheduling.models import (
    Appointment,
    AppointmentQuerySet,
    AppointmentStatus,
    ResourceKind,
    earliest_start,
)


def _held_on(day: dt.date) -> AppointmentQuerySet:
    """The sessions of a day that still take place."""
    start, end = local_day_bounds(day)
    return Appointment.objects.between(start, end).exclude(status=AppointmentStatus.CANCELLED)


def _day_table(rows: AppointmentQuerySet) -> AppointmentQuerySet:
    """ROWS, loading only what the table prints (today/_appointments.jinja)."""
    return (
        rows.select_related("case__partner_a", "case__partner_b", "room__location")
        .only(
            "starts_at",
            "ends_at",
            "kind",
            "mode",
            "room__name",
            "room__location__name",
            *link_fields("case__"),
        )
        .order_by("starts_at", "id")
    )


def _with_therapists(rows: list[Appointment]) -> list[Appointment]:
    """ROWS, each with its therapists as the list `therapists_listed` (one query for all). A list rather
    than the prefetched `therapists.all()`: Django builds a queryset per row to hold that cache, which
    cost the case page more than reading the therapists."""
    prefetch_related_objects(rows, Prefetch("therapists", to_attr="therapists_listed"))
    return rows


def appointments_on(*, user: Any, day: dt.date) -> list[Appointment]:
    """The clinician's own sessions of the day (a director sees clients too); the page does not print who
    else is in the room. The whole practice's day is `practice_day`."""
    if user.role not in CLINICAL_ROLES:
        return []
    start, end = local_day_bounds(day)
    return _held_by.rows(user_id=user.pk, start=start, end=end, earliest=earliest_start(start))


@remembered_query
def _held_by(
    *, user_id: int, start: dt.datetime, end: dt.datetime, earliest: dt.datetime
) -> AppointmentQuerySet:
    # Found by the therapist's occupancy alone: with the appointments' own time range beside it, PostgreSQL
    # read the whole practice's day (it expects one row there) and asked each for its occupancy.
    # Read on every view of Today: compiled once per worker (lib/remembered_queries.py).
    held = Appointment.objects.held_by(ResourceKind.THERAPIST, (user_id,), start, end, earliest=earliest)
    return _day_table(held)


@dataclass(frozen=True)
class PracticeDay:
    """The whole practice's day as the director and the front desk see it on Today."""

    day: dt.date
    total: int
    to_come: int
    next_up: list[Appointment]


def practice_day(*, user: Any, day: dt.date, now: dt.datetime, limit: int = 20) -> PracticeDay | None:
    """How many sessions the practice holds today, and the next ones from now (a session under way
    included: its client may still be at the desk). A weekday at a large group practice holds hundreds;
    listing them all made Today as heavy as the practice is large, while the calendar's day shows every
    one of them by therapist. None for someone who does not run the practice's day."""
    if user.role not in (Role.DIRECTOR, Role.COORDINATOR):
        return None
    held = _held_on(day)
    counts = held.aggregate(total=Count("id"), to_come=Count("id", filter=Q(ends_at__gt=now)))
    # The next ones' ids first, from the appointments alone: PostgreSQL, misjudging how few of a day's
    # sessions end after now, joined the whole day's cases and clients before keeping twenty.
    ids = list(held.filter(ends_at__gt=now).order_by("starts_at", "id").values_list("id", flat=True)[:limit])
    next_up = _with_therapists(list(_day_table(held).filter(id__any_of=Ids(ids)))) if ids else []
    return PracticeDay(day=day, total=counts["total"], to_come=counts["to_come"], next_up=next_up)


def cases_needing_action(
    *, user: Any, now: dt.datetime, scope: CareScope | None = None
) -> dict[str, list[CaseLink]]:
    """What the Today page asks someone to deal with, by reason: links to the cases (CaseLink)."""
    result: dict[str, list[CaseLink]] = {}
    if user.role in (Role.DIRECTOR, Role.COORDINATOR):
        # Both see the whole practice (access.services.cases_visible_to).
        result["unassigned"] = [CaseLink.from_row(row) for row in _unassigned.rows()]
    if user.role in (Role.THERAPIST, Role.DIRECTOR):
        scope = scope or care_scope(user)
        rows = _no_next_session.rows(now=now, **scope.values(open_only=True))
        result["no_next_session"] = [CaseLink.from_row(row) for row in rows]
    return result


# Today's two lists of cases, read on every view of Today: compiled once per worker
# (lib/remembered_queries.py). Each lists the first NEEDING_ACTION_ROWS.
NEEDING_ACTION_ROWS = 20


@remembered_query
def _unassigned() -> QuerySet[Case, Any]:
    return (
        Case.objects.open()
        .filter(therapist__isnull=True, team__isnull=True)
        .order_by("opened_on", "id")
        .values_list(*case_link_columns())[:NEEDING_ACTION_ROWS]
    )


@remembered_query
def _no_next_session(*, now: dt.datetime, case_ids: Ids | None = None) -> QuerySet[Case, Any]:
    upcoming = Appointment.objects.filter(
        case=OuterRef("pk"), starts_at__gte=now, status=AppointmentStatus.BOOKED
    )
    return (
        Case.objects.filter(in_care("", case_ids=case_ids, open_only=True))
        .filter(phase__in=(Phase.INTAKE, Phase.ASSESSMENT, Phase.TREATMENT, Phase.FOLLOW_UP))
        .exclude(therapist__isnull=True, team__isnull=True)
        .filter(~Exists(upcoming))
        .order_by("opened_on", "id")
        .values_list(*case_link_columns())[:NEEDING_ACTION_ROWS]
    )


# The case page's own reads of one case, each compiled once per worker (lib/remembered_queries.py).


@remembered_query
def _case_sessions(*, case_id: int) -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(case_id=case_id)
        .exclude(status=AppointmentStatus.CANCELLED)
        .select_related("room__location")
        .order_by("starts_at", "id")
    )


@remembered_query
def _problems(*, case_id: int) -> QuerySet[CaseProblem]:
    return (
        CaseProblem.objects.filter(case_id=case_id)
        .select_related("problem", "client")
        .order_by("problem__sort_order")
    )


@remembered_query
def _grants(*, case_id: int) -> QuerySet[BreakGlassGrant]:
    return BreakGlassGrant.objects.filter(case_id=case_id).select_related("user").order_by("-started_at")[:10]


def case_detail_context(*, case: Case, now: dt.datetime, user: Any, clinical: bool) -> dict[str, Any]:
    """Everything the case page shows beyond the case row itself, in a fixed number of queries. The
    sessions are read once for the upcoming and recent lists and the timeline (a case has tens, at most a
    few hundred), and the timeline reuses the pathway's referrals, plans and follow-ups."""
    sessions = _case_sessions.rows(case_id=case.pk)
    # Only the listed sessions print their therapists: a case in its second year has a hundred sessions.
    upcoming = [a for a in sessions if a.starts_at >= now][:10]
    recent = [a for a in reversed(sessions) if a.starts_at < now][:10]
    _with_therapists([*upcoming, *recent])
    pathway = pathway_selectors.case_pathway(case=case, user=user, clinical=clinical, sessions=sessions)
    plans = [pathway["plan"], *pathway["plan_history"]] if pathway.get("plan") else []
    timeline = pathway_selectors.case_timeline(
        case=case,
        clinical=clinical,
        sessions=sessions,
        referrals=pathway.get("referrals"),
        plans=plans,
        follow_ups=pathway["follow_ups"],
    )
    return {
        "upcoming": upcoming,
        "recent": recent,
        "problems": _problems.rows(case_id=case.pk),
        "grants": _grants.rows(case_id=case.pk),
        "timeline": timeline,
        **pathway,
    }
