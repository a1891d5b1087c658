"""The synthetic demo practice, and its large variant for benchmarks: the seed's one entry point.

Everything here is invented: people, the clinic, addresses, 555-01xx numbers and `.invalid` e-mail
domains. The practice's structure and years of history are bulk-inserted (one service call per row would
make the benchmark practice take hours), and `AuditBacklog` appends the audit events those rows would
have produced as one valid chain. The small demo's clinical record (notes, questionnaires, consents,
homework) is written through the real services, which audit themselves.

The history is simulated forward from each case's opening day through the phases, and every session is
placed in a half-hour slot grid per therapist and per room, so the generated calendar never double-books
anyone: the pages then show what a real practice would, and the benchmark measures realistic rows.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from django.db import connection, transaction
from django.test.utils import override_settings

from tandem.accounts.models import CoTherapyTeam, TherapistProfile, User, WorkingHours
from tandem.audit.models import AuditEvent
from tandem.cases.models import Case, CaseProblem, Client, PhaseChange
from tandem.consents.models import Consent
from tandem.demo.audit import AuditBacklog
from tandem.demo.billing import seed_billing
from tandem.demo.cases import CasesSeed
from tandem.demo.claims import seed_claims
from tandem.demo.clinical import seed_clinical
from tandem.demo.data import DEFAULT_SEED, DEMO_PRACTICE_NAME, INTENSIVE
from tandem.demo.grid import Calendar
from tandem.demo.history import history_events
from tandem.demo.large import LargeClinical
from tandem.demo.logins import LoginsSeed
from tandem.demo.outcomes import OutcomesSeed, dropout_plans, seed_outcome_scores
from tandem.demo.pathway import DemoCase, seed_pathway
from tandem.demo.plans import SeedReport
from tandem.demo.practice import holiday_closures, policy_row
from tandem.demo.scheduling import SessionsSeed, ensure_today
from tandem.demo.staff import StaffSeed
from tandem.homework.models import AssignmentLog
from tandem.measures.loader import load_instruments
from tandem.measures.models import Response
from tandem.measures.schedule import measures_schedule_all
from tandem.outcomes.services import outcome_rows_refresh
from tandem.planning.waiting import waiting_refresh
from tandem.practice.models import Location, Practice, PracticeClosure, Room
from tandem.records.models import SessionNote
from tandem.scheduling.models import Appointment, Occupancy

Progress = Callable[[str], None]
# One case in this many of the large practice's is left with each kind of loose end on Today.
PATHWAY_SPREAD = 20


class Builder(StaffSeed, CasesSeed, SessionsSeed, LoginsSeed, OutcomesSeed):
    """Builds one practice: the small hand-picked demo, or the large synthetic one."""

    def __init__(self, *, progress: Progress, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.progress = progress
        self.backlog = AuditBacklog()

    def build(self) -> SeedReport:
        started = time.monotonic()
        self.practice = Practice.objects.create(
            name=DEMO_PRACTICE_NAME, phone="555-0100", email="hello@tandem-demo.invalid"
        )
        policy_row()
        closed = frozenset(c.date for c in holiday_closures(today=self.today))
        self._places()
        self._staff()
        self.backlog.labels = dict(User.objects.values_list("pk", "username"))
        plans = self._plans()
        # The small demo's finished, scored cases for the outcomes page, after the hand-picked ones.
        cohort = [] if self.large else self._outcome_plans()
        plans += [item.plan for item in cohort]
        self.calendar = Calendar(self.shift_map, self.rooms_by_location, closed)
        for index, plan in enumerate(plans):
            self._schedule(index, plan)
        self.progress(f"planned {len(plans):,} cases and {len(self.bookings):,} sessions")
        cases = self._insert(plans)
        self._appointments(cases)
        self.progress("wrote cases, phase history and sessions")
        self._client_logins(plans, cases)
        self.backlog.labels = dict(User.objects.values_list("pk", "username"))
        # The pathway records (intake, referrals, plans, follow-up): in the large practice one case in
        # PATHWAY_SPREAD is left with each kind of loose end, as a busy practice's Today lists are.
        seed_pathway(
            items=[
                DemoCase(case, plan.steps, plan.fmt == INTENSIVE)
                for plan, case in zip(plans, cases, strict=True)
            ],
            now=self.now,
            demo_therapist_id=self.therapists[0].pk,
            spread=PATHWAY_SPREAD if self.large else 0,
        )
        if self.large:
            self.progress("wrote intakes, referrals, treatment plans and follow-ups")
        else:
            dropout_plans(cohort=cohort, cases=cases[len(cases) - len(cohort) :])
        history_events(self.backlog, coordinator_id=self.coordinator.pk, director_id=self.director.pk)
        if self.large:
            LargeClinical(self.backlog, now=self.now, seed=self.seed, progress=self.progress).write()
        self.progress(f"signing {len(self.backlog):,} audit events of the history")
        self.backlog.append(self.progress)
        if not self.large:
            hand_picked = cases[: len(cases) - len(cohort)]
            seed_clinical(
                cases=list(
                    Case.objects.with_people().filter(pk__in=[c.pk for c in hand_picked]).order_by("pk")
                ),
                now=self.now,
                demo_therapist=self.therapists[0],
                coordinator=self.coordinator,
                seed=self.seed,
            )
            seed_billing(
                cases=hand_picked, now=self.now, director=self.director, coordinator=self.coordinator
            )
            cohort_cases = Case.objects.with_people().filter(pk__in=[c.pk for c in cases[len(hand_picked) :]])
            seed_outcome_scores(
                cohort=cohort, cases=sorted(cohort_cases, key=lambda c: c.pk), now=self.now, seed=self.seed
            )
            seed_claims(director=self.director, now=self.now)
        added = ensure_today(now=self.now, seed=self.seed)
        return SeedReport(
            created=True,
            cases=len(cases),
            appointments=len(self.bookings) + added,
            added_today=added,
            seconds=time.monotonic() - started,
        )


def counts() -> dict[str, int]:
    through = Appointment.therapists.through
    sources: dict[str, Callable[[], int]] = {
        "practices": Practice.objects.count,
        "locations": Location.objects.count,
        "rooms": Room.objects.count,
        "therapists": TherapistProfile.objects.count,
        "working hours": WorkingHours.objects.count,
        "teams": CoTherapyTeam.objects.count,
        "users": User.objects.count,
        "clients": Client.objects.count,
        "cases": Case.objects.count,
        "phase changes": PhaseChange.objects.count,
        "case problems": CaseProblem.objects.count,
        "appointments": Appointment.objects.count,
        "appointment therapists": through.objects.count,
        "occupancy rows": Occupancy.objects.count,
        "session notes": SessionNote.objects.count,
        "questionnaire responses": Response.objects.count,
        "homework logs": AssignmentLog.objects.count,
        "consents": Consent.objects.count,
        "closures": PracticeClosure.objects.count,
        "audit events": AuditEvent.objects.count,
    }
    return {name: count() for name, count in sources.items()}


def quiet(message: str) -> None:
    return None


def seed(
    *,
    cases: int | None = None,
    seed: int = DEFAULT_SEED,
    now: dt.datetime | None = None,
    progress: Progress = quiet,
) -> SeedReport:
    """Build the demo practice once; on later runs only top up today's sessions (see ensure_today)."""
    started = time.monotonic()
    if Practice.objects.filter(name=DEMO_PRACTICE_NAME).exists():
        with transaction.atomic():
            added = ensure_today(now=now, seed=seed)
        return SeedReport(
            created=False,
            cases=Case.objects.count(),
            appointments=Appointment.objects.count(),
            added_today=added,
            seconds=time.monotonic() - started,
        )
    # With DEBUG on (as under `make run`), Django renders every bulk INSERT into its query log, which
    # costs the large build about a sixth of its time; nothing reads that log during a seed.
    no_query_log = override_settings(DEBUG=False) if cases is not None else nullcontext()
    # The build holds a few hundred thousand objects that form no cycles, which the cyclic collector
    # would rescan again and again: switching it off saves about a tenth of the large build.
    # The questionnaire library first: the seed's patients answer its questionnaires.
    load_instruments()
    gc.disable()
    try:
        with no_query_log, transaction.atomic():
            report = Builder(seed=seed, n_cases=cases, now=now, progress=progress).build()
    finally:
        gc.enable()
    # The outcomes registry and the planner's kept waiting list, from everything just written (services
    # keep both up to date from here on).
    outcome_rows_refresh()
    waiting_refresh()
    # For the small demo also each case's due questionnaires (the large benchmark build leaves that to
    # `manage.py measures_schedule`).
    if cases is None:
        measures_schedule_all()
    elif connection.vendor == "postgresql":
        # The planner's statistics still describe the empty tables until autovacuum comes round, and
        # with them it picks nested loops over tens of thousands of rows: the benchmark would measure that.
        # VACUUM also sets the visibility map of the freshly written tables, so that index-only scans
        # (the case list's counts, the audit page's capped count) need not visit the table; it cannot run
        # inside a transaction, where only ANALYZE is possible.
        vacuum = not connection.in_atomic_block
        progress("vacuuming and updating the planner's statistics" if vacuum else "updating statistics")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")
    report.seconds = time.monotonic() - started
    return report
