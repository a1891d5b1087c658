"""What a case must have before it may move on: one small function per rule, each returning plain sentences
(empty when the rule is met). The services decide what to do with them; pages show them in advance."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from tandem.cases.models import Case, Client, Phase
from tandem.lib.time import practice_zone
from tandem.pathway.models import FollowUpTask, IntakeRecord, Referral, TreatmentConsent, TreatmentPlan
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentStatus

RuleCheck = Callable[[Case], list[str]]

# The client fills in their own part until treatment starts; after that it is part of the record.
CLIENT_INTAKE_PHASES = (Phase.CONSULTATION, Phase.INTAKE, Phase.ASSESSMENT)


@dataclass(frozen=True)
class Rule:
    check: RuleCheck
    # A therapist may move past an overridable rule with a written reason; the others hold for everyone.
    overridable: bool = True


def _names(clients: list[Client]) -> str:
    return " and ".join(c.full_name for c in clients)


def intake_complete(case: Case) -> list[str]:
    records = {r.client_id: r for r in IntakeRecord.objects.filter(case=case)}
    missing = [c for c in case.partners if c.pk not in records]
    incomplete = [c for c in case.partners if c.pk in records and not records[c.pk].is_complete]
    problems = []
    if missing:
        problems.append(f"Intake is not recorded for {_names(missing)}.")
    if incomplete:
        problems.append(
            f"Intake is incomplete for {_names(incomplete)}: confirm their details, write their concerns "
            "and answer every safety question."
        )
    return problems


def consent_given(case: Case) -> list[str]:
    consented = set(TreatmentConsent.objects.filter(case=case).values_list("client_id", flat=True))
    missing = [c for c in case.partners if c.pk not in consented]
    return [f"Consent to treatment has not been given by {_names(missing)}."] if missing else []


def assessment_sessions(case: Case) -> QuerySet[Appointment]:
    """The case's assessment appointments with who attends each (the booking's attendees)."""
    return Appointment.objects.with_attendees().filter(
        case=case, kind__in=(AppointmentKind.JOINT_ASSESSMENT, AppointmentKind.INDIVIDUAL_ASSESSMENT)
    )


def session_partner_id(case: Case, appointment: Appointment) -> int | None:
    """Whom an individual assessment session was for: its one attendee. One booked for both partners
    before appointments knew their attendees (see scheduling migration 0010) says nothing until staff
    say who attends."""
    partners = {c.pk for c in case.partners}
    held = {c.pk for c in appointment.attendees.all()} & partners
    return held.pop() if len(held) == 1 else None


def assessment_gaps(case: Case) -> list[str]:
    """The sessions the assessment still lacks: for a couple the joint interview and one individual
    session per partner; for an individual case one assessment session of the client."""
    attended = list(assessment_sessions(case).filter(status=AppointmentStatus.ATTENDED))
    if not case.is_couple:
        if attended:
            return []
        return [f"the assessment session for {case.partner_a.full_name} has not taken place"]
    gaps = []
    if not any(a.kind == AppointmentKind.JOINT_ASSESSMENT for a in attended):
        gaps.append("the joint assessment interview has not taken place")
    seen_for = {
        session_partner_id(case, a) for a in attended if a.kind == AppointmentKind.INDIVIDUAL_ASSESSMENT
    }
    gaps += [
        f"the individual session for {c.full_name} has not taken place"
        for c in case.partners
        if c.pk not in seen_for
    ]
    return gaps


def assessment_complete(case: Case) -> list[str]:
    gaps = assessment_gaps(case)
    return [f"Assessment is not complete: {'; '.join(gaps)}."] if gaps else []


def follow_ups_done(case: Case) -> list[str]:
    left = FollowUpTask.objects.open().filter(case=case).count()
    return [f"{left} follow-up contact{'s are' if left > 1 else ' is'} still to do."] if left else []


def referrals_resolved(case: Case) -> list[str]:
    waiting = Referral.objects.awaiting_result().filter(case=case).count()
    if not waiting:
        return []
    return [f"{waiting} referral{'s are' if waiting > 1 else ' is'} still waiting for a result."]


def treatment_plan_written(case: Case) -> list[str]:
    if TreatmentPlan.objects.filter(case=case).exists():
        return []
    return ["There is no treatment plan: write the plan (format and goals) before treatment can finish."]


def intensive_over(case: Case) -> list[str]:
    """The booked intensive block has had its last day: its last booked session has ended."""
    last = (
        Appointment.objects.filter(
            case=case,
            kind=AppointmentKind.INTENSIVE,
            status=AppointmentStatus.BOOKED,
            ends_at__gt=timezone.now(),
        )
        .order_by("-ends_at")
        .values_list("ends_at", flat=True)
        .first()
    )
    if last is None:
        return []
    local = timezone.localtime(last, practice_zone())
    return [
        f"The booked intensive runs until {local:%a} {local.day} {local:%B %Y} (its last session ends at "
        f"{local:%H:%M}): treatment can finish after that day's session."
    ]


@dataclass(frozen=True)
class Transition:
    to_phase: str
    verb: str
    # The front desk may open the intake and close a case before treatment; every other move is clinical.
    clinical: bool = True
    rules: tuple[Rule, ...] = ()
    needs_reason: bool = False


_CLOSE = Transition(Phase.CLOSED, "Close without treatment", clinical=False, needs_reason=True)

TRANSITIONS: dict[str, tuple[Transition, ...]] = {
    Phase.CONSULTATION: (Transition(Phase.INTAKE, "Start intake", clinical=False), _CLOSE),
    Phase.INTAKE: (
        Transition(
            Phase.ASSESSMENT,
            "Start assessment",
            # Consent is the client's decision, not a clinical judgement: nobody may override it.
            rules=(Rule(consent_given, overridable=False), Rule(intake_complete)),
        ),
        _CLOSE,
    ),
    Phase.ASSESSMENT: (
        Transition(Phase.TREATMENT, "Start treatment", rules=(Rule(assessment_complete),)),
        _CLOSE,
    ),
    Phase.TREATMENT: (
        Transition(
            Phase.FOLLOW_UP,
            "Finish treatment, start follow-up",
            # What was treated must be on record; a therapist may end before a booked intensive ends.
            rules=(Rule(treatment_plan_written, overridable=False), Rule(intensive_over)),
        ),
    ),
    Phase.FOLLOW_UP: (
        Transition(Phase.DISCHARGED, "Discharge", rules=(Rule(follow_ups_done), Rule(referrals_resolved))),
    ),
}


def transition_for(from_phase: str, to_phase: str) -> Transition | None:
    return next((t for t in TRANSITIONS.get(from_phase, ()) if t.to_phase == to_phase), None)


def blockers(case: Case, transition: Transition) -> tuple[list[str], list[str]]:
    """(rules nobody may pass, rules a therapist may override) that the case does not meet now."""
    hard: list[str] = []
    soft: list[str] = []
    for rule in transition.rules:
        (soft if rule.overridable else hard).extend(rule.check(case))
    return hard, soft
