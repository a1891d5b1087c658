"""The intensive waiting list: its definition, and the kept copy the planner's page counts.

The definition asks each open case with an intensive plan version for its latest plan and its intensive
bookings; that is exact but grows with the practice's history (1,755 such cases at 20,000 cases, for a
dozen waiting). The page's count reads `WaitingCase` instead, a row per waiting case that
`waiting_refresh` rewrites from the definition after every change that can move a case on or off the
list: a plan version (pathway's plan_save), a phase change (closing, reopening), and an intensive booked,
moved or cancelled (scheduling's services). They call `tandem.lib.later.case_changed_later`; the handler
is registered in `planning.apps`. A refresh that failed after its commit is caught up by
`manage.py waiting_list_rebuild`. Building a planning run and booking its blocks read the definition
itself, so a stale row can only ever misstate the page's count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery

from tandem.cases.models import Case, CaseQuerySet
from tandem.pathway.models import TreatmentFormat, TreatmentPlan
from tandem.planning.models import WaitingCase
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentStatus


def intensive_waiting_list() -> CaseQuerySet:
    """The intensive waiting list: open cases whose current (highest-version) treatment plan has the
    intensive format and that have no intensive session booked since that plan version was made
    (a cancelled session does not count; an intensive held before a newer plan version does not either).
    Oldest cases first."""
    latest = TreatmentPlan.objects.filter(case=OuterRef("pk")).order_by("-version")
    booked = Appointment.objects.filter(
        case=OuterRef("pk"), kind=AppointmentKind.INTENSIVE, starts_at__gte=OuterRef("plan_at")
    ).exclude(status=AppointmentStatus.CANCELLED)
    # Only a case with an intensive plan version can be waiting: that narrows the practice's open cases
    # to a few through plan_intensive_case_idx before each is asked for its latest plan.
    ever_intensive = TreatmentPlan.objects.filter(format=TreatmentFormat.INTENSIVE).values("case_id")
    return (
        Case.objects.open()
        .filter(pk__in=ever_intensive)
        .annotate(
            plan_format=Subquery(latest.values("format")[:1]),
            plan_at=Subquery(latest.values("created_at")[:1]),
        )
        .filter(plan_format=TreatmentFormat.INTENSIVE)
        .exclude(Exists(booked))
        .with_people()
        .order_by("opened_on", "pk")
    )


def waiting_since(cases: list[Case]) -> dict[int, dt.datetime]:
    """When each case began waiting: the first plan version of the unbroken run of intensive versions
    that ends at the current one."""
    since: dict[int, dt.datetime] = {}
    broken: set[int] = set()
    rows = TreatmentPlan.objects.filter(case__in=cases).order_by("case_id", "-version")
    for case_id, fmt, created_at in rows.values_list("case_id", "format", "created_at"):
        if case_id in broken:
            continue
        if fmt != TreatmentFormat.INTENSIVE:
            broken.add(case_id)
            continue
        since[case_id] = created_at
    return since


def waiting_count() -> int:
    return WaitingCase.objects.count()


def waiting_refresh(*, case_ids: Collection[int] | None = None) -> int:
    """Rewrite the kept rows of CASE_IDS (every case when None) from the definition; returns how many of
    them are waiting."""
    with transaction.atomic():
        listed = intensive_waiting_list().order_by()
        kept = WaitingCase.objects.all()
        if case_ids is not None:
            # The cases locked first: two refreshes of one case then run one after the other, and the
            # second reads everything the first one's change committed.
            list(Case.objects.locked().filter(pk__in=case_ids).order_by("pk").values("pk"))
            listed = listed.filter(pk__in=case_ids)
            kept = kept.filter(case_id__in=case_ids)
        waiting = set(listed.values_list("pk", flat=True))
        kept.exclude(case_id__in=waiting).delete()
        WaitingCase.objects.bulk_create((WaitingCase(case_id=pk) for pk in waiting), ignore_conflicts=True)
    return len(waiting)
