"""The coordinator's intensive planner: queue a run, watch it, review the proposal, accept it."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from tandem.access.calendar import can_plan_intensives
from tandem.access.services import AccessDenied, deny
from tandem.accounts.http import AuthedRequest
from tandem.lib.errors import Refusal
from tandem.lib.time import local_today
from tandem.planning.forms import RunForm
from tandem.planning.instance import InstanceError
from tandem.planning.models import PlanningRun
from tandem.planning.selectors import proposal, recent_runs
from tandem.planning.services import run_accept as accept_service
from tandem.planning.services import run_queue
from tandem.planning.waiting import waiting_count


def _planner(request: AuthedRequest, what: str, object_id: object) -> None:
    if not can_plan_intensives(request.user):
        raise deny(request.user, what=what, object_id=object_id)


def _run(request: AuthedRequest, run_id: int) -> PlanningRun:
    _planner(request, "planning_run", run_id)
    run = PlanningRun.objects.select_related("requested_by", "accepted_by").filter(pk=run_id).first()
    if run is None:
        raise deny(request.user, what="planning_run", object_id=run_id)
    return run


@require_http_methods(["GET", "POST"])
def runs(request: AuthedRequest) -> HttpResponse:
    _planner(request, "planning", "runs")
    if request.method == "POST":
        form = RunForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                run = run_queue(
                    actor=request.user,
                    first_day=data["first_day"],
                    last_day=data["last_day"],
                    location=data["location"],
                    time_limit=data["time_limit"],
                )
            except (AccessDenied, InstanceError) as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request, "The run is queued: the proposal appears here when the solver is done."
                )
                return redirect("planning:run", run_id=run.pk)
    else:
        today = local_today()
        first = today + dt.timedelta(days=1)
        form = RunForm(initial={"first_day": first, "last_day": first + dt.timedelta(days=55)})
    return render(
        request,
        "planning/runs.html",
        {
            "nav": "planning",
            "form": form,
            "runs": list(recent_runs()),
            "waiting": waiting_count(),
        },
    )


@require_safe
def run_detail(request: AuthedRequest, run_id: int) -> HttpResponse:
    run = _run(request, run_id)
    return render(
        request,
        "planning/run.html",
        {"nav": "planning", "run": run, "proposal": proposal(run)},
    )


@require_POST
def run_accept(request: AuthedRequest, run_id: int) -> HttpResponse:
    run = _run(request, run_id)
    chosen = request.POST.getlist("couple")
    if not chosen:
        messages.error(request, "Tick at least one block to accept.")
        return redirect("planning:run", run_id=run.pk)
    try:
        outcome = accept_service(actor=request.user, run=run, couples=chosen)
    except Refusal as error:
        messages.error(request, str(error))
        return redirect("planning:run", run_id=run.pk)
    booked = sum(1 for v in outcome.values() if "series" in v)
    refused = len(outcome) - booked
    if refused:
        messages.warning(
            request,
            f"{booked} blocks booked; {refused} could not be booked because the calendar changed "
            "since the run (see below). The others stay booked.",
        )
    else:
        messages.success(request, f"All {booked} blocks are booked.")
    return redirect("planning:run", run_id=run.pk)
