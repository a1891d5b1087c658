"""Writes along the care pathway. Each is one transaction that also writes its audit event."""

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, fields
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from tandem.access.services import (
    AccessDenied,
    can_create_case,
    can_edit_case,
    can_move_case,
    is_case_clinician,
)
from tandem.accounts.models import CoTherapyTeam, Role, User
from tandem.audit.actors import SystemActor
from tandem.audit.services import audit_record
from tandem.cases.models import (
    OPEN_PHASES,
    AbsentPartner,
    Case,
    CaseProblem,
    Client,
    PartnerLeave,
    Phase,
    PhaseChange,
    PresentingProblem,
)
from tandem.cases.services import OPENING_PHASES, ClientDetails, case_reference, check_assignment
from tandem.lib.errors import Refusal
from tandem.lib.later import case_changed_later
from tandem.lib.time import local_today
from tandem.measures.later import measures_schedule_later
from tandem.pathway import policy
from tandem.pathway.models import (
    AssessmentFindings,
    EnteredBy,
    FollowUpMode,
    FollowUpStatus,
    FollowUpTask,
    IntakeRecord,
    PhysicalCause,
    Referral,
    ReferralStatus,
    SpecialistType,
    TreatmentConsent,
    TreatmentFormat,
    TreatmentPlan,
    Urgency,
)
from tandem.pathway.rules import CLIENT_INTAKE_PHASES, blockers, transition_for
from tandem.scheduling.services import appointments_cancel_with_care


class TransitionBlocked(Refusal):
    """A pathway rule is not met; `problems` are the plain sentences, `overridable` whether a therapist may
    still move the case on with a written reason."""

    def __init__(self, problems: list[str], *, overridable: bool) -> None:
        self.problems = problems
        self.overridable = overridable
        super().__init__(" ".join(problems))


def _require_clinician(actor: User, case: Case, what: str) -> None:
    if not is_case_clinician(actor, case):
        raise AccessDenied(f"Only the case's therapists or the clinical director can {what}.")


def _require_partner(case: Case, client: Client) -> None:
    if client.pk not in (case.partner_a_id, case.partner_b_id):
        raise Refusal("That person is not a partner in this case.")


# --- phases ----------------------------------------------------------------------------------------------
# Pathway is the one writer of PhaseChange rows (tests/test_one_writer.py keeps it so): a case's first
# phase is written by case_open, every move by case_transition, for people and system parts alike.


def _phase_record(
    *,
    case: Case,
    from_phase: str,
    to_phase: str,
    actor: User | SystemActor,
    reason: str,
    override_reason: str = "",
) -> PhaseChange:
    return PhaseChange.objects.create(
        case=case,
        from_phase=from_phase,
        to_phase=to_phase,
        at=timezone.now(),
        # A system part is named in the audit row; the change itself was made by no person.
        by=actor if isinstance(actor, User) else None,
        reason=reason,
        override_reason=override_reason,
    )


def _check_opening(
    actor: User | SystemActor,
    *,
    phase: str,
    partner_b: ClientDetails | None,
    absent_partner: str,
    clinical: bool,
) -> None:
    if not can_create_case(actor):
        raise AccessDenied("You cannot open cases.")
    if phase not in OPENING_PHASES:
        raise Refusal("A new case starts in the consultation or intake phase.")
    if partner_b is None and not absent_partner:
        raise Refusal("For an individual case, say why the partner does not attend.")
    if clinical and actor.role not in (Role.THERAPIST, Role.DIRECTOR):
        raise AccessDenied("Presenting problems are clinical: a therapist records them.")


