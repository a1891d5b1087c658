"""Reads behind the staff pages, always scoped through the permission layer."""

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Q

from tandem.access.services import staff_cases_visible_to
from tandem.cases.models import Case, CaseQuerySet, link_fields

# What a row of the results prints (cases/_case_rows.jinja): with every column of the case, its two clients
# and up to three users, building the rows cost more than finding them.
_LISTED = (
    *link_fields(),
    "therapist",
    "team",
    *(
        f"{user}__{name}"
        for user in ("therapist", "team__first", "team__second")
        for name in ("first_name", "last_name")
    ),
)


def case_search(*, user: Any, name_filter: Q, phase: str, therapist: Any, page: int, per_page: int) -> Page:
    """One page of the cases this user may open that match the filters, with their people loaded.

    The page's ids are found first, then only those rows are loaded with partners, therapist and team:
    asked in one query, PostgreSQL joined every case the user may open to both partners (a hash over
    every client of the practice) before the name search narrowed them to a handful."""
    cases: CaseQuerySet = staff_cases_visible_to(user).filter(name_filter)
    if phase == "open":
        cases = cases.open()
    elif phase:
        cases = cases.filter(phase=phase)
    if therapist is not None:
        cases = cases.assigned_to(therapist)
    ids = cases.order_by("-opened_on", "-id").values_list("pk", flat=True)
    found: Page[Any] = Paginator(ids, per_page).get_page(page)
    page_ids = list(found.object_list)
    rows = {case.pk: case for case in Case.objects.with_people().only(*_LISTED).filter(pk__in=page_ids)}
    found.object_list = [rows[pk] for pk in page_ids]
    return found
