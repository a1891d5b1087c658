"""Reads of homework, always scoped: what staff see of a case, and what one partner sees of their own.

The couple confidentiality rule lives here: a partner sees the couple's assignments and their own, never
the other partner's individual assignments, and of the other partner's entries only those shared.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404

from tandem.access.services import (
    CareScope,
    can_see_clinical,
    care_scope,
    cases_visible_to,
    deny,
    in_care,
    staff_cases_visible_to,
)
from tandem.accounts.models import Role
from tandem.cases.models import Case, Client, link_fields
from tandem.homework.models import Assignment, AssignmentLog, AssignmentStatus, Exercise
from tandem.lib.lookups import Ids
from tandem.lib.remembered_queries import remembered_query
from tandem.lib.time import local_day_bounds
from tandem.scheduling.models import Appointment


@dataclass
class Adherence:
    """One partner on one assignment: entries marked done against the times asked for."""

    client: Client
    expected: int
    done: int = 0
    not_done: int = 0
    last_at: dt.datetime | None = None

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.done / self.expected)) if self.expected else 0

    @property
    def complete(self) -> bool:
        return self.done >= self.expected


@dataclass
class AssignmentView:
    assignment: Assignment
    adherence: list[Adherence]
    logs: list[AssignmentLog] = field(default_factory=list)


def _adherence(assignment: Assignment, counts: dict[tuple[int, int], dict[str, Any]]) -> list[Adherence]:
    rows = []
    for client in assignment.targets():
        c = counts.get((assignment.pk, client.pk), {})
        rows.append(
            Adherence(
                client=client,
                expected=assignment.expected,
                done=c.get("done", 0),
                not_done=c.get("not_done", 0),
                last_at=c.get("last_at"),
            )
        )
    return rows


def _counts(assignment_ids: Iterable[int]) -> dict[tuple[int, int], dict[str, Any]]:
    """Done / not-done counts per (assignment, partner), private entries included: for clinicians only."""
    ids = Ids(assignment_ids)
    if not ids:
        return {}
    rows = _log_counts.rows(assignment_ids=ids)
    # Named apart from the `done` field: an annotation of the same name would shadow it in the filters.
    return {
        (r["assignment_id"], r["client_id"]): {
            "done": r["n_done"],
            "not_done": r["n_not_done"],
            "last_at": r["last_at"],
        }
        for r in rows
    }


@remembered_query
def _log_counts(*, assignment_ids: Ids) -> QuerySet[AssignmentLog, Any]:
    # Read on every view of Today and of the case page: compiled once per worker (lib/remembered_queries).
    return (
        AssignmentLog.objects.filter(assignment_id__any_of=assignment_ids)
        .values("assignment_id", "client_id")
        .annotate(
            n_done=Count("id", filter=Q(done=True)),
            n_not_done=Count("id", filter=Q(done=False)),
            last_at=Max("logged_at"),
        )
        .order_by()
    )


def _with_case(assignments: QuerySet[Assignment]) -> QuerySet[Assignment]:
    return assignments.select_related(
        "exercise__next_stage", "client", "case__partner_a", "case__partner_b", "assigned_by"
    )


# --- Staff --------------------------------------------------------------------------------------------


def case_homework(*, case: Case) -> list[AssignmentView]:
    """Every assignment of the case with both partners' entries (private ones too) and adherence.

    The caller has checked that the user may see the case's clinical content.
    """
    assignments = list(
        _with_case(Assignment.objects.filter(case=case)).order_by("status", "-assigned_at", "-id")
    )
    for a in assignments:
        a.case = case  # partners already loaded with the case
    logs_by: dict[int, list[AssignmentLog]] = defaultdict(list)
    counts: dict[tuple[int, int], dict[str, Any]] = defaultdict(lambda: {"done": 0, "not_done": 0})
    for log in AssignmentLog.objects.filter(assignment__case=case).select_related("client"):
        logs_by[log.assignment_id].append(log)
        c = counts[(log.assignment_id, log.client_id)]
        c["done" if log.done else "not_done"] += 1
        c["last_at"] = max(filter(None, [c.get("last_at"), log.logged_at]))
    return [AssignmentView(a, _adherence(a, counts), logs_by[a.pk]) for a in assignments]


@remembered_query
def _active_of_case(*, case_id: int) -> QuerySet[Assignment]:
    # Read on every view of the case page: compiled once per worker (lib/remembered_queries.py).
    return Assignment.objects.active().filter(case_id=case_id).select_related("exercise", "client")


def case_adherence(*, user: Any, case: Case) -> list[AssignmentView] | None:
    """Active assignments of a case with adherence, for the case page; None when the user may not see it."""
    if not can_see_clinical(user, case):
        return None
    # Only the exercise's title and the partner's name are printed; the case and its partners are the
    # page's own (a join of eight tables was planned afresh on every view, for a list usually empty).
    assignments = _active_of_case.rows(case_id=case.pk)
    for a in assignments:
        a.case = case
    counts = _counts(a.pk for a in assignments)
    return [AssignmentView(a, _adherence(a, counts)) for a in assignments]


TODAY_ADHERENCE_ROWS = 200


@remembered_query
def _active_of_cases(*, seen: Ids, case_ids: Ids | None = None) -> QuerySet[Assignment]:
    # Read on every view of Today: compiled once per worker (lib/remembered_queries.py).
    return (
        Assignment.objects.active()
        .filter(in_care(case_ids=case_ids), case_id__any_of=seen)
        .select_related("exercise", "client", "case__partner_a", "case__partner_b")
        .only(*link_fields("case__"), "exercise__title", "client__first_name", "times_expected")
        .order_by("case__reference", "-assigned_at")[:TODAY_ADHERENCE_ROWS]
    )


def today_adherence(
    *,
    user: Any,
    day: dt.date,
    scope: CareScope | None = None,
    case_ids: Collection[int] | None = None,
) -> list[tuple[Case, list[AssignmentView]]]:
    """For the clinician's sessions of the day: each case's active homework and how far each partner got.
    `case_ids`: the cases of those sessions, when the page has read them already (Today has)."""
    if user.role not in (Role.THERAPIST, Role.DIRECTOR):
        return []
    if case_ids is None:
        start, end = local_day_bounds(day)
        # Their own sessions, a director's too: the practice's day is the calendar's, not this block's.
        seen_today = Appointment.objects.held_by_therapist(user, start, end)
        case_ids = list(seen_today.order_by().values_list("case_id", flat=True).distinct())
    if not case_ids:
        # No sessions of theirs today (a weekend, a director who sees no clients): nothing to ask.
        return []
    # Today's few cases first, as values: with the appointments as a subquery PostgreSQL joined every
    # active assignment of the practice to its people before narrowing. Then only what Today prints:
    # the exercise's title, who it is for and the partners' names (homework/_today_adherence.html).
    scope = scope or care_scope(user)
    assignments = _active_of_cases.rows(seen=Ids(case_ids), **scope.values())
    counts = _counts(a.pk for a in assignments)
    by_case: dict[int, tuple[Case, list[AssignmentView]]] = {}
    for a in assignments:
        by_case.setdefault(a.case_id, (a.case, []))[1].append(AssignmentView(a, _adherence(a, counts)))
    return list(by_case.values())


def assignment_for_staff(*, user: Any, assignment_id: int) -> Assignment:
    """An assignment whose case's clinical content this user may see; otherwise 404 (audited)."""
    assignment = (
        _with_case(Assignment.objects.filter(case__in=staff_cases_visible_to(user)))
        .filter(pk=assignment_id)
        .first()
    )
    if assignment is None or not can_see_clinical(user, assignment.case):
        raise deny(user, what="assignment", object_id=assignment_id)
    return assignment


