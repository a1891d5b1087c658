"""Reads behind the pathway parts of the case page, the Today page and the discharge summary."""

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from tandem.access.services import (
    CareScope,
    can_edit_case,
    can_move_case,
    care_scope,
    in_care,
    is_case_clinician,
)
from tandem.accounts.models import Role, User
from tandem.cases.models import (
    Case,
    CaseLink,
    Client,
    PartnerJoin,
    PartnerLeave,
    Phase,
    PhaseChange,
    case_link_columns,
)
from tandem.lib.lookups import Ids
from tandem.lib.remembered_queries import remembered_query
from tandem.lib.time import local_today, practice_zone
from tandem.pathway import policy
from tandem.pathway.models import (
    AssessmentFindings,
    FollowUpMode,
    FollowUpStatus,
    FollowUpTask,
    IntakeRecord,
    Referral,
    TreatmentConsent,
    TreatmentFormat,
    TreatmentPlan,
    safety_flagged_q,
)
from tandem.pathway.rules import (
    TRANSITIONS,
    Transition,
    assessment_gaps,
    blockers,
    session_partner_id,
)
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentStatus, prefetch_attendees

# The rows of one case that the case page reads on every view, each compiled once per worker
# (tandem/lib/remembered_queries.py says why).


@remembered_query
def _consents(*, case_id: int) -> QuerySet[TreatmentConsent]:
    return TreatmentConsent.objects.filter(case_id=case_id).select_related("recorded_by")


@remembered_query
def _follow_ups(*, case_id: int) -> QuerySet[FollowUpTask]:
    return FollowUpTask.objects.filter(case_id=case_id).select_related("done_by").order_by("due_on", "id")


@remembered_query
def _intakes(*, case_id: int) -> QuerySet[IntakeRecord]:
    return IntakeRecord.objects.filter(case_id=case_id).select_related("safety_reviewed_by")


@remembered_query
def _findings(*, case_id: int) -> QuerySet[AssessmentFindings]:
    return AssessmentFindings.objects.filter(case_id=case_id)


@remembered_query
def _plans(*, case_id: int) -> QuerySet[TreatmentPlan]:
    return (
        TreatmentPlan.objects.filter(case_id=case_id)
        .select_related("created_by", "conjunctive_client")
        .order_by("-version")
    )


@remembered_query
def _referrals(*, case_id: int) -> QuerySet[Referral]:
    return (
        Referral.objects.filter(case_id=case_id)
        .select_related("specialist_type", "client", "referred_by")
        .order_by("-sent_at")
    )


@remembered_query
def _phase_changes(*, case_id: int) -> QuerySet[PhaseChange]:
    return PhaseChange.objects.filter(case_id=case_id).select_related("by")


@remembered_query
def _partner_joins(*, case_id: int) -> QuerySet[PartnerJoin]:
    return PartnerJoin.objects.filter(case_id=case_id).select_related("by", "client")


@remembered_query
def _partner_leaves(*, case_id: int) -> QuerySet[PartnerLeave]:
    return PartnerLeave.objects.filter(case_id=case_id).select_related("by", "client")


@dataclass(frozen=True)
class NextStep:
    transition: Transition
    hard: list[str]
    soft: list[str]
    can_override: bool


@dataclass(frozen=True)
class PartnerIntake:
    client: Client
    intake: Any
    consent: Any
    findings: Any


def next_steps(*, case: Case, user: Any, clinical: bool) -> list[NextStep]:
    """The moves this user may make from the case's phase, each with what blocks it now. Blockers of a
    clinical move are shown only to someone who may see the clinical record."""
    steps = []
    for step in TRANSITIONS.get(case.phase, ()):
        if not can_move_case(user, case, step):
            continue
        hard, soft = blockers(case, step) if clinical else ([], [])
        steps.append(NextStep(step, hard, soft, can_override=is_case_clinician(user, case)))
    return steps


@dataclass(frozen=True)
class IntensiveBlock:
    """The booked intensive as scheduling holds it: local days, the team, and the length of a day."""

    days: list[dt.date]
    minutes: list[int]
    therapists: list[Any]
    attended: int

    @property
    def first_day(self) -> dt.date:
        return self.days[0]

    @property
    def last_day(self) -> dt.date:
        return self.days[-1]


