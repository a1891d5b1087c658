"""The demo's finished cases for the outcomes page: enough scored cases that no default cell reads "<5".

The page suppresses every figure from fewer than five cases, and its default view groups by format
(intensive, standard, individual with the partner absent). So for each format this cohort holds six
cases per outcome category (recovered / improved / unchanged / deteriorated / not measured per partner;
both / one / neither improved, deteriorated, not measured per couple), follow-up scores at 3 and 6 months
for most partners who gained, and six drop-outs whose plan was agreed but who did not start treatment.

The cases go through the same plans, phase history, sessions and pathway records as the hand-picked
demo cases; their questionnaires are written through `response_record`, so scores and audit rows are
the real ones. Each partner's design letter says how their CSI-16 moves from baseline to the end of
treatment: R recovered, I improved, U unchanged, D deteriorated, N not measured (no end score).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings

from tandem.accounts.models import User
from tandem.cases.models import AbsentPartner, Case, Client, Phase
from tandem.demo.data import INTENSIVE, STANDARD
from tandem.demo.plans import CasePlan, opened_for, walk
from tandem.demo.state import SeedState
from tandem.measures import engine
from tandem.measures.models import Instrument
from tandem.measures.services import response_record
from tandem.pathway.models import TreatmentFormat, TreatmentPlan

INDIVIDUAL = "individual"
# Per couple: the two partners' designs, six couples per couple category (both improved, one improved,
# neither changed, deteriorated, not measured); per partner this also gives every partner category at
# least six cases.
COUPLE_DESIGNS: tuple[str, ...] = (
    *("RI", "IR", "RR", "II", "RI", "II"),
    *("RU", "UI", "IU", "UR", "RU", "UI"),
    *("UU",) * 6,
    *("DU", "UD", "DI", "DD", "RD", "UD"),
    *("NR", "UN", "NN", "IN", "NU", "DN"),
)
INDIVIDUAL_DESIGNS: tuple[str, ...] = tuple(letter for letter in "RIUDN" for _ in range(6))
DROPOUTS_PER_FORMAT = 6
COHORT_CASES = 2 * len(COUPLE_DESIGNS) + len(INDIVIDUAL_DESIGNS) + 3 * DROPOUTS_PER_FORMAT
# Long enough that the 6-month questionnaire (150-240 days after the move to follow-up) falls inside it.
FOLLOW_UP_DAYS = 200
END_DELAY = dt.timedelta(days=5)  # end-of-treatment questionnaire, inside the page's 14-day grace
FOLLOW_UP_AT = (dt.timedelta(days=100), dt.timedelta(days=190))  # the 3- and 6-month questionnaires


@dataclass
class CohortCase:
    plan: CasePlan
    fmt: str  # INTENSIVE, STANDARD or INDIVIDUAL
    design: str  # one letter per partner; "" for a drop-out


class OutcomesSeed(SeedState):
    def _outcome_plans(self) -> list[CohortCase]:
        """The cohort's plans: finished couples in both formats and individuals, plus drop-outs."""
        cohort: list[CohortCase] = []
        for fmt, designs in (
            (INTENSIVE, COUPLE_DESIGNS),
            (STANDARD, COUPLE_DESIGNS),
            (INDIVIDUAL, INDIVIDUAL_DESIGNS),
        ):
            for index, design in enumerate(designs):
                # Every fourth case is still in follow-up; the rest are discharged.
                target = Phase.FOLLOW_UP if index % 4 == 3 else Phase.DISCHARGED
                cohort.append(CohortCase(self._cohort_plan(fmt, index, target, None), fmt, design))
            for index in range(DROPOUTS_PER_FORMAT):
                plan = self._cohort_plan(fmt, index, Phase.CLOSED, Phase.ASSESSMENT)
                cohort.append(CohortCase(plan, fmt, ""))
        return cohort

    def _cohort_plan(self, fmt: str, index: int, target: str, close_after: str | None) -> CasePlan:
        couple = fmt != INDIVIDUAL
        absent = (AbsentPartner.UNAVAILABLE, AbsentPartner.UNWILLING, AbsentPartner.NO_PARTNER)[index % 3]
        plan = self._new_plan(  # type: ignore[attr-defined]  # CasesSeed, beside this class in the Builder
            couple=couple,
            absent="" if couple else absent,
            fmt=INTENSIVE if fmt == INTENSIVE else STANDARD,
            close_after=close_after,
            therapist=None if fmt == INTENSIVE else index % len(self.therapists),
            team=index % len(self.teams) if fmt == INTENSIVE else None,
        )
        plan.durations[Phase.FOLLOW_UP] = FOLLOW_UP_DAYS
        plan.opened = opened_for(plan, target, self.today, self.rng)
        if target == Phase.FOLLOW_UP:
            # Far enough into follow-up for the 3-month questionnaire, not yet discharged.
            before = (Phase.CONSULTATION, Phase.INTAKE, Phase.ASSESSMENT, Phase.TREATMENT)
            entered = self.today - dt.timedelta(days=self.rng.randint(110, FOLLOW_UP_DAYS - 10))
            plan.opened = entered - dt.timedelta(days=sum(plan.durations[p] for p in before))
        walk(plan, self.today)
        assert plan.phase == target, (plan.phase, target)
        return plan


def _format(fmt: str) -> str:
    return {INTENSIVE: TreatmentFormat.INTENSIVE, STANDARD: TreatmentFormat.STANDARD}.get(
        fmt, TreatmentFormat.INDIVIDUAL
    )


