"""The measurement schedule: which questionnaires a case's clients owe, derived from what happened.

Design: the occasions are computed from the record the other apps already keep (phase changes, the
treatment plan's format, attended sessions, follow-up tasks, presenting problems) and stored as
MeasureRequest rows with a stable occasion key, so `measures_schedule_for_case` can run any number of
times and only ever adds what is missing. It runs after commit whenever a service changes one of those
records (`later.measures_schedule_later`, called by the cases, pathway, scheduling and public services)
and from the `measures_schedule` command, a backstop. Reads (Today, the portal) only read rows: no page
writes.

Only the latest due occasion per client and questionnaire stays open: when a case is scheduled late, a
client is asked once, not once for every occasion that passed meanwhile.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from tandem.cases.models import AbsentPartner, Case, CaseProblem, Client, Phase, PhaseChange
from tandem.lib.time import local_today, practice_zone
from tandem.measures import policy
from tandem.measures.models import Instrument, MeasureRequest
from tandem.pathway.models import FollowUpTask, TreatmentFormat, TreatmentPlan
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentStatus

SCHEDULED_PHASES = (Phase.INTAKE, Phase.ASSESSMENT, Phase.TREATMENT, Phase.FOLLOW_UP)
PHASE_ORDER = [Phase.CONSULTATION, Phase.INTAKE, Phase.ASSESSMENT, Phase.TREATMENT, Phase.FOLLOW_UP]

FULL, SESSION, DAILY = "full", "session", "daily"


@dataclass(frozen=True)
class Occasion:
    key: str
    reason: str
    due_on: dt.date
    kind: str  # FULL, SESSION or DAILY: which set of questionnaires


def _local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment, practice_zone()).date()


def _reached(case: Case, phase: str, changes: list[PhaseChange]) -> dt.date | None:
    """The local day the case first entered `phase`, or the day it was opened if it started past it."""
    for change in changes:
        if change.to_phase == phase:
            return _local_day(change.at)
    if case.phase in PHASE_ORDER and PHASE_ORDER.index(Phase(case.phase)) >= PHASE_ORDER.index(Phase(phase)):
        return case.opened_on
    return None


def occasions_for(
    case: Case,
    *,
    changes: list[PhaseChange],
    plan_format: str | None,
    appointments: list[Appointment],
    follow_ups: list[FollowUpTask],
) -> list[Occasion]:
    """The policy applied to one case's history (pure: no queries)."""
    occasions: list[Occasion] = []
    intake = _reached(case, Phase.INTAKE, changes)
    if intake is not None:
        occasions.append(Occasion("intake", "Baseline at intake", intake, FULL))
    treatment = _reached(case, Phase.TREATMENT, changes)
    if treatment is not None:
        occasions.append(Occasion("assessment_end", "End of assessment", treatment, FULL))
    live = [a for a in appointments if a.status != AppointmentStatus.CANCELLED]
    if plan_format == TreatmentFormat.INTENSIVE:
        intensive = [a for a in live if a.kind == AppointmentKind.INTENSIVE]
        if policy.INTENSIVE_SCHEDULE == "daily":
            days = sorted(
                {_local_day(a.starts_at) for a in intensive if a.status == AppointmentStatus.ATTENDED}
            )
            # The last day gets the full set (below) instead of the brief check.
            last = max(_local_day(a.starts_at) for a in intensive) if intensive else None
            occasions += [
                Occasion(f"intensive_day:{day.isoformat()}", f"Intensive, day {n}", day, DAILY)
                for n, day in enumerate(days, start=1)
                if day != last
            ]
        if intensive:
            end = max(_local_day(a.starts_at) for a in intensive)
            occasions.append(Occasion("intensive_end", "End of the intensive block", end, FULL))
    else:
        attended = sorted(
            (
                a
                for a in live
                if a.kind == AppointmentKind.STANDARD and a.status == AppointmentStatus.ATTENDED
            ),
            key=lambda a: a.starts_at,
        )
        every = max(policy.SESSIONS_BETWEEN_MEASURES, 1)
        for n, appointment in enumerate(attended, start=1):
            if n % every == 0:
                occasions.append(
                    Occasion(f"session:{n}", f"After session {n}", _local_day(appointment.starts_at), SESSION)
                )
    occasions += [Occasion(f"follow_up:{task.pk}", task.label, task.due_on, FULL) for task in follow_ups]
    return occasions


