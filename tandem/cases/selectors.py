"""Reads behind the staff pages, always scoped through the permission layer."""

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Q

from tandem.access.services import staff_cases_visible_to
from tandem.cases.models import OPEN_PHASES, CaseQuerySet


def case_search(*, user: Any, name_filter: Q, phase: str, therapist: Any, page: int, per_page: int) -> Page:
    cases: CaseQuerySet = staff_cases_visible_to(user).with_people().filter(name_filter)
    if phase == "open":
        cases = cases.filter(phase__in=OPEN_PHASES)
    elif phase:
        cases = cases.filter(phase=phase)
    if therapist is not None:
        cases = cases.assigned_to(therapist)
    return Paginator(cases.order_by("-opened_on", "-id"), per_page).get_page(page)
