"""Clients and cases: which cases to make, and their rows, phase history and presenting problems."""

from __future__ import annotations

import datetime as dt

from tandem.cases.models import (
    AbsentPartner,
    Case,
    CaseProblem,
    Client,
    Phase,
    PhaseChange,
    PresentingProblem,
)
from tandem.cases.services import case_reference
from tandem.demo.data import (
    ACTIVE_PHASES,
    BATCH,
    CLIENT_DOMAIN,
    COUPLE_PROBLEMS,
    FEMALE_FIRST,
    FEMALE_PROBLEMS,
    INTENSIVE,
    LARGE_LAST_NAMES,
    LAST_NAMES,
    MALE_FIRST,
    MALE_PROBLEMS,
    MIN_ACTIVE_FOR_DEMO_THERAPIST,
    NEUTRAL_FIRST,
    PRONOUNS,
    REASONS,
    SLOTS,
    STANDARD,
)
from tandem.demo.plans import CasePlan, PersonPlan, bulk, durations_for, opened_for, walk
from tandem.demo.state import SeedState


class CasesSeed(SeedState):
    # --- cases ------------------------------------------------------------------------------------
    def _person(self, sex: str, last: str | None = None) -> PersonPlan:
        names = {"F": FEMALE_FIRST, "M": MALE_FIRST, "N": NEUTRAL_FIRST}[sex]
        surnames = LARGE_LAST_NAMES if self.large else LAST_NAMES
        return PersonPlan(self.rng.choice(names), last or self.rng.choice(surnames), sex)

    def _couple(self) -> tuple[PersonPlan, PersonPlan]:
        pair = self.rng.choices(("FM", "MF", "FF", "MM", "NF", "NM"), weights=(35, 35, 12, 10, 4, 4))[0]
        first = self._person(pair[0])
        # Some couples share a surname.
        second = self._person(pair[1], first.last if self.rng.random() < 0.3 else None)
        return first, second

    def _plans(self) -> list[CasePlan]:
        return self._demo_plans() if not self.large else self._large_plans()

    def _new_plan(
        self,
        *,
        couple: bool,
        absent: str,
        therapist: int | None,
        team: int | None,
        fmt: str,
        close_after: str | None,
    ) -> CasePlan:
        if couple:
            a, b = self._couple()
            partner_b: PersonPlan | None = b
        else:
            a, partner_b = self._person(self.rng.choice("FFMMN")), None
        return CasePlan(
            partner_a=a,
            partner_b=partner_b,
            absent="" if couple else absent,
            therapist=therapist,
            team=team,
            fmt=fmt,
            opened=self.today,
            durations=durations_for(self.rng, fmt),
            close_after=close_after,
            slot=self.rng.randrange(SLOTS - 1),
        )

    def _demo_plans(self) -> list[CasePlan]:
        """Thirty hand-picked cases: every phase, absent partners of each kind, teams and solo work."""
        c, u, w, n = "couple", AbsentPartner.UNAVAILABLE, AbsentPartner.UNWILLING, AbsentPartner.NO_PARTNER
        # (phase now, who attends, therapist index or team "tN" or None, format, closed after)
        specs: list[tuple[str, str, int | str | None, str, str | None]] = [
            (Phase.CONSULTATION, c, None, STANDARD, None),
            (Phase.CONSULTATION, c, None, STANDARD, None),
            (Phase.CONSULTATION, c, 0, STANDARD, None),
            (Phase.CONSULTATION, n, 2, STANDARD, None),
            (Phase.INTAKE, c, 0, STANDARD, None),
            (Phase.INTAKE, c, "t1", INTENSIVE, None),
            (Phase.INTAKE, u, 1, STANDARD, None),
            (Phase.INTAKE, c, 4, STANDARD, None),
            (Phase.ASSESSMENT, c, "t0", INTENSIVE, None),
            (Phase.ASSESSMENT, c, 0, STANDARD, None),
            (Phase.ASSESSMENT, w, 0, STANDARD, None),
            (Phase.ASSESSMENT, c, 5, STANDARD, None),
            (Phase.ASSESSMENT, c, 6, STANDARD, None),
            (Phase.TREATMENT, c, "t0", INTENSIVE, None),
            (Phase.TREATMENT, c, "t1", INTENSIVE, None),
            (Phase.TREATMENT, c, 0, STANDARD, None),
            (Phase.TREATMENT, c, 0, STANDARD, None),
            (Phase.TREATMENT, u, 0, STANDARD, None),
            (Phase.TREATMENT, c, 1, STANDARD, None),
            (Phase.TREATMENT, c, 3, STANDARD, None),
            (Phase.TREATMENT, w, 7, STANDARD, None),
            (Phase.FOLLOW_UP, c, "t0", INTENSIVE, None),
            (Phase.FOLLOW_UP, c, 0, STANDARD, None),
            (Phase.FOLLOW_UP, c, "t2", INTENSIVE, None),
            (Phase.FOLLOW_UP, c, 2, STANDARD, None),
            (Phase.DISCHARGED, c, 0, STANDARD, None),
            (Phase.DISCHARGED, c, "t1", INTENSIVE, None),
            (Phase.DISCHARGED, n, 5, STANDARD, None),
            (Phase.CLOSED, c, 6, STANDARD, Phase.CONSULTATION),
            (Phase.CLOSED, w, 3, STANDARD, Phase.ASSESSMENT),
        ]
        plans = []
        for target, who, clinician, fmt, close_after in specs:
            plan = self._new_plan(
                couple=who == c,
                absent=who,
                fmt=fmt,
                close_after=close_after,
                therapist=clinician if isinstance(clinician, int) else None,
                team=int(clinician[1:]) if isinstance(clinician, str) else None,
            )
            plan.opened = opened_for(plan, target, self.today, self.rng)
            walk(plan, self.today)
            assert plan.phase == target, (plan.phase, target)
            plans.append(plan)
        return plans

    def _large_plans(self) -> list[CasePlan]:
        """Cases opened evenly over six years; where each is today follows from its simulated history."""
        first_day = self.today - dt.timedelta(days=6 * 365)
        span = (self.today - first_day).days
        plans = []
        for _ in range(self.n_cases):
            couple = self.rng.random() < 0.75
            absent = (
                ""
                if couple
                else self.rng.choices(
                    (AbsentPartner.UNAVAILABLE, AbsentPartner.UNWILLING, AbsentPartner.NO_PARTNER), (4, 3, 3)
                )[0]
            )
            on_team = couple and self.rng.random() < 0.3
            fmt = INTENSIVE if on_team and self.rng.random() < 0.8 else STANDARD
            r = self.rng.random()
            close_after = (
                Phase.CONSULTATION
                if r < 0.10
                else Phase.INTAKE
                if r < 0.15
                else Phase.ASSESSMENT
                if r < 0.20
                else None
            )
            plan = self._new_plan(
                couple=couple,
                absent=absent,
                fmt=fmt,
                close_after=close_after,
                therapist=None if on_team else self.rng.randrange(len(self.therapists)),
                team=self.rng.randrange(len(self.teams)) if on_team else None,
            )
            plan.opened = first_day + dt.timedelta(days=self.rng.randrange(span + 1))
            walk(plan, self.today)
            # Fresh requests are often not assigned yet: the front desk's Today list shows them.
            if plan.phase == Phase.CONSULTATION and self.rng.random() < 0.4:
                plan.therapist = plan.team = None
            plans.append(plan)
        # Newest cases last, so that row ids grow with the opening day as they do in a real practice.
        plans.sort(key=lambda p: p.opened)
        # A small practice may leave the demo log-in with nobody in care: hand it a few current cases.
        active = [p for p in plans if p.phase in ACTIVE_PHASES and p.therapist is not None]
        mine = sum(1 for p in active if p.therapist == 0)
        for plan in reversed(active):
            if mine >= MIN_ACTIVE_FOR_DEMO_THERAPIST:
                break
            if plan.therapist != 0:
                plan.therapist, mine = 0, mine + 1
        return plans

    # --- rows -------------------------------------------------------------------------------------
    def _clients(self, plans: list[CasePlan]) -> list[Client]:
        rows: list[Client] = []
        for plan in plans:
            for person in (plan.partner_a, plan.partner_b):
                if person is None:
                    continue
                number = len(rows) + 1
                rows.append(
                    Client(
                        first_name=person.first,
                        last_name=person.last,
                        pronouns=PRONOUNS[person.sex],
                        date_of_birth=self.today - dt.timedelta(days=self.rng.randint(22 * 365, 70 * 365)),
                        email=(
                            f"{person.first}.{person.last}.{number}@{CLIENT_DOMAIN}".lower()
                            if self.rng.random() < 0.7
                            else ""
                        ),
                        phone=f"555-01{self.rng.randrange(100):02d}" if self.rng.random() < 0.6 else "",
                    )
                )
        return bulk(Client, rows)

    def _insert(self, plans: list[CasePlan]) -> list[Case]:
        clients = iter(self._clients(plans))
        partners: list[tuple[Client, Client | None]] = [
            (next(clients), next(clients) if plan.partner_b is not None else None) for plan in plans
        ]
        cases = []
        for index, (plan, (a, b)) in enumerate(zip(plans, partners, strict=True)):
            phase, entered = plan.steps[-1]
            cases.append(
                Case(
                    # Placeholder until the row id is known; the real reference is derived from it below.
                    reference=f"seed-{index}",
                    partner_a=a,
                    partner_b=b,
                    absent_partner=plan.absent,
                    phase=phase,
                    opened_on=plan.opened,
                    therapist=self.therapists[plan.therapist] if plan.therapist is not None else None,
                    team=self.teams[plan.team] if plan.team is not None else None,
                    presenting_notes="Synthetic demo record: no real person.",
                    closed_on=entered if phase in (Phase.DISCHARGED, Phase.CLOSED) else None,
                )
            )
        cases = bulk(Case, cases)
        for case in cases:
            case.reference = case_reference(case)
        Case.objects.bulk_update(cases, ["reference"], batch_size=BATCH)
        self._history(plans, cases)
        self._problems(plans, cases, partners)
        return cases

    def _history(self, plans: list[CasePlan], cases: list[Case]) -> None:
        rows: list[PhaseChange] = []
        for plan, case in zip(plans, cases, strict=True):
            clinicians = self._clinicians(plan)
            previous = ""
            for phase, entered in plan.steps:
                at = dt.datetime.combine(
                    entered,
                    dt.time(self.rng.randint(8, 17), self.rng.choice((0, 15, 30, 45))),
                    tzinfo=self.zone,
                )
                at = min(at, self.now - dt.timedelta(minutes=1))
                early = phase in (Phase.CONSULTATION, Phase.INTAKE) or not clinicians
                rows.append(
                    PhaseChange(
                        case=case,
                        from_phase=previous,
                        to_phase=phase,
                        at=at,
                        by_id=self.coordinator.pk if early else clinicians[0],
                        reason=REASONS[phase],
                    )
                )
                previous = phase
            if len(rows) >= BATCH * 5:
                bulk(PhaseChange, rows)
                rows = []
        bulk(PhaseChange, rows)

    def _problems(
        self, plans: list[CasePlan], cases: list[Case], partners: list[tuple[Client, Client | None]]
    ) -> None:
        problems = list(PresentingProblem.objects.order_by("sort_order").values_list("pk", "slug"))
        if not problems:
            return
        rows: list[CaseProblem] = []
        for plan, case, (a, b) in zip(plans, cases, partners, strict=True):
            if plan.phase == Phase.CONSULTATION and self.rng.random() < 0.5:
                continue  # not recorded yet: a therapist records problems after the consultation
            people = [(a, plan.partner_a.sex)] + ([(b, plan.partner_b.sex)] if b and plan.partner_b else [])
            seen: set[tuple[int, int | None]] = set()
            for pk, slug in self.rng.sample(problems, self.rng.randint(1, 3)):
                if slug in COUPLE_PROBLEMS and b is not None:
                    client: Client | None = None
                else:
                    fits = [
                        person
                        for person, sex in people
                        if not (slug in MALE_PROBLEMS and sex != "M")
                        and not (slug in FEMALE_PROBLEMS and sex != "F")
                    ]
                    if not fits:
                        continue
                    client = self.rng.choice(fits)
                key = (pk, client.pk if client else None)
                if key not in seen:
                    seen.add(key)
                    rows.append(CaseProblem(case=case, problem_id=pk, client=client))
        bulk(CaseProblem, rows)
