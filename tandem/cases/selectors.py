"""Reads behind the staff pages, always scoped through the permission layer."""

import datetime as dt
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, Q

from tandem.access.services import staff_cases_visible_to
from tandem.cases.models import OPEN_PHASES, Case, CaseQuerySet
from tandem.pathway import selectors as pathway_selectors
from tandem.scheduling.models import AppointmentStatus


def case_search(*, user: Any, name_filter: Q, phase: str, therapist: Any, page: int, per_page: int) -> Page:
    cases: CaseQuerySet = staff_cases_visible_to(user).with_people().filter(name_filter)
    if phase == "open":
        cases = cases.filter(phase__in=OPEN_PHASES)
    elif phase:
        cases = cases.filter(phase=phase)
    if therapist is not None:
        cases = cases.assigned_to(therapist)
    return Paginator(cases.order_by("-opened_on", "-id"), per_page).get_page(page)


def case_detail_context(*, case: Case, now: dt.datetime, user: Any, clinical: bool) -> dict[str, Any]:
    """Everything the case page shows beyond the case row itself, in a fixed number of queries."""
    appointments = (
        case.appointments.exclude(status=AppointmentStatus.CANCELLED)
        .select_related("room__location")
        .prefetch_related(Prefetch("therapists"))
        .order_by("starts_at")
    )
    return {
        "upcoming": list(appointments.filter(starts_at__gte=now)[:10]),
        "recent": list(appointments.filter(starts_at__lt=now).order_by("-starts_at")[:10]),
        "problems": list(case.problems.select_related("problem", "client").order_by("problem__sort_order")),
        "grants": list(case.break_glass_grants.select_related("user").order_by("-started_at")[:10]),
        "timeline": pathway_selectors.case_timeline(case=case, clinical=clinical),
        **pathway_selectors.case_pathway(case=case, user=user, clinical=clinical),
    }
