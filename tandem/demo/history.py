"""The audit events of the bulk-written history: what the services would have recorded, when.

Read back from the rows just written (a few queries, no per-row lookups) and handed to the backlog,
which signs them onto the chain in time order.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Model

from tandem.cases.models import Case, PhaseChange
from tandem.demo.audit import AuditBacklog
from tandem.pathway.models import (
    AssessmentFindings,
    FollowUpTask,
    IntakeRecord,
    Referral,
    TreatmentConsent,
    TreatmentPlan,
)
from tandem.scheduling.models import Appointment

CHUNK = 5000


def history_events(backlog: AuditBacklog, *, coordinator_id: int, director_id: int) -> None:
    _cases(backlog, coordinator_id)
    _sessions(backlog, coordinator_id)
    _pathway(backlog)


def _cases(backlog: AuditBacklog, coordinator_id: int) -> None:
    couples = dict(Case.objects.values_list("pk", "partner_b_id"))
    for pk, case_id, before, after, at, by_id in (
        PhaseChange.objects.order_by("pk")
        .values_list("pk", "case_id", "from_phase", "to_phase", "at", "by_id")
        .iterator(chunk_size=CHUNK)
    ):
        if not before:
            backlog.add(
                at=at,
                actor_id=by_id or coordinator_id,
                action="case.open",
                target_type="cases.case",
                target_id=case_id,
                case_id=case_id,
                detail={"couple": couples.get(case_id) is not None, "problems": []},
            )
            continue
        backlog.add(
            at=at,
            actor_id=by_id,
            action="case.phase_change",
            target_type="cases.phasechange",
            target_id=pk,
            case_id=case_id,
            detail={"from": before, "to": after, "overridden": [], "follow_ups": 0},
        )


def _sessions(backlog: AuditBacklog, coordinator_id: int) -> None:
    """Each session booked by the front desk a week ahead (never before its case opened)."""
    opened = {
        pk: dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)
        for pk, day in Case.objects.values_list("pk", "opened_on")
    }
    for pk, case_id, kind, starts_at in (
        Appointment.objects.order_by("pk")
        .values_list("pk", "case_id", "kind", "starts_at")
        .iterator(chunk_size=CHUNK)
    ):
        booked = max(starts_at - dt.timedelta(days=7), opened[case_id])
        backlog.add(
            at=min(booked, starts_at),
            actor_id=coordinator_id,
            action="appointment.book",
            target_type="scheduling.appointment",
            target_id=pk,
            case_id=case_id,
            detail={"kind": kind},
        )


# (model, action, when, by whom): each pathway record the seed writes, as its service would audit it.
PATHWAY_EVENTS: tuple[tuple[type[Model], str, str, str], ...] = (
    (IntakeRecord, "intake.create", "updated_at", "updated_by_id"),
    (TreatmentConsent, "consent.treatment", "given_at", "recorded_by_id"),
    (AssessmentFindings, "assessment.findings", "updated_at", "updated_by_id"),
    (Referral, "referral.create", "sent_at", "referred_by_id"),
    (Referral, "referral.appointment_made", "appointment_recorded_at", "referred_by_id"),
    (Referral, "referral.result", "result_recorded_at", "referred_by_id"),
    (TreatmentPlan, "plan.version", "created_at", "created_by_id"),
    (FollowUpTask, "followup.done", "done_at", "done_by_id"),
)


def _pathway(backlog: AuditBacklog) -> None:
    for model, action, when, by in PATHWAY_EVENTS:
        rows = model._default_manager.filter(**{f"{when}__isnull": False}).values_list(
            "pk", "case_id", when, by
        )
        for pk, case_id, at, by_id in rows.iterator(chunk_size=CHUNK):
            backlog.add(
                at=at,
                actor_id=by_id,
                action=action,
                target_type=model._meta.label_lower,
                target_id=pk,
                case_id=case_id,
            )