def case_open(
    *,
    actor: User | SystemActor,
    partner_a: ClientDetails,
    partner_b: ClientDetails | None,
    absent_partner: str = "",
    absent_partner_note: str = "",
    therapist: User | None = None,
    team: CoTherapyTeam | None = None,
    phase: str = Phase.CONSULTATION,
    problems: list[PresentingProblem] | None = None,
    presenting_notes: str = "",
    reason: str = "",
) -> Case:
    """Open a case for a couple, or for one client whose partner does not attend (with the reason), and
    record its first phase. Staff open cases from the case pages; the public site opens the free
    consultation's case with its SystemActor."""
    clinical = bool(problems or presenting_notes)
    _check_opening(actor, phase=phase, partner_b=partner_b, absent_partner=absent_partner, clinical=clinical)
    if partner_b is not None:
        absent_partner, absent_partner_note = "", ""
    if therapist is None and team is None and isinstance(actor, User) and actor.role == Role.THERAPIST:
        therapist = actor  # otherwise the therapist who opened it could not see it
    check_assignment(therapist, team)
    with transaction.atomic():
        client_a = Client.objects.create(**partner_a.as_dict())
        client_b = Client.objects.create(**partner_b.as_dict()) if partner_b else None
        case = Case(
            partner_a=client_a,
            partner_b=client_b,
            absent_partner=absent_partner,
            absent_partner_note=absent_partner_note,
            therapist=therapist,
            team=team,
            phase=phase,
            presenting_notes=presenting_notes,
            opened_on=local_today(),
        )
        case.save()
        # Derived from the row id, so concurrent openings can never collide.
        case.reference = case_reference(case)
        case.save(update_fields=["reference"])
        CaseProblem.objects.bulk_create(CaseProblem(case=case, problem=p) for p in problems or [])
        _phase_record(case=case, from_phase="", to_phase=phase, actor=actor, reason=reason)
        measures_schedule_later(case_id=case.pk)
        case_changed_later(case_id=case.pk)
        audit_record(
            actor=actor,
            action="case.open",
            target=case,
            case=case,
            detail={"couple": client_b is not None, "problems": [p.slug for p in problems or []]},
        )
    return case


def case_transition(
    *,
    actor: User | SystemActor,
    case: Case,
    to_phase: str,
    reason: str = "",
    override_reason: str = "",
    follow_up_mode: str = FollowUpMode.VISIT,
    cancel_bookings: Collection[int] = (),
) -> PhaseChange:
    """Move a case one step along the pathway, if its rules are met (or overridden with a written reason).

    Ending care (discharge, closing without treatment) cancels the case's future bookings in the same
    transaction, once the person has confirmed exactly those (`cancel_bookings`, the ids they were
    shown); otherwise scheduling's BookingsToCancel lists them and nothing changes."""
    step = _transition_checked(actor=actor, case=case, to_phase=to_phase)
    reason, override_reason = reason.strip(), override_reason.strip()
    if step.needs_reason and not reason:
        raise Refusal("Write why the case is closed.")
    if follow_up_mode not in FollowUpMode.values:
        raise Refusal("Choose an office visit or telephone contact for the follow-up.")
    with transaction.atomic():
        # The row lock makes two people moving the same case at once take turns (PostgreSQL).
        current = Case.objects.locked().get(pk=case.pk)
        if current.phase != case.phase:
            raise Refusal("Someone else has just moved this case; reload the page.")
        override_reason, soft = _override_checked(
            actor=actor, case=case, step=step, override_reason=override_reason
        )
        if to_phase in (Phase.DISCHARGED, Phase.CLOSED):
            appointments_cancel_with_care(
                actor=actor,
                case=case,
                reason=f"{step.verb}: {reason}" if reason else step.verb,
                confirmed=cancel_bookings,
            )
        change = _phase_record(
            case=case,
            from_phase=case.phase,
            to_phase=to_phase,
            actor=actor,
            reason=reason,
            override_reason=override_reason,
        )
        case.phase = to_phase
        update = ["phase", "updated_at"]
        if to_phase in (Phase.DISCHARGED, Phase.CLOSED):
            case.closed_on = local_today()
            update.append("closed_on")
        case.save(update_fields=update)
        measures_schedule_later(case_id=case.pk)
        case_changed_later(case_id=case.pk)
        created = (
            _follow_up_schedule(case, mode=follow_up_mode, now=change.at)
            if to_phase == Phase.FOLLOW_UP
            else []
        )
        audit_record(
            actor=actor,
            action="case.phase_change",
            target=change,
            case=case,
            detail={
                "from": change.from_phase,
                "to": to_phase,
                "overridden": soft if override_reason else [],
                "follow_ups": len(created),
            },
        )
    return change