def intensive_block(*, case: Case) -> IntensiveBlock | None:
    """The case's intensive block, read from its intensive appointments (not cancelled). When it was
    booked more than once, the most recently booked series counts. Two queries."""
    appointments = list(
        Appointment.objects.filter(case=case, kind=AppointmentKind.INTENSIVE)
        .exclude(status=AppointmentStatus.CANCELLED)
        .prefetch_related(Prefetch("therapists", queryset=User.objects.order_by("last_name", "first_name")))
        .order_by("starts_at", "id")
    )
    if not appointments:
        return None
    latest_series = max((a.series_id for a in appointments if a.series_id is not None), default=None)
    if latest_series is not None:
        appointments = [a for a in appointments if a.series_id == latest_series]
    zone = practice_zone()
    therapists: dict[int, Any] = {}
    for appointment in appointments:
        for therapist in appointment.therapists.all():
            therapists.setdefault(therapist.pk, therapist)
    minutes = sorted({int((a.ends_at - a.starts_at).total_seconds() // 60) for a in appointments})
    return IntensiveBlock(
        days=[timezone.localdate(a.starts_at, zone) for a in appointments],
        minutes=minutes,
        therapists=list(therapists.values()),
        attended=sum(1 for a in appointments if a.status == AppointmentStatus.ATTENDED),
    )


def availability_url(case: Case) -> str | None:
    """Where the intensive is booked (the scheduling pages), if that page exists in this installation."""
    try:
        return reverse("scheduling:availability", kwargs={"case_id": case.pk})
    except NoReverseMatch:
        return None


def _individual_sessions(case: Case, sessions: list[Appointment]) -> list[Appointment]:
    """The case's individual assessment sessions among SESSIONS, with who attends each."""
    individual = [a for a in sessions if a.kind == AppointmentKind.INDIVIDUAL_ASSESSMENT]
    prefetch_attendees(individual)
    return individual


def case_pathway(*, case: Case, user: Any, clinical: bool, sessions: list[Appointment]) -> dict[str, Any]:
    """The pathway sections of the case page, in a fixed number of queries. Without clinical access only
    consent dates and follow-up dates are shown (what the front desk chases and books). SESSIONS: the
    case's sessions not cancelled, in time order, as the case page has already read them."""
    consents = {c.client_id: c for c in _consents.rows(case_id=case.pk)}
    follow_ups = _follow_ups.rows(case_id=case.pk)
    context: dict[str, Any] = {
        "next_steps": next_steps(case=case, user=user, clinical=clinical),
        "follow_ups": follow_ups,
        "consents": consents,
        "pathway_clinician": is_case_clinician(user, case),
    }
    if not clinical:
        context["partner_records"] = [PartnerIntake(c, None, consents.get(c.pk), None) for c in case.partners]
        return context
    intakes = {r.client_id: r for r in _intakes.rows(case_id=case.pk)}
    findings = {f.client_id: f for f in _findings.rows(case_id=case.pk)}
    plans = _plans.rows(case_id=case.pk)
    individual_sessions = _individual_sessions(case, sessions)
    names = {c.pk: c for c in case.partners}
    for appointment in individual_sessions:
        # Shown on the page: whom it was for (None: booked for both before appointments knew who attends).
        appointment.session_for = names.get(session_partner_id(case, appointment) or 0)  # type: ignore[attr-defined]
    plan = plans[0] if plans else None
    intensive = plan is not None and plan.format == TreatmentFormat.INTENSIVE
    context.update(
        {
            "intensive_block": intensive_block(case=case) if intensive else None,
            "intensive_booking_url": availability_url(case)
            if intensive and can_edit_case(user, case)
            else None,
            "partner_records": [
                PartnerIntake(c, intakes.get(c.pk), consents.get(c.pk), findings.get(c.pk))
                for c in case.partners
            ],
            "assessment_gaps": assessment_gaps(case) if case.phase == Phase.ASSESSMENT else [],
            "individual_sessions": individual_sessions,
            "referrals": _referrals.rows(case_id=case.pk),
            "plan": plan,
            "plan_history": plans[1:],
        }
    )
    return context


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str
    title: str
    detail: str = ""
    by: Any = None


def _local_noon(day: dt.date) -> dt.datetime:
    # A day-only event (a specialist appointment) sorts in the middle of its local day.
    return dt.datetime.combine(day, dt.time(12), tzinfo=practice_zone())


def case_timeline(
    *,
    case: Case,
    clinical: bool,
    sessions: list[Appointment] | None = None,
    referrals: list[Referral] | None = None,
    plans: list[TreatmentPlan] | None = None,
    follow_ups: list[FollowUpTask] | None = None,
) -> list[TimelineEntry]:
    """Every phase change and session, and (for clinical readers) every referral event, plan version and
    follow-up done, oldest first. One query per kind of event, however long the history; the case page
    passes the rows it has already read (non-cancelled sessions, referrals, plans, follow-ups) instead."""
    entries = _phase_entries(case, clinical) + _partner_entries(case)
    if sessions is None:
        sessions = list(case.appointments.exclude(status=AppointmentStatus.CANCELLED).order_by("starts_at"))
    for appt in sessions:
        entries.append(
            TimelineEntry(appt.starts_at, "session", appt.get_kind_display(), appt.get_status_display())
        )
    if clinical:
        if referrals is None:
            referrals = list(
                Referral.objects.filter(case=case).select_related("specialist_type", "client", "referred_by")
            )
        if plans is None:
            plans = list(TreatmentPlan.objects.filter(case=case).select_related("created_by"))
        if follow_ups is None:
            follow_ups = list(FollowUpTask.objects.filter(case=case).select_related("done_by"))
        entries += _referral_entries(referrals) + _plan_entries(plans) + _follow_up_entries(follow_ups)
    entries.sort(key=lambda e: e.at)
    return entries


def _phase_entries(case: Case, clinical: bool) -> list[TimelineEntry]:
    entries = []
    for change in _phase_changes.rows(case_id=case.pk):
        title = (
            f"{change.get_from_phase_display()} → {change.get_to_phase_display()}"
            if change.from_phase
            else f"Opened in {change.get_to_phase_display().lower()}"
        )
        detail = ""
        if clinical:
            detail = change.reason
            if change.override_reason:
                detail = f"{detail} Rule overridden: {change.override_reason}".strip()
        entries.append(TimelineEntry(change.at, "phase", title, detail, change.by))
    return entries


def _partner_entries(case: Case) -> list[TimelineEntry]:
    entries = []
    for joined in _partner_joins.rows(case_id=case.pk):
        # The reason the partner had been absent, kept as the individual case page showed it to everyone.
        before = f"Until then: {joined.get_was_absent_display()}. {joined.was_absent_note}".strip()
        entries.append(
            TimelineEntry(joined.at, "partner", f"{joined.client.full_name} joined", before, joined.by)
        )
    for left in _partner_leaves.rows(case_id=case.pk):
        # Shown as the individual case's reason is: to everyone who may open the case.
        after = f"From then: {left.get_absent_partner_display()}. {left.reason}"
        entries.append(TimelineEntry(left.at, "partner", f"{left.client.full_name} left", after, left.by))
    return entries


def _referral_entries(referrals: list[Referral]) -> list[TimelineEntry]:
    entries = []
    for ref in referrals:
        about = f"{ref.specialist_type.label} for {ref.client.full_name}"
        entries.append(TimelineEntry(ref.sent_at, "referral", f"Referral sent: {about}", "", ref.referred_by))
        if ref.appointment_on and ref.appointment_recorded_at:
            entries.append(
                TimelineEntry(_local_noon(ref.appointment_on), "referral", f"Specialist appointment: {about}")
            )
        if ref.result_recorded_at:
            entries.append(
                TimelineEntry(
                    ref.result_recorded_at,
                    "referral",
                    f"Referral result: {about}",
                    f"{ref.get_physical_cause_display()}: {ref.finding}",
                )
            )
    return entries


def _plan_entries(plans: list[TreatmentPlan]) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            plan.created_at,
            "plan",
            f"Treatment plan version {plan.version}: {plan.get_format_display()}",
            plan.change_note,
            plan.created_by,
        )
        for plan in plans
    ]


def _follow_up_entries(tasks: list[FollowUpTask]) -> list[TimelineEntry]:
    return [
        TimelineEntry(task.done_at, "follow_up", f"{task.label} done", task.outcome, task.done_by)
        for task in tasks
        if task.status == FollowUpStatus.DONE and task.done_at
    ]


# Today's pathway lists (pathway/_today.jinja) are read as plain values, each row with a CaseLink:
# as model instances (the row, its case and both clients, and a client or specialist type) Django's
# building, compiling and instantiating cost more than the database did.
_CASE = case_link_columns("case__")


@dataclass(frozen=True, slots=True)
class ReferralOverdue:
    case: CaseLink
    specialist: str
    client_first_name: str
    due_on: dt.date


@dataclass(frozen=True, slots=True)
class FollowUpDue:
    case: CaseLink
    label: str
    mode_label: str
    due_on: dt.date
    is_overdue: bool


@dataclass(frozen=True, slots=True)
class SafetyToReview:
    case: CaseLink
    client_first_name: str
    entered_by: str
    updated_at: dt.datetime


def overdue_referrals(*, user: Any, scope: CareScope | None = None) -> list[ReferralOverdue]:
    """Referrals past their due date without a result: for the case's therapists and the director."""
    if user.role not in (Role.THERAPIST, Role.DIRECTOR):
        return []
    scope = scope or care_scope(user)
    rows = _overdue_referrals.rows(today=local_today(), **scope.values())
    return [ReferralOverdue(CaseLink.from_row(row[3:]), *row[:3]) for row in rows]


def follow_ups_due(*, user: Any, scope: CareScope | None = None) -> list[FollowUpDue]:
    """Open follow-ups due within the coming week or overdue: therapists see their own cases; the front
    desk (who book the visits and calls) and the director see the practice's."""
    if user.role not in (Role.THERAPIST, Role.DIRECTOR, Role.COORDINATOR):
        return []
    today = local_today()
    horizon = today + dt.timedelta(days=policy.FOLLOW_UP_DUE_SOON_DAYS)
    scope = scope or care_scope(user)
    modes = dict(FollowUpMode.choices)
    due = []
    for label, mode, due_on, *case in _follow_ups_by.rows(horizon=horizon, **scope.values()):
        # Open by the query, so overdue exactly when its day has passed (FollowUpTask.is_overdue).
        due.append(FollowUpDue(CaseLink.from_row(case), label, str(modes[mode]), due_on, due_on < today))
    return due


def safety_to_review(*, user: Any, scope: CareScope | None = None) -> list[SafetyToReview]:
    """Intake answers that may indicate risk and that no clinician has reviewed yet, on open cases."""
    if user.role not in (Role.THERAPIST, Role.DIRECTOR):
        return []
    scope = scope or care_scope(user)
    rows = _safety_unreviewed.rows(**scope.values(open_only=True))
    return [SafetyToReview(CaseLink.from_row(row[3:]), *row[:3]) for row in rows]


# Today's lists above, read on every view of Today: compiled once per worker (lib/remembered_queries.py).
TODAY_LIST_ROWS = 20


@remembered_query
def _overdue_referrals(*, today: dt.date, case_ids: Ids | None = None) -> QuerySet[Referral, Any]:
    return (
        Referral.objects.overdue(today)
        .filter(in_care(case_ids=case_ids))
        .order_by("due_on", "id")
        .values_list("specialist_type__label", "client__first_name", "due_on", *_CASE)[:TODAY_LIST_ROWS]
    )


@remembered_query
def _follow_ups_by(*, horizon: dt.date, case_ids: Ids | None = None) -> QuerySet[FollowUpTask, Any]:
    return (
        FollowUpTask.objects.open()
        .filter(in_care(case_ids=case_ids), due_on__lte=horizon)
        .order_by("due_on", "id")
        .values_list("label", "mode", "due_on", *_CASE)[:TODAY_LIST_ROWS]
    )


@remembered_query
def _safety_unreviewed(*, case_ids: Ids | None = None) -> QuerySet[IntakeRecord, Any]:
    return (
        IntakeRecord.objects.filter(safety_flagged_q(), safety_reviewed_at__isnull=True)
        .filter(in_care(case_ids=case_ids, open_only=True))
        .order_by("updated_at", "id")
        .values_list("client__first_name", "entered_by", "updated_at", *_CASE)[:TODAY_LIST_ROWS]
    )


def cases_without_plan(*, user: Any, scope: CareScope | None = None, limit: int = 20) -> list[CaseLink]:
    """Cases in treatment that have no treatment plan yet."""
    if user.role not in (Role.THERAPIST, Role.DIRECTOR):
        return []
    scope = scope or care_scope(user)
    return (
        Case.objects.filter(scope.cases("", open_only=True))
        .filter(phase=Phase.TREATMENT, treatment_plans__isnull=True)
        .order_by("opened_on", "id")
        .links(limit)
    )


def assessment_unbooked(
    *, user: Any, now: dt.datetime, scope: CareScope | None = None, limit: int = 20
) -> list[CaseLink]:
    """Cases in assessment whose required sessions are neither attended nor booked ahead: for a couple
    the joint interview and two individual sessions, for an individual case one session.

    In three plain reads (the cases in assessment, their assessment sessions that count, the links of
    the first `limit` short of some) rather than one query grouping every case's sessions: Django spent
    4-5 ms building and compiling the counts and their HAVING for the 3 ms PostgreSQL took to run it,
    the largest of Today's lists. A practice has a few hundred cases in assessment at most."""
    if user.role not in (Role.THERAPIST, Role.DIRECTOR):
        return []
    scope = scope or care_scope(user)
    in_assessment = list(
        Case.objects.filter(scope.cases("", open_only=True), phase=Phase.ASSESSMENT)
        .order_by("opened_on", "id")
        .values_list("id", "partner_b_id")
    )
    if not in_assessment:
        return []
    held = Appointment.objects.filter(
        Q(status=AppointmentStatus.ATTENDED) | Q(status=AppointmentStatus.BOOKED, starts_at__gte=now),
        case_id__any_of=Ids(pk for pk, _ in in_assessment),
        kind__in=(AppointmentKind.JOINT_ASSESSMENT, AppointmentKind.INDIVIDUAL_ASSESSMENT),
    )
    counted = Counter(held.order_by().values_list("case_id", "kind"))
    short = [
        pk
        for pk, partner_b in in_assessment
        if _assessment_short(
            couple=partner_b is not None,
            joint=counted[(pk, AppointmentKind.JOINT_ASSESSMENT)],
            individual=counted[(pk, AppointmentKind.INDIVIDUAL_ASSESSMENT)],
        )
    ][:limit]
    if not short:
        return []
    links = {case.pk: case for case in Case.objects.filter(pk__any_of=Ids(short)).links()}
    return [links[pk] for pk in short]


def _assessment_short(*, couple: bool, joint: int, individual: int) -> bool:
    if couple:
        return joint < 1 or individual < 2
    return joint < 1 and individual < 1


def discharge_summary(*, case: Case) -> dict[str, Any]:
    """What the discharge summary shows: phases with their dates, sessions attended, referrals and results.
    (Its measures at start and end come from measures, through the `measures_at_start_and_end` tag.)"""
    changes = _phase_changes.rows(case_id=case.pk)
    phases = []
    for i, change in enumerate(changes):
        ended = changes[i + 1].at if i + 1 < len(changes) else None
        phases.append(
            {"phase": change.get_to_phase_display(), "started": change.at, "ended": ended, "change": change}
        )
    attended = (
        Appointment.objects.filter(case=case, status=AppointmentStatus.ATTENDED)
        .values_list("kind", flat=True)
        .order_by()
    )
    by_kind: dict[str, int] = {}
    for kind in attended:
        by_kind[kind] = by_kind.get(kind, 0) + 1
    labels = dict(AppointmentKind.choices)
    return {
        "phases": phases,
        "sessions_total": sum(by_kind.values()),
        "sessions_by_kind": [(labels[k], n) for k, n in sorted(by_kind.items(), key=lambda kv: -kv[1])],
        "referrals": list(
            Referral.objects.filter(case=case).select_related("specialist_type", "client").order_by("sent_at")
        ),
        "plan": TreatmentPlan.objects.filter(case=case).select_related("conjunctive_client").first(),
        "follow_ups": list(FollowUpTask.objects.filter(case=case).order_by("due_on", "id")),
    }


def today_items(*, user: Any, now: dt.datetime, scope: CareScope | None = None) -> dict[str, Any]:
    """The pathway's part of the Today page; None where the list is not this user's to act on."""
    clinical_role = user.role in (Role.THERAPIST, Role.DIRECTOR)
    mine = {"user": user, "scope": scope or care_scope(user)}
    return {
        "safety_to_review": safety_to_review(**mine) if clinical_role else None,
        "assessment_unbooked": assessment_unbooked(**mine, now=now) if clinical_role else None,
        "referrals_overdue": overdue_referrals(**mine) if clinical_role else None,
        "follow_ups_due": follow_ups_due(**mine) if user.is_practice_staff else None,
        "plans_missing": cases_without_plan(**mine) if clinical_role else None,
    }
