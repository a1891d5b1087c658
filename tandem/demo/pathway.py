"""The care pathway's part of the demo practice: intakes, consent, findings, referrals, plans, follow-up.

Called by tandem.demo.build once the cases, their phase history and their sessions exist. Rows are
bulk-inserted; tandem.demo.history then gives them the audit events their services would have written.
What it makes follows each case's own history (the day it entered each phase), so the timeline, the
Today page and the discharge summary read as they would in a real practice; a few rows are placed on
purpose so that every pathway list on the demo therapist's Today page has something in it: a safety
answer to review, an overdue referral, an overdue follow-up and a case in treatment without a plan.
The large benchmark practice (`spread`) places such loose ends on one case in `spread` of those that
could have them, so that every therapist's Today lists are as full as a real practice's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings

from tandem.accounts.models import User
from tandem.cases.models import Case, Phase
from tandem.demo.plans import bulk
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

ORDER = (
    Phase.CONSULTATION,
    Phase.INTAKE,
    Phase.ASSESSMENT,
    Phase.TREATMENT,
    Phase.FOLLOW_UP,
    Phase.DISCHARGED,
)

INTAKE_TEXT = {
    "relationship_history": "Together for some years; a move and a new job last year. (Synthetic demo text.)",
    "presenting_concerns": "We have drifted apart physically and both feel awkward starting anything.",
    "medications": "None",
    "conditions": "None known",
}
GOALS = {
    TreatmentFormat.INTENSIVE: "Rebuild touch without pressure to perform; a shared way to talk about sex.",
    TreatmentFormat.STANDARD: "Less avoidance of closeness; practise the sensate focus stages at home.",
    TreatmentFormat.INDIVIDUAL: "Understand the pattern of anxiety around intimacy; arousal awareness.",
}


@dataclass(frozen=True)
class DemoCase:
    """What the pathway seed needs of one demo case: the row, its phase history and its format."""

    case: Case
    steps: Sequence[tuple[str, dt.date]]  # (phase, local day it was entered), oldest first
    intensive: bool


def _reached(item: DemoCase, phase: str) -> dt.date | None:
    return next((day for p, day in item.steps if p == phase), None)


class PathwaySeed:
    def __init__(self, *, now: dt.datetime, demo_therapist_id: int, spread: int = 0) -> None:
        self.now = now
        self.spread = spread
        self.zone = ZoneInfo(settings.TIME_ZONE)
        self.today = self.now.astimezone(self.zone).date()
        self.demo_therapist_id = demo_therapist_id
        self.specialists = {s.slug: s for s in SpecialistType.objects.all()}
        self.intakes: list[IntakeRecord] = []
        self.consents: list[TreatmentConsent] = []
        self.findings: list[AssessmentFindings] = []
        self.referrals: list[Referral] = []
        self.plans: list[TreatmentPlan] = []
        self.follow_ups: list[FollowUpTask] = []
        self.done = {"safety": False, "overdue_referral": False, "overdue_follow_up": False, "no_plan": False}

    def at(self, day: dt.date, hour: int = 11) -> dt.datetime:
        """A moment on a local day, never in the future."""
        return min(
            dt.datetime.combine(day, dt.time(hour), tzinfo=self.zone), self.now - dt.timedelta(minutes=5)
        )

    def mine(self, case: Case) -> bool:
        return self.demo_therapist_id in {c.pk for c in case.clinicians}

    def loose_end(self, kind: str, case: Case) -> bool:
        """Whether this case (already known to qualify) is left with a loose end of this kind: the demo
        therapist's first such case, and in the large practice one in `spread` of every therapist's."""
        if not self.done[kind] and self.mine(case):
            return True
        # Each kind starts at its own offset, so that one case does not collect every loose end.
        offset = list(self.done).index(kind)
        return self.spread > 0 and (case.pk + offset) % self.spread == 0

    def build(self, items: Sequence[DemoCase]) -> None:
        for item in items:
            case = item.case
            clinician: User | None = case.team.first if case.team is not None else case.therapist
            if clinician is None or _reached(item, Phase.INTAKE) is None:
                continue
            self.intake(item, clinician)
            if _reached(item, Phase.ASSESSMENT) is not None:
                self.assessment(item, clinician)
            if _reached(item, Phase.TREATMENT) is not None:
                self.plan(item, clinician)
            if _reached(item, Phase.FOLLOW_UP) is not None:
                self.follow_up(item, clinician)
        bulk(IntakeRecord, self.intakes)
        bulk(TreatmentConsent, self.consents)
        bulk(AssessmentFindings, self.findings)
        bulk(Referral, self.referrals)
        bulk(TreatmentPlan, self.plans)
        bulk(FollowUpTask, self.follow_ups)

    def intake(self, item: DemoCase, clinician: User) -> None:
        case = item.case
        started = _reached(item, Phase.INTAKE)
        assert started is not None
        in_intake = case.phase == Phase.INTAKE
        for index, client in enumerate(case.partners):
            if in_intake and index == 1:
                continue  # the second partner has not filled theirs in yet: intake still open
            flagged = case.phase in (Phase.INTAKE, Phase.ASSESSMENT) and self.loose_end("safety", case)
            self.done["safety"] |= flagged and self.mine(case)
            self.intakes.append(
                IntakeRecord(
                    case=case,
                    client=client,
                    details_confirmed=True,
                    **INTAKE_TEXT,
                    safety_afraid_of_partner="no",
                    safety_pressured_into_sex="unsure" if flagged else "no",
                    safety_self_harm_thoughts="no",
                    # A partner with a portal account filled in their own part there.
                    entered_by=EnteredBy.CLIENT if client.user is not None else EnteredBy.STAFF,
                    updated_at=self.at(started + dt.timedelta(days=2 + index)),
                    updated_by=client.user if client.user is not None else clinician,
                )
            )
            if not in_intake:
                self.consents.append(
                    TreatmentConsent(
                        case=case,
                        client=client,
                        version=policy.CONSENT_VERSION,
                        given_at=self.at(started + dt.timedelta(days=4), hour=15),
                        recorded_by=clinician,
                    )
                )

    def assessment(self, item: DemoCase, clinician: User) -> None:
        case = item.case
        entered = _reached(item, Phase.ASSESSMENT)
        assert entered is not None
        finished = _reached(item, Phase.TREATMENT)
        for client in case.partners:
            if finished is None and client != case.partner_a:
                continue  # mid-assessment: findings so far for one partner only
            self.findings.append(
                AssessmentFindings(
                    case=case,
                    client=client,
                    psychological="Performance worry and avoidance after a stressful year. (Synthetic.)",
                    physical="None suspected."
                    if client != case.partner_a
                    else "A physical contribution is possible.",
                    updated_at=self.at((finished or self.today) - dt.timedelta(days=1), hour=16),
                    updated_by=clinician,
                )
            )
        # One referral per case that reached assessment, for the first partner: to a urologist or a
        # pelvic floor physiotherapist, taken through the loop as far as the case's history allows.
        specialist = self.specialists.get("urologist" if case.pk % 2 else "pelvic-floor-physiotherapist")
        if specialist is None:
            return
        sent = entered + dt.timedelta(days=2)
        urgency = Urgency.URGENT if case.pk % 3 == 0 else Urgency.SOON
        referral = Referral(
            case=case,
            client=case.partner_a,
            specialist_type=specialist,
            reason="Difficulties with arousal for over a year; please assess for a physical cause.",
            urgency=urgency,
            sent_at=self.at(sent),
            due_on=sent + dt.timedelta(days=policy.REFERRAL_DUE_DAYS[urgency]),
            referred_by=clinician,
        )
        if case.phase == Phase.TREATMENT and self.loose_end("overdue_referral", case):
            # Sent urgently at the start of the assessment and never answered: overdue on Today.
            referral.urgency = Urgency.URGENT
            referral.due_on = sent + dt.timedelta(days=policy.REFERRAL_DUE_DAYS[Urgency.URGENT])
            self.done["overdue_referral"] |= self.mine(case) and referral.due_on < self.today
        elif finished is not None or self.today - sent > dt.timedelta(days=12):
            seen = sent + dt.timedelta(days=7)
            referral.status = ReferralStatus.RESULT_RECEIVED
            referral.appointment_on = seen
            referral.appointment_recorded_at = self.at(sent + dt.timedelta(days=1))
            referral.finding = "Examination and blood tests normal. (Synthetic demo result.)"
            referral.physical_cause = PhysicalCause.RULED_OUT if case.pk % 4 else PhysicalCause.RULED_IN
            referral.result_recorded_at = self.at(min(seen + dt.timedelta(days=3), self.today))
        elif self.today - sent > dt.timedelta(days=3):
            referral.status = ReferralStatus.APPOINTMENT_MADE
            referral.appointment_on = self.today + dt.timedelta(days=5)
            referral.appointment_recorded_at = self.at(sent + dt.timedelta(days=2))
        if sent <= self.today:
            self.referrals.append(referral)

    def plan(self, item: DemoCase, clinician: User) -> None:
        case = item.case
        started = _reached(item, Phase.TREATMENT)
        assert started is not None
        if case.phase == Phase.TREATMENT and case.team is None and self.loose_end("no_plan", case):
            self.done["no_plan"] |= self.mine(case)  # the plan is still to be written: listed on Today
            return
        if item.intensive and case.is_couple:
            fmt = TreatmentFormat.INTENSIVE
        elif case.is_couple:
            fmt = TreatmentFormat.STANDARD
        else:
            fmt = TreatmentFormat.INDIVIDUAL
        self.plans.append(
            TreatmentPlan(
                case=case,
                version=1,
                format=fmt,
                sessions_per_week=1 if fmt == TreatmentFormat.STANDARD else None,
                goals=GOALS[fmt],
                focus_areas="Sensate focus; communication about wishes and limits.",
                created_at=self.at(started, hour=10),
                created_by=clinician,
            )
        )
        if fmt == TreatmentFormat.STANDARD and case.pk % 2 == 0:
            self.plans.append(
                TreatmentPlan(
                    case=case,
                    version=2,
                    format=fmt,
                    sessions_per_week=2,
                    goals=GOALS[fmt],
                    focus_areas="Sensate focus; communication about wishes and limits.",
                    change_note="Two sessions a week for a month while the exercises are new.",
                    created_at=self.at(min(started + dt.timedelta(days=14), self.today), hour=10),
                    created_by=clinician,
                )
            )

    def follow_up(self, item: DemoCase, clinician: User) -> None:
        case = item.case
        start = _reached(item, Phase.FOLLOW_UP)
        assert start is not None
        discharged = _reached(item, Phase.DISCHARGED)
        mode = FollowUpMode.PHONE if case.pk % 3 == 0 else FollowUpMode.VISIT
        for step in policy.FOLLOW_UP_SCHEDULE:
            due = step.due_from(start)
            task = FollowUpTask(
                case=case,
                label=step.label,
                mode=mode,
                due_on=due,
                planned_on=due,
                created_at=self.at(start),
            )
            leave_overdue = (
                discharged is None and due < self.today and self.loose_end("overdue_follow_up", case)
            )
            if discharged is not None or (due < self.today and not leave_overdue):
                task.status = FollowUpStatus.DONE
                task.done_at = self.at(min(due, discharged or self.today), hour=14)
                task.done_by = clinician
                task.outcome = "Going well; exercises continued at home."
            self.done["overdue_follow_up"] |= leave_overdue and self.mine(case)
            self.follow_ups.append(task)


def seed_pathway(
    *, items: Sequence[DemoCase], now: dt.datetime, demo_therapist_id: int, spread: int = 0
) -> None:
    PathwaySeed(now=now, demo_therapist_id=demo_therapist_id, spread=spread).build(items)