def _transition_checked(*, actor: User | SystemActor, case: Case, to_phase: str):
    step = transition_for(case.phase, to_phase)
    if step is None:
        labels = dict(Phase.choices)
        raise Refusal(
            f"A case in {labels[case.phase].lower()} cannot move to {labels.get(to_phase, to_phase).lower()}."
        )
    if not can_move_case(actor, case, step):
        raise AccessDenied(f"Only the case's therapists or the clinical director can {step.verb.lower()}.")
    return step


def _override_checked(
    *, actor: User | SystemActor, case: Case, step, override_reason: str
) -> tuple[str, list[str]]:
    """The override reason to keep and the soft rules it overrides; the reason is emptied when no soft
    rule was broken, so the record stays honest."""
    hard, soft = blockers(case, step)
    if hard:
        raise TransitionBlocked(hard, overridable=False)
    if not soft:
        return "", soft
    if not override_reason:
        raise TransitionBlocked(soft, overridable=True)
    if not is_case_clinician(actor, case):
        raise AccessDenied("Only the case's therapists or the clinical director can override a rule.")
    if len(override_reason) < policy.OVERRIDE_REASON_MIN:
        raise Refusal(
            f"Write the reason for the override in a sentence (at least {policy.OVERRIDE_REASON_MIN} "
            "characters)."
        )
    return override_reason, soft


def _follow_up_schedule(case: Case, *, mode: str, now: dt.datetime) -> list[FollowUpTask]:
    # Due dates are local days counted from the practice's today, whatever the UTC date is.
    start = local_today()
    tasks = [
        FollowUpTask(
            case=case,
            label=step.label,
            mode=mode,
            due_on=step.due_from(start),
            planned_on=step.due_from(start),
            created_at=now,
        )
        for step in policy.FOLLOW_UP_SCHEDULE
    ]
    return FollowUpTask.objects.bulk_create(tasks)


# --- a partner leaves ------------------------------------------------------------------------------------
# Leaving is pathway's action, as ending care is: it cancels the leaver's bookings in the same transaction.
# Their joint sessions are cancelled with their individual ones: a couple session without the couple is not
# the session that was planned, and the remaining partner's sessions are booked anew for the individual case.
PARTNER_LEFT_CANCEL_REASON = "A partner left the case"
PARTNER_LEAVE_REASON_MAX = 300  # it becomes the individual case's absent-partner note


def _check_leaving(*, actor: User, case: Case, client: Client, absent_partner: str, reason: str) -> str:
    _require_clinician(actor, case, "record that a partner leaves")
    if not case.is_couple:
        raise Refusal("Only a couple case has a partner who can leave it.")
    _require_partner(case, client)
    if case.phase not in OPEN_PHASES:
        raise Refusal("This case is closed: nobody can leave it any more.")
    if absent_partner not in AbsentPartner.values:
        raise Refusal("Choose why the partner no longer attends.")
    reason = reason.strip()
    if not reason:
        raise Refusal("Write why the partner leaves the case.")
    if len(reason) > PARTNER_LEAVE_REASON_MAX:
        raise Refusal(f"Keep the reason within {PARTNER_LEAVE_REASON_MAX} characters.")
    return reason