def instruments_for(case: Case, kind: str, problems: list[CaseProblem]) -> list[tuple[Client, str]]:
    """(client, instrument code) pairs an occasion of this kind asks for."""
    partners = case.partners
    # A relationship measure means nothing to a client who has no current partner.
    couple_clients = [] if case.absent_partner == AbsentPartner.NO_PARTNER else partners
    if kind == DAILY:
        return [(client, policy.COUPLE_BRIEF_INSTRUMENT) for client in couple_clients]
    wanted = [(client, policy.COUPLE_INSTRUMENT) for client in couple_clients]
    wanted += [(client, code) for client in partners for code in policy.MOOD_INSTRUMENTS]
    if kind == FULL:
        for problem in problems:
            # A problem that names no partner fits one person only in an individual case.
            client = problem.client or (None if case.is_couple else case.partner_a)
            if client is None or client.pk not in {c.pk for c in partners}:
                continue
            for code in policy.SEXUAL_FUNCTION_INSTRUMENTS.get(problem.problem.slug, ()):
                if (client, code) not in wanted:
                    wanted.append((client, code))
    return wanted


def measures_schedule_for_case(case_id: int, *, today: dt.date | None = None) -> int:
    """Create the requests the policy asks for and tidy the open ones; idempotent. Returns the new count."""
    today = today or local_today()
    if not Instrument.objects.exists():
        return 0  # no library loaded yet (`manage.py load_instruments`), so nothing can be asked
    with transaction.atomic():
        case = Case.objects.locked().filter(pk=case_id).first()
        if case is None:
            return 0
        case = Case.objects.select_related("partner_a", "partner_b").get(pk=case_id)
        open_requests = MeasureRequest.objects.filter(
            case=case, completed_at__isnull=True, cancelled_at__isnull=True
        )
        if case.phase not in SCHEDULED_PHASES:
            open_requests.update(cancelled_at=timezone.now(), cancelled_reason="The case is not in care now.")
            return 0
        # A partner who has left the case is asked nothing more in it.
        open_requests.exclude(client__in=case.partners).update(
            cancelled_at=timezone.now(), cancelled_reason="They no longer take part in the case."
        )
        instruments = {i.code: i for i in Instrument.objects.only("id", "code")}
        if not instruments:
            return 0
        plan = TreatmentPlan.objects.filter(case=case).order_by("-version").only("format").first()
        occasions = occasions_for(
            case,
            changes=list(PhaseChange.objects.filter(case=case).order_by("at", "id")),
            plan_format=plan.format if plan else None,
            appointments=list(
                Appointment.objects.filter(
                    case=case, kind__in=[AppointmentKind.STANDARD, AppointmentKind.INTENSIVE]
                ).only("kind", "status", "starts_at")
            ),
            follow_ups=list(FollowUpTask.objects.filter(case=case).only("label", "due_on")),
        )
        problems = list(CaseProblem.objects.filter(case=case).select_related("problem", "client"))
        wanted: list[MeasureRequest] = []
        for occasion in occasions:
            for client, code in instruments_for(case, occasion.kind, problems):
                instrument = instruments.get(code)
                if instrument is None:
                    continue
                wanted.append(
                    MeasureRequest(
                        case=case,
                        client=client,
                        instrument=instrument,
                        occasion=occasion.key,
                        reason=occasion.reason,
                        due_on=occasion.due_on,
                    )
                )
        before = MeasureRequest.objects.filter(case=case).count()
        MeasureRequest.objects.bulk_create(wanted, ignore_conflicts=True)
        created = MeasureRequest.objects.filter(case=case).count() - before
        _follow_moved_dates(open_requests, wanted)
        _supersede(open_requests, today)
    return created


def _follow_moved_dates(open_requests: Any, wanted: list[MeasureRequest]) -> None:
    """A rescheduled follow-up or a longer intensive block moves the open requests' due day with it."""
    due = {(w.client_id, w.instrument_id, w.occasion): w.due_on for w in wanted}
    for request in open_requests.only("client_id", "instrument_id", "occasion", "due_on"):
        new = due.get((request.client_id, request.instrument_id, request.occasion))
        if new is not None and new != request.due_on:
            MeasureRequest.objects.filter(pk=request.pk).update(due_on=new)


def _supersede(open_requests: Any, today: dt.date) -> None:
    latest: dict[tuple[int, int], list[MeasureRequest]] = defaultdict(list)
    for request in open_requests.filter(due_on__lte=today).order_by("due_on", "id"):
        latest[(request.client_id, request.instrument_id)].append(request)
    stale = [pk for requests in latest.values() for pk in (r.pk for r in requests[:-1])]
    if stale:
        MeasureRequest.objects.filter(pk__in=stale).update(
            cancelled_at=timezone.now(), cancelled_reason="A later occasion asks for it again."
        )


def measures_schedule_all(*, today: dt.date | None = None) -> int:
    """Every case in care (the command): returns how many requests were new."""
    ids = Case.objects.filter(phase__in=SCHEDULED_PHASES).values_list("pk", flat=True)
    return sum(measures_schedule_for_case(pk, today=today) for pk in ids.iterator())