def dropout_plans(*, cohort: Sequence[CohortCase], cases: Sequence[Case]) -> None:
    """The drop-outs agreed a format at the end of assessment and did not start: their plan exists."""
    zone = ZoneInfo(settings.TIME_ZONE)
    rows = []
    for item, case in zip(cohort, cases, strict=True):
        if item.design:
            continue
        closed = item.plan.steps[-1][1]
        # Every cohort case has a clinician: intensive cases a team, the others a therapist.
        author = case.team.first_id if case.team is not None else case.therapist_id
        assert author is not None
        rows.append(
            TreatmentPlan(
                case=case,
                version=1,
                format=_format(item.fmt),
                sessions_per_week=1 if item.fmt == STANDARD else None,
                goals="Agreed at the end of assessment; the clients did not start. (Synthetic.)",
                focus_areas="Sensate focus; communication about wishes and limits.",
                created_at=dt.datetime.combine(closed - dt.timedelta(days=2), dt.time(10), tzinfo=zone),
                created_by_id=author,
            )
        )
    TreatmentPlan.objects.bulk_create(rows)


def _answers(ranges: Sequence[tuple[str, int, int]], total: int, *, zero: frozenset[str]) -> dict[str, int]:
    """Item answers adding up to `total` (as far as the items allow), spread evenly; items in `zero`
    stay at their lowest."""
    answers = {link_id: low for link_id, low, _high in ranges}
    room = [(link_id, high) for link_id, _low, high in ranges if link_id not in zero]
    left = total - sum(answers.values())
    while left > 0 and room:
        room = [(link_id, high) for link_id, high in room if answers[link_id] < high]
        for link_id, _high in room[:left]:
            answers[link_id] += 1
            left -= 1
    return answers


class OutcomeScores:
    """Each partner's CSI-16 (and for every third case the PHQ-9) over the case, by their design."""

    def __init__(self, *, now: dt.datetime, seed: int) -> None:
        self.now = now
        self.rng = random.Random(seed + 19)  # noqa: S311 -- synthetic data
        self.zone = ZoneInfo(settings.TIME_ZONE)
        defs = {i.code: i.definition for i in Instrument.objects.filter(code__in=("CSI16", "PHQ9"))}
        self.ranges = {code: engine.item_ranges(definition) for code, definition in defs.items()}

    def csi(self, letter: str) -> tuple[int, int | None]:
        """(baseline, end) on the CSI-16 (0-81, higher is better, cut-off 51.5)."""
        r = self.rng.randint
        if letter == "R":
            return r(30, 42), r(56, 66)
        if letter == "I":
            base = r(16, 28)
            return base, base + r(12, 18)
        if letter == "D":
            base = r(36, 50)
            return base, base - r(12, 16)
        base = r(24, 46)
        return base, (None if letter == "N" else base + r(-2, 2))

    def phq(self, letter: str) -> tuple[int, int | None]:
        """(baseline, end) on the PHQ-9 (0-27, lower is better, clinical at 10 and above)."""
        r = self.rng.randint
        base = {"R": r(12, 16), "I": r(20, 24), "D": r(5, 8)}.get(letter, r(8, 14))
        end = {"R": base - r(7, 9), "I": base - r(6, 8), "D": base + r(6, 8), "U": base + r(-1, 1)}.get(
            letter
        )
        return base, end

    def record(self, actor: User, case: Case, client: Client, code: str, total: int, at: dt.datetime) -> None:
        if at >= self.now:
            return
        # The PHQ-9's item 9 (thoughts of self-harm) stays 0: a demo score must not raise a safety alert.
        answers = _answers(self.ranges[code], total, zero=frozenset({"9"}) if code == "PHQ9" else frozenset())
        response_record(
            actor=actor, case=case, client=client, instrument_code=code, answers=answers, answered_at=at
        )

    def write(self, item: CohortCase, case: Case) -> None:
        days = dict(item.plan.steps)
        start = dt.datetime.combine(
            days[Phase.ASSESSMENT] + dt.timedelta(days=3), dt.time(9), tzinfo=self.zone
        )
        ended = dt.datetime.combine(days[Phase.FOLLOW_UP], dt.time(9), tzinfo=self.zone) + END_DELAY
        actor = case.clinicians[0]
        for letter, client in zip(item.design, case.partners, strict=True):
            base, end = self.csi(letter)
            self.record(actor, case, client, "CSI16", base, start)
            if end is None:
                continue
            self.record(actor, case, client, "CSI16", end, ended)
            if letter in "RI":
                self.follow_ups(actor, case, client, base, end, ended - END_DELAY)
            if case.pk % 3 == 0:
                phq_base, phq_end = self.phq(letter)
                self.record(actor, case, client, "PHQ9", phq_base, start)
                if phq_end is not None:
                    self.record(actor, case, client, "PHQ9", phq_end, ended)

    def follow_ups(
        self, actor: User, case: Case, client: Client, base: int, end: int, moved: dt.datetime
    ) -> None:
        """Most gains hold at 3 and 6 months; one partner in five slips back towards the baseline."""
        for after in FOLLOW_UP_AT:
            if self.rng.random() < 0.1:
                continue  # did not return this questionnaire
            kept = self.rng.random() >= 0.2
            score = end + self.rng.randint(-3, 2) if kept else base + self.rng.randint(0, 2)
            self.record(actor, case, client, "CSI16", score, moved + after)


def seed_outcome_scores(
    *, cohort: Sequence[CohortCase], cases: Sequence[Case], now: dt.datetime, seed: int
) -> None:
    scores = OutcomeScores(now=now, seed=seed)
    for item, case in zip(cohort, cases, strict=True):
        if item.design:
            scores.write(item, case)