def case_partner_leave(
    *,
    actor: User,
    case: Case,
    client: Client,
    absent_partner: str,
    reason: str,
    cancel_bookings: Collection[int] = (),
) -> PartnerLeave:
    """One partner leaves a couple case, which goes on as the other partner's individual case (with the
    reason why the leaver no longer attends). The leaver's future bookings, theirs alone and joint, are
    cancelled in the same transaction once the clinician has confirmed exactly those (`cancel_bookings`,
    the ids shown); otherwise scheduling's BookingsToCancel lists them and nothing changes. The case no
    longer names the leaver, so the permission layer no longer lets their portal reach it; what was
    recorded about them stays with the case."""
    reason = _check_leaving(
        actor=actor, case=case, client=client, absent_partner=absent_partner, reason=reason
    )
    with transaction.atomic():
        current = Case.objects.locked().get(pk=case.pk)
        if (current.partner_a_id, current.partner_b_id, current.phase) != (
            case.partner_a_id,
            case.partner_b_id,
            case.phase,
        ):
            raise Refusal("Someone else has just changed this case; reload the page.")
        batch = appointments_cancel_with_care(
            actor=actor,
            case=case,
            reason=PARTNER_LEFT_CANCEL_REASON,
            confirmed=cancel_bookings,
            clients=[client],
        )
        remaining = case.partner_b if client.pk == case.partner_a_id else case.partner_a
        assert remaining is not None  # a couple case has both
        case.partner_a, case.partner_b = remaining, None
        case.absent_partner, case.absent_partner_note = absent_partner, reason
        case.save(
            update_fields=["partner_a", "partner_b", "absent_partner", "absent_partner_note", "updated_at"]
        )
        leave = PartnerLeave.objects.create(
            case=case,
            client=client,
            at=timezone.now(),
            by=actor,
            absent_partner=absent_partner,
            reason=reason,
        )
        measures_schedule_later(case_id=case.pk)
        audit_record(
            actor=actor,
            action="case.partner_left",
            target=case,
            case=case,
            detail={
                "client": client.pk,
                "absent_partner": absent_partner,
                "cancelled": len(set(cancel_bookings)) if batch else 0,
            },
        )
    return leave


# --- intake and consent ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeDetails:
    details_confirmed: bool = False
    relationship_history: str = ""
    presenting_concerns: str = ""
    medications: str = ""
    conditions: str = ""
    safety_afraid_of_partner: str = ""
    safety_pressured_into_sex: str = ""
    safety_self_harm_thoughts: str = ""
    safety_notes: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def intake_save(*, actor: User, case: Case, client: Client, details: IntakeDetails) -> IntakeRecord:
    """Record one partner's intake as staff took it down (each partner may also fill in their own part in
    the portal: see intake_client_save)."""
    _require_partner(case, client)
    _require_clinician(actor, case, "record an intake")
    now = timezone.now()
    with transaction.atomic():
        record, created = IntakeRecord.objects.update_or_create(
            case=case,
            client=client,
            defaults={**details.as_dict(), "updated_at": now, "updated_by": actor},
        )
        if record.safety_to_review:
            # The clinician wrote these answers down with the client: they have seen them.
            record.safety_reviewed_at, record.safety_reviewed_by = now, actor
            record.save(update_fields=["safety_reviewed_at", "safety_reviewed_by"])
        audit_record(
            actor=actor,
            action="intake.create" if created else "intake.update",
            target=record,
            case=case,
            detail={
                "client": client.pk,
                "complete": record.is_complete,
                "safety_flag": record.safety_flagged,
            },
        )
    return record


@dataclass(frozen=True)
class ContactDetails:
    """What a client may correct about themself in the portal (the e-mail address is their log-in and
    stays with the practice)."""

    preferred_name: str = ""
    pronouns: str = ""
    date_of_birth: dt.date | None = None
    phone: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def client_of(actor: Any, case: Case) -> Client | None:
    """The partner of the case who is this portal user, or None."""
    if not actor.is_authenticated or actor.role != Role.CLIENT or not actor.is_active:
        return None
    return next((c for c in case.partners if c.user_id is not None and c.user_id == actor.pk), None)