def exercises_for(case: Case) -> QuerySet[Exercise]:
    """What can be picked in the assign form: active, not a later stage (those are unlocked)."""
    return Exercise.objects.filter(active=True, previous_stage__isnull=True).order_by(
        "category", "sort_order", "title"
    )


# --- Clients ------------------------------------------------------------------------------------------


def _client_scope(user: Any) -> Q:
    """Assignments a client may see: in their cases, for the couple or for them alone."""
    return Q(case__in=cases_visible_to(user)) & (Q(client__isnull=True) | Q(client__user=user))


def logs_visible_to_client(user: Any) -> Q:
    """Entries a client may read: their own, and their partner's shared entries on a couple assignment."""
    return Q(assignment__case__in=cases_visible_to(user)) & (
        Q(client__user=user) | (Q(shared=True) & Q(assignment__client__isnull=True))
    )


def client_assignments(*, user: Any) -> list[AssignmentView]:
    """The portal's list: this client's assignments (active first) with the entries they may read."""
    if user.role != Role.CLIENT:
        return []
    # Ids first, then the rows with case, partners and exercise: in one query PostgreSQL joined every
    # assignment of the practice to its people before narrowing to this client's case (the case scope
    # is a UNION it cannot push into the joins).
    ids = list(Assignment.objects.filter(_client_scope(user)).values_list("pk", flat=True))
    assignments = list(
        _with_case(Assignment.objects.filter(pk__in=ids)).order_by("status", "-assigned_at", "-id")
    )
    logs_by: dict[int, list[AssignmentLog]] = defaultdict(list)
    own: dict[tuple[int, int], dict[str, Any]] = defaultdict(lambda: {"done": 0, "not_done": 0})
    logs = AssignmentLog.objects.filter(
        logs_visible_to_client(user), assignment_id__in=[a.pk for a in assignments]
    ).select_related("client")
    for log in logs:
        logs_by[log.assignment_id].append(log)
        if log.client.user_id == user.pk:
            c = own[(log.assignment_id, log.client_id)]
            c["done" if log.done else "not_done"] += 1
    views = []
    for a in assignments:
        mine = [row for row in _adherence(a, own) if row.client.user_id == user.pk]
        views.append(AssignmentView(a, mine, logs_by[a.pk]))
    return views


def client_assignment(*, user: Any, assignment_id: Any) -> AssignmentView:
    """One assignment for the portal's log page, or 404 (audited) when it is not this client's to see."""
    try:
        pk = int(assignment_id)
    except (TypeError, ValueError):
        raise Http404("Not found") from None
    if user.role == Role.CLIENT:
        assignment = _with_case(Assignment.objects.filter(_client_scope(user))).filter(pk=pk).first()
    else:
        assignment = None
    if assignment is None:
        raise deny(user, what="assignment", object_id=pk)
    logs = list(
        AssignmentLog.objects.filter(logs_visible_to_client(user), assignment=assignment).select_related(
            "client"
        )
    )
    own: dict[tuple[int, int], dict[str, Any]] = defaultdict(lambda: {"done": 0, "not_done": 0})
    for log in logs:
        if log.client.user_id == user.pk:
            own[(pk, log.client_id)]["done" if log.done else "not_done"] += 1
    mine = [row for row in _adherence(assignment, own) if row.client.user_id == user.pk]
    return AssignmentView(assignment, mine, logs)


def is_open(assignment: Assignment) -> bool:
    return assignment.status == AssignmentStatus.ACTIVE
