"""Reads behind the Today page and the case page, always scoped through the permission layer."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, prefetch_related_objects

from tandem.access.services import CareScope, care_scope, staff_cases_visible_to
from tandem.accounts.models import CLINICAL_ROLES, Role
from tandem.cases.models import Case, CaseLink, Phase, link_fields
from tandem.lib.lookups import Ids
from tandem.lib.time import local_day_bounds
from tandem.pathway import selectors as pathway_selectors
from tandem.scheduling.models import Appointment, AppointmentQuerySet, AppointmentStatus


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


def appointments_on(*, user: Any, day: dt.date) -> QuerySet[Appointment]:
    """The clinician's own sessions of the day (a director sees clients too); the page does not print who
    else is in the room. The whole practice's day is `practice_day`."""
    if user.role not in CLINICAL_ROLES:
        return Appointment.objects.none()
    start, end = local_day_bounds(day)
    # Found by the therapist's occupancy alone: with the appointments' own time range beside it, PostgreSQL
    # read the whole practice's day (it expects one row there) and asked each for its occupancy.
    return _day_table(Appointment.objects.held_by_therapist(user, start, end))


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
    *, user: Any, now: dt.datetime, scope: CareScope | None = None, limit: int = 20
) -> dict[str, list[CaseLink]]:
    """What the Today page asks someone to deal with, by reason: links to the cases (CaseLink)."""
    visible = staff_cases_visible_to(user)
    upcoming = Appointment.objects.filter(
        case=OuterRef("pk"), starts_at__gte=now, status=AppointmentStatus.BOOKED
    )
    result: dict[str, list[CaseLink]] = {}
    if user.role in (Role.DIRECTOR, Role.COORDINATOR):
        result["unassigned"] = (
            visible.open()
            .filter(therapist__isnull=True, team__isnull=True)
            .order_by("opened_on", "id")
            .links(limit)
        )
    if user.role in (Role.THERAPIST, Role.DIRECTOR):
        scope = scope or care_scope(user)
        mine = Case.objects.filter(scope.cases("", open_only=True))
        result["no_next_session"] = (
            mine.filter(phase__in=(Phase.INTAKE, Phase.ASSESSMENT, Phase.TREATMENT, Phase.FOLLOW_UP))
            .exclude(therapist__isnull=True, team__isnull=True)
            .filter(~Exists(upcoming))
            .order_by("opened_on", "id")
            .links(limit)
        )
    return result


def case_detail_context(*, case: Case, now: dt.datetime, user: Any, clinical: bool) -> dict[str, Any]:
    """Everything the case page shows beyond the case row itself, in a fixed number of queries. The
    sessions are read once for the upcoming and recent lists and the timeline (a case has tens, at most a
    few hundred), and the timeline reuses the pathway's referrals, plans and follow-ups."""
    sessions = list(
        case.appointments.exclude(status=AppointmentStatus.CANCELLED)
        .select_related("room__location")
        .order_by("starts_at", "id")
    )
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
        "problems": list(case.problems.select_related("problem", "client").order_by("problem__sort_order")),
        "grants": list(case.break_glass_grants.select_related("user").order_by("-started_at")[:10]),
        "timeline": timeline,
        **pathway,
    }