def intake_client_save(
    *, actor: User, case: Case, contact: ContactDetails, details: IntakeDetails
) -> IntakeRecord:
    """A partner fills in (or corrects) their own part of the intake in the portal. Only their own row is
    touched; the therapist's safety notes stay as they were, and a changed risk answer goes back on the
    therapist's list to review."""
    client = client_of(actor, case)
    if client is None:
        raise AccessDenied("You can only fill in your own intake.")
    if case.phase not in CLIENT_INTAKE_PHASES:
        raise Refusal("Your intake can no longer be changed here. Tell your therapist what has changed.")
    values = details.as_dict()
    values.pop("safety_notes")  # the clinician's notes, not the client's
    now = timezone.now()
    with transaction.atomic():
        contact_changed = sorted(n for n, v in contact.as_dict().items() if getattr(client, n) != v)
        if contact_changed:
            Client.objects.filter(pk=client.pk).update(**contact.as_dict(), updated_at=now)
            for name, value in contact.as_dict().items():
                setattr(client, name, value)
        record = IntakeRecord.objects.select_for_update().filter(case=case, client=client).first()
        before = {n: getattr(record, n) for n in IntakeRecord.SAFETY_FIELDS} if record else {}
        if record is None:
            record = IntakeRecord(case=case, client=client)
        for name, value in values.items():
            setattr(record, name, value)
        record.entered_by = EnteredBy.CLIENT
        record.updated_at, record.updated_by = now, actor
        if before != {n: getattr(record, n) for n in IntakeRecord.SAFETY_FIELDS}:
            record.safety_reviewed_at, record.safety_reviewed_by = None, None
        created = record.pk is None
        record.save()
        audit_record(
            actor=actor,
            action="intake.client_create" if created else "intake.client_update",
            target=record,
            case=case,
            # Whether risk was indicated, never the answers: the audit page is read more widely.
            detail={
                "client": client.pk,
                "contact_changed": contact_changed,
                "complete": record.is_complete,
                "safety_flag": record.safety_flagged,
            },
        )
    return record


def intake_safety_review(*, actor: User, record: IntakeRecord) -> IntakeRecord:
    """A clinician has read the risk answers of one partner's intake (and acted on them as needed)."""
    _require_clinician(actor, record.case, "review safety answers")
    if not record.safety_flagged:
        raise Refusal("This intake has no safety answer to review.")
    if record.safety_reviewed_at is not None:
        raise Refusal("These safety answers were already reviewed.")
    with transaction.atomic():
        record.safety_reviewed_at, record.safety_reviewed_by = timezone.now(), actor
        record.save(update_fields=["safety_reviewed_at", "safety_reviewed_by"])
        audit_record(
            actor=actor,
            action="intake.safety_reviewed",
            target=record,
            case=record.case,
            detail={"client": record.client_id},
        )
    return record


def consent_record(
    *, actor: User, case: Case, client: Client, version: str = policy.CONSENT_VERSION
) -> TreatmentConsent:
    """A partner consented to treatment (on paper or in person, with the front desk or the therapist)."""
    _require_partner(case, client)
    if not can_edit_case(actor, case):
        raise AccessDenied("You cannot record consent for this case.")
    version = version.strip()
    if not version:
        raise Refusal("Say which version of the consent text was given.")
    with transaction.atomic():
        consent = TreatmentConsent.objects.create(
            case=case, client=client, version=version, given_at=timezone.now(), recorded_by=actor
        )
        audit_record(
            actor=actor,
            action="consent.treatment",
            target=consent,
            case=case,
            detail={"client": client.pk, "version": version},
        )
    return consent


def consent_record_signed(
    *, case: Case, client: Client, version: str, given_at: dt.datetime, recorded_by: User
) -> TreatmentConsent:
    """The partner e-signed the treatment consent: that is how the pathway's record gets made there. The
    consents app calls this inside its own transaction, after checking who may sign, and audits it."""
    with transaction.atomic():
        return TreatmentConsent.objects.create(
            case=case, client=client, version=version, given_at=given_at, recorded_by=recorded_by
        )


def consent_record_withdraw(*, record_id: int) -> None:
    """The signed consent behind this record was withdrawn (the consents app audits the withdrawal)."""
    with transaction.atomic():
        TreatmentConsent.objects.filter(pk=record_id).delete()


# --- assessment ------------------------------------------------------------------------------------------


