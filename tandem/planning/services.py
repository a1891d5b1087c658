"""Planning runs: queue one (instance frozen from the database), solve it in the background, accept it.

No web request waits for the solver. The page queues a run; a worker (`manage.py planning_worker`, or
`run_pending` called from another worker loop) claims queued runs in one transaction, on PostgreSQL with
`SELECT … FOR UPDATE SKIP LOCKED` so that two workers never take the same run, and solves them with the
run's time limit. A run claimed longer ago than STALE_AFTER (a worker that died) may be taken again.

Accepting books every chosen block through intensive_book, each block whole or not at all (its own
savepoint), all inside one transaction that also marks the run accepted and writes the audit event.
A block that no longer fits (the calendar changed since the run) is reported by name and the others
are kept: one stale block should not cost the rest of a good plan.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from tandem.access.calendar import can_plan_intensives
from tandem.access.services import AccessDenied
from tandem.accounts.models import User
from tandem.audit.services import audit_record
from tandem.lib.errors import Refusal
from tandem.planning.adapter import DEFAULT_SLOT_STARTS, book_block, build_instance
from tandem.planning.explain import explain_unscheduled
from tandem.planning.models import PlanningRun, RunStatus
from tandem.practice.models import Location
from tandem.scheduling.services import BookingError

log = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT = 30
# Far longer than the longest time limit the form allows (two minutes) plus writing the plan.
STALE_AFTER = dt.timedelta(minutes=10)


def run_queue(
    *,
    actor: User,
    first_day: dt.date,
    last_day: dt.date,
    location: Location | None = None,
    time_limit: int = DEFAULT_TIME_LIMIT,
    slot_starts: tuple[str, ...] = DEFAULT_SLOT_STARTS,
) -> PlanningRun:
    """Freeze the waiting list and calendars into an instance and queue a run for the worker."""
    if not can_plan_intensives(actor):
        raise AccessDenied("Only the coordinator or the clinical director plans intensives.")
    instance = build_instance(
        first_day=first_day, last_day=last_day, location=location, slot_starts=slot_starts
    )
    with transaction.atomic():
        run = PlanningRun.objects.create(
            requested_by=actor,
            requested_at=timezone.now(),
            first_day=first_day,
            last_day=last_day,
            time_limit=time_limit,
            instance=instance,
            couples=len(instance["couples"]),
        )
        audit_record(
            actor=actor,
            action="planning.queue",
            target=run,
            detail={
                "first_day": first_day.isoformat(),
                "last_day": last_day.isoformat(),
                "couples": len(instance["couples"]),
                "time_limit": time_limit,
            },
        )
    return run


def claim(*, worker: str, now: dt.datetime) -> PlanningRun | None:
    """Take the oldest queued (or abandoned) run for this worker; no other worker gets the same one."""
    with transaction.atomic():
        waiting = PlanningRun.objects.filter(
            Q(status=RunStatus.QUEUED) | Q(status=RunStatus.RUNNING, started_at__lt=now - STALE_AFTER)
        )
        if connection.features.has_select_for_update_skip_locked:
            waiting = waiting.select_for_update(skip_locked=True)
        run = waiting.order_by("requested_at", "pk").first()
        if run is None:
            return None
        PlanningRun.objects.filter(pk=run.pk).update(
            status=RunStatus.RUNNING, claimed_by=worker, started_at=now
        )
        run.status, run.claimed_by, run.started_at = RunStatus.RUNNING, worker, now
    return run


def execute(run: PlanningRun) -> PlanningRun:
    """Solve a claimed run and store the plan and figures (or the failure)."""
    try:
        # OR-Tools (and the pandas it pulls in) takes seconds to import: only the worker pays for it,
        # never the first web request.
        from tandem.planning.core import plan_with_stats

        plan, stats = plan_with_stats(run.instance, time_limit=float(run.time_limit), workers=2)
        # The page shows the plain-language reason; computed once here rather than on every view.
        reasons = explain_unscheduled(run.instance, plan)
        for left in plan["unscheduled"]:
            left["reason"] = reasons.get(left["couple"], left["reason"])
    except (
        Exception
    ) as error:  # any solver or data failure marks the run failed instead of killing the worker
        log.warning("planning run %s failed (%s)", run.pk, type(error).__name__)
        PlanningRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED,
            error=f"{type(error).__name__}: {error}"[:300],
            finished_at=timezone.now(),
        )
        run.refresh_from_db()
        return run
    plan["stats"] = stats.as_dict()
    PlanningRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
        status=RunStatus.DONE,
        plan=plan,
        scheduled=len(plan["blocks"]),
        finished_at=timezone.now(),
        weight=stats.weight,
        weighted_wait=stats.weighted_wait,
        weight_bound=stats.weight_bound,
        seconds=round(stats.seconds, 2),
        baseline_weight=stats.baseline_weight,
        baseline_wait=stats.baseline_wait,
    )
    run.refresh_from_db()
    return run


def run_pending(*, worker: str, now: dt.datetime | None = None, limit: int = 5) -> int:
    """One worker pass: solve up to `limit` queued runs. Returns how many were solved."""
    done = 0
    while done < limit:
        run = claim(worker=worker, now=now or timezone.now())
        if run is None:
            break
        execute(run)
        done += 1
    return done


def run_accept(
    *, actor: User, run: PlanningRun, couples: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Book the chosen blocks of a finished run (all when `couples` is None).

    Returns, per couple id, {"series": id} or {"error": message}. The run is marked accepted whatever
    the outcome of single blocks, so a proposal is accepted once; a second attempt is refused.
    """
    if not can_plan_intensives(actor):
        raise AccessDenied("Only the coordinator or the clinical director plans intensives.")
    outcome: dict[str, dict[str, Any]] = {}
    with transaction.atomic():
        locked = PlanningRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != RunStatus.DONE or locked.plan is None:
            raise Refusal("Only a finished proposal that has not been accepted yet can be accepted.")
        chosen = set(couples) if couples is not None else None
        blocks = [b for b in locked.plan["blocks"] if chosen is None or b["couple"] in chosen]
        for block in sorted(blocks, key=lambda b: (b["sessions"][0]["start"], b["couple"])):
            try:
                series = book_block(actor=actor, block=block)
            except (BookingError, AccessDenied, Refusal) as error:
                outcome[block["couple"]] = {"error": str(error)}
            else:
                outcome[block["couple"]] = {"series": series.pk}
        locked.status = RunStatus.ACCEPTED
        locked.accepted_by = actor
        locked.accepted_at = timezone.now()
        locked.outcome = outcome
        locked.save(update_fields=["status", "accepted_by", "accepted_at", "outcome"])
        audit_record(
            actor=actor,
            action="planning.accept",
            target=locked,
            detail={
                "booked": sorted(k for k, v in outcome.items() if "series" in v),
                "refused": sorted(k for k, v in outcome.items() if "error" in v),
                "left_out": sorted(b["couple"] for b in locked.plan["blocks"] if b["couple"] not in outcome),
            },
        )
    run.refresh_from_db()
    return outcome