def findings_save(
    *, actor: User, case: Case, client: Client, psychological: str, physical: str
) -> AssessmentFindings:
    """The psychological and physical contributing factors the assessment found for one partner."""
    _require_partner(case, client)
    _require_clinician(actor, case, "record assessment findings")
    with transaction.atomic():
        findings, created = AssessmentFindings.objects.update_or_create(
            case=case,
            client=client,
            defaults={
                "psychological": psychological.strip(),
                "physical": physical.strip(),
                "updated_at": timezone.now(),
                "updated_by": actor,
            },
        )
        audit_record(
            actor=actor,
            action="assessment.findings",
            target=findings,
            case=case,
            detail={"client": client.pk, "created": created},
        )
    return findings


# --- referrals -------------------------------------------------------------------------------------------


def referral_create(
    *,
    actor: User,
    case: Case,
    client: Client,
    specialist_type: SpecialistType,
    reason: str,
    urgency: str = Urgency.ROUTINE,
) -> Referral:
    """Refer one partner to a specialist; the result is due back by a date that follows the urgency."""
    _require_partner(case, client)
    _require_clinician(actor, case, "make a referral")
    reason = reason.strip()
    if not reason:
        raise Refusal("Write the reason for the referral: it goes into the letter.")
    if urgency not in Urgency.values:
        raise Refusal("Choose the urgency of the referral.")
    if not specialist_type.active:
        raise Refusal("The practice no longer refers to that specialist type.")
    with transaction.atomic():
        referral = Referral.objects.create(
            case=case,
            client=client,
            specialist_type=specialist_type,
            reason=reason,
            urgency=urgency,
            sent_at=timezone.now(),
            due_on=local_today() + dt.timedelta(days=policy.REFERRAL_DUE_DAYS[urgency]),
            referred_by=actor,
        )
        audit_record(
            actor=actor,
            action="referral.create",
            target=referral,
            case=case,
            detail={"client": client.pk, "specialist": specialist_type.slug, "urgency": urgency},
        )
    return referral


def referral_mark_appointment(*, actor: User, referral: Referral, appointment_on: dt.date) -> Referral:
    """The specialist has given the client an appointment."""
    _require_clinician(actor, referral.case, "update a referral")
    if referral.status != ReferralStatus.SENT:
        raise Refusal("The appointment can only be recorded while the referral is waiting for one.")
    with transaction.atomic():
        referral.status = ReferralStatus.APPOINTMENT_MADE
        referral.appointment_on = appointment_on
        referral.appointment_recorded_at = timezone.now()
        referral.save(update_fields=["status", "appointment_on", "appointment_recorded_at"])
        audit_record(
            actor=actor,
            action="referral.appointment_made",
            target=referral,
            case=referral.case,
            detail={"appointment_on": appointment_on.isoformat()},
        )
    return referral


def referral_record_result(*, actor: User, referral: Referral, finding: str, physical_cause: str) -> Referral:
    """The specialist's result is back: the finding and whether a physical cause was ruled in or out.
    (A result may arrive without the appointment having been recorded.)"""
    _require_clinician(actor, referral.case, "record a referral result")
    finding = finding.strip()
    if referral.status == ReferralStatus.RESULT_RECEIVED:
        raise Refusal("The result of this referral is already recorded.")
    if not finding:
        raise Refusal("Write the specialist's finding: a referral cannot be closed without its result.")
    if physical_cause not in PhysicalCause.values:
        raise Refusal("Say whether a physical cause was ruled in, ruled out, or the result is inconclusive.")
    with transaction.atomic():
        referral.status = ReferralStatus.RESULT_RECEIVED
        referral.finding = finding
        referral.physical_cause = physical_cause
        referral.result_recorded_at = timezone.now()
        referral.save(update_fields=["status", "finding", "physical_cause", "result_recorded_at"])
        audit_record(
            actor=actor,
            action="referral.result",
            target=referral,
            case=referral.case,
            detail={"physical_cause": physical_cause},
        )
    return referral


# --- treatment plan --------------------------------------------------------------------------------------


def plan_save(
    *,
    actor: User,
    case: Case,
    format: str,
    goals: str,
    focus_areas: str = "",
    sessions_per_week: int | None = None,
    conjunctive_client: Client | None = None,
    change_note: str = "",
) -> TreatmentPlan:
    """Write a new version of the case's treatment plan; every earlier version stays as it was."""
    _require_clinician(actor, case, "change the treatment plan")
    goals = goals.strip()
    if format not in TreatmentFormat.values:
        raise Refusal("Choose the treatment format.")
    if not goals:
        raise Refusal("Write at least one goal of the treatment.")
    if format == TreatmentFormat.STANDARD and sessions_per_week not in (1, 2):
        raise Refusal("A standard format has one or two sessions a week.")
    if format != TreatmentFormat.STANDARD:
        sessions_per_week = None
    if format == TreatmentFormat.INTENSIVE and not case.is_couple:
        raise Refusal("An intensive is for a couple; choose standard or individual for this case.")
    if conjunctive_client is not None:
        _require_partner(case, conjunctive_client)
        if not case.is_couple:
            raise Refusal(
                "Conjunctive individual therapy runs beside couple sessions: this is an individual case."
            )
    with transaction.atomic():
        # Locking the case serializes two concurrent saves, so version numbers never collide.
        Case.objects.locked().only("pk").get(pk=case.pk)
        last = TreatmentPlan.objects.filter(case=case).aggregate(v=Max("version"))["v"] or 0
        plan = TreatmentPlan.objects.create(
            case=case,
            version=last + 1,
            format=format,
            sessions_per_week=sessions_per_week,
            conjunctive_client=conjunctive_client,
            goals=goals,
            focus_areas=focus_areas.strip(),
            change_note=change_note.strip(),
            created_at=timezone.now(),
            created_by=actor,
        )
        measures_schedule_later(case_id=case.pk)
        case_changed_later(case_id=case.pk)
        audit_record(
            actor=actor,
            action="plan.version",
            target=plan,
            case=case,
            detail={"version": plan.version, "format": format},
        )
    return plan


# --- follow-up -------------------------------------------------------------------------------------------


def followup_complete(
    *, actor: User, task: FollowUpTask, outcome: str = "", early_reason: str = ""
) -> FollowUpTask:
    """The follow-up contact took place: on or after the day its window opens, or earlier with a written
    reason (kept on the task and noted in the audit trail)."""
    _require_clinician(actor, task.case, "record a follow-up")
    if task.status != FollowUpStatus.OPEN:
        raise Refusal("This follow-up is already done.")
    early_reason = early_reason.strip()
    early = local_today() < task.opens_on
    if early and not early_reason:
        raise Refusal(
            f"The {task.label.lower()} is due on {task.due_on:%d %B %Y}; its window opens on "
            f"{task.opens_on:%d %B %Y}. Record it from then, or write why it is recorded early."
        )
    if early and len(early_reason) < policy.OVERRIDE_REASON_MIN:
        raise Refusal(
            "Write why it is recorded early in a sentence "
            f"(at least {policy.OVERRIDE_REASON_MIN} characters)."
        )
    with transaction.atomic():
        task.status = FollowUpStatus.DONE
        task.done_at = timezone.now()
        task.done_by = actor
        task.outcome = outcome.strip()
        task.early_reason = early_reason if early else ""
        task.save(update_fields=["status", "done_at", "done_by", "outcome", "early_reason"])
        detail = {"early": True, "opens_on": task.opens_on.isoformat()} if early else {}
        audit_record(actor=actor, action="followup.done", target=task, case=task.case, detail=detail)
    return task


def followup_reschedule(*, actor: User, task: FollowUpTask, due_on: dt.date) -> FollowUpTask:
    """Move a follow-up to another day (the first planned day is kept)."""
    if not can_edit_case(actor, task.case):
        raise AccessDenied("You cannot change this case.")
    if task.status != FollowUpStatus.OPEN:
        raise Refusal("This follow-up is already done.")
    if due_on < local_today():
        raise Refusal("Choose today or a later day.")
    with transaction.atomic():
        previous = task.due_on
        task.due_on = due_on
        task.save(update_fields=["due_on"])
        measures_schedule_later(case_id=task.case_id)
        audit_record(
            actor=actor,
            action="followup.reschedule",
            target=task,
            case=task.case,
            detail={"from": previous.isoformat(), "to": due_on.isoformat()},
        )
    return task
