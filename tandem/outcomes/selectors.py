"""Reading the practice's outcomes: the facts of each case, and each partner's outcome on one instrument.

Everything starts from `outcome_cases(user)`, which asks the permission layer: only the clinical
director reads practice outcomes, and only through the cases the layer lets them see. A fixed number of
queries whatever the number of cases (the page's tests count them).

The rule for the two scores (see the README): the baseline is the partner's first scored response on
the instrument in the case; the end-of-treatment score is the last scored response after it and no later
than END_GRACE after the case moved from treatment to follow-up (the end-of-treatment questionnaires
are often filled in during the days after that move). Follow-up scores are not end scores.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from tandem.access.services import staff_cases_visible_to
from tandem.cases.models import Case, CaseProblem, Phase, PhaseChange
from tandem.lib.time import practice_zone
from tandem.measures.engine import load_definition
from tandem.measures.models import Response
from tandem.outcomes import rules
from tandem.pathway.models import TreatmentFormat, TreatmentPlan

END_GRACE = dt.timedelta(days=14)
NO_PLAN = "not_recorded"
FORMAT_LABELS = {
    TreatmentFormat.INTENSIVE: "Intensive",
    TreatmentFormat.STANDARD: "Standard",
    TreatmentFormat.INDIVIDUAL: "Individual (partner absent)",
    NO_PLAN: "No treatment plan",
}
# The instruments an outcome can be judged on: those whose definition publishes a reliability.
OUTCOME_INSTRUMENTS = ("CSI16", "CSI4", "PHQ9", "GAD7")
DEFAULT_INSTRUMENT = "CSI16"


def can_read_outcomes(user: Any) -> bool:
    """Practice-wide clinical figures: the clinical director alone."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_director", False))


def outcome_cases(user: Any) -> QuerySet[Case]:
    if not can_read_outcomes(user):
        return Case.objects.none()
    return staff_cases_visible_to(user)


@dataclass
class CaseFacts:
    case_id: int
    is_couple: bool
    format: str
    staff_key: str
    staff_label: str
    opened_on: dt.date
    treatment_on: dt.date | None
    ended_at: dt.datetime | None
    finished: bool
    dropout: bool
    closed_on: dt.date | None
    partner_ids: list[int]
    birth_dates: list[dt.date | None]
    # (slug, "code label") for the page; the code alone (or the slug where none exists) for exports.
    problems: list[tuple[str, str]] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)

    @property
    def period(self) -> str:
        """The year treatment ended (or, for a drop-out, the year the case was closed)."""
        if self.ended_at is not None:
            return str(self.ended_at.astimezone(practice_zone()).year)
        if self.dropout and self.closed_on is not None:
            return str(self.closed_on.year)
        return "unknown"

    @property
    def days_to_treatment(self) -> int | None:
        return None if self.treatment_on is None else (self.treatment_on - self.opened_on).days


def _first_change(phase: str) -> Subquery:
    return Subquery(
        PhaseChange.objects.filter(case=OuterRef("pk"), to_phase=phase).order_by("at", "id").values("at")[:1]
    )


def _staff(row: Case) -> tuple[str, str]:
    if row.team is not None:
        names = " & ".join(u.get_full_name() or u.get_username() for u in (row.team.first, row.team.second))
        return f"team:{row.team_id}", f"Team {names}"
    if row.therapist is not None:
        return f"therapist:{row.therapist_id}", row.therapist.get_full_name() or row.therapist.get_username()
    return "none", "Not assigned"


def case_facts(user: Any) -> list[CaseFacts]:
    """Every case that reached treatment or dropped out after intake, with what the page groups by."""
    latest_plan = TreatmentPlan.objects.filter(case=OuterRef("pk")).order_by("-version")
    reached_intake = PhaseChange.objects.filter(case=OuterRef("pk"), to_phase=Phase.INTAKE)
    rows = (
        outcome_cases(user)
        .select_related("partner_a", "partner_b", "therapist", "team__first", "team__second")
        .annotate(
            plan_format=Subquery(latest_plan.values("format")[:1]),
            treatment_at=_first_change(Phase.TREATMENT),
            ended_at=_first_change(Phase.FOLLOW_UP),
            reached_intake=Exists(reached_intake),
        )
        .filter(
            Q(phase__in=(Phase.TREATMENT, Phase.FOLLOW_UP, Phase.DISCHARGED))
            | Q(phase=Phase.CLOSED, reached_intake=True)
        )
        .order_by("pk")
    )
    facts: dict[int, CaseFacts] = {}
    zone = practice_zone()
    for row in rows:
        staff_key, staff_label = _staff(row)
        partners = row.partners
        facts[row.pk] = CaseFacts(
            case_id=row.pk,
            is_couple=row.is_couple,
            format=row.plan_format or NO_PLAN,
            staff_key=staff_key,
            staff_label=staff_label,
            opened_on=row.opened_on,
            treatment_on=row.treatment_at.astimezone(zone).date() if row.treatment_at else None,
            ended_at=row.ended_at,
            finished=row.phase in (Phase.FOLLOW_UP, Phase.DISCHARGED),
            dropout=row.phase == Phase.CLOSED,
            closed_on=row.closed_on,
            partner_ids=[p.pk for p in partners],
            birth_dates=[p.date_of_birth for p in partners],
        )
    problems = (
        CaseProblem.objects.filter(case__in=rows.values("pk"))
        .values_list("case_id", "problem__slug", "problem__icd10cm", "problem__label")
        .order_by("case_id", "problem__sort_order", "problem__slug")
        .distinct()
    )
    for case_id, slug, code, label in problems:
        entry = (slug, f"{code} {label}" if code else label)
        if entry not in facts[case_id].problems:
            facts[case_id].problems.append(entry)
            facts[case_id].codes.append(code or slug)
    return list(facts.values())


@dataclass(frozen=True)
class PartnerRow:
    case: CaseFacts
    client_id: int
    role: str  # "A" or "B": which partner of the case, never who
    outcome: rules.PartnerOutcome
    baseline_at: dt.datetime | None
    end_at: dt.datetime | None


Series = dict[tuple[int, int], list[tuple[dt.datetime, Decimal]]]


def _series(user: Any, code: str) -> Series:
    finished = outcome_cases(user).filter(phase__in=(Phase.FOLLOW_UP, Phase.DISCHARGED))
    rows = (
        Response.objects.filter(case__in=finished.values("pk"), instrument__code=code, total__isnull=False)
        .order_by("case_id", "client_id", "answered_at", "id")
        .values_list("case_id", "client_id", "answered_at", "total")
    )
    series: Series = defaultdict(list)
    for case_id, client_id, answered_at, total in rows:
        series[(case_id, client_id)].append((answered_at, total))
    return series


def pick_scores(
    points: list[tuple[dt.datetime, Decimal]], ended_at: dt.datetime | None
) -> tuple[tuple[dt.datetime, Decimal] | None, tuple[dt.datetime, Decimal] | None]:
    """(baseline, end) from one partner's time-ordered scores, by the rule in this module's docstring."""
    if not points:
        return None, None
    baseline = points[0]
    limit = None if ended_at is None else ended_at + END_GRACE
    later = [p for p in points[1:] if limit is None or p[0] <= limit]
    return baseline, (later[-1] if later else None)


def partner_outcomes(user: Any, code: str, facts: list[CaseFacts]) -> tuple[list[PartnerRow], float | None]:
    """Each partner of each finished case, with their outcome on instrument CODE (never dropped: a
    partner without both scores is "not measured"), and the practice SD used when the instrument
    publishes no norm SD (None otherwise, or when there are too few baselines)."""
    definition = load_definition(code)
    series = _series(user, code)
    picked: list[tuple[CaseFacts, int, str, Any, Any]] = []
    for case in facts:
        if not case.finished:
            continue
        for role, client_id in zip("AB", case.partner_ids, strict=False):
            baseline, end = pick_scores(series.get((case.case_id, client_id), []), case.ended_at)
            picked.append((case, client_id, role, baseline, end))
    sd = None
    if rules.needs_practice_sd(definition):
        # From every finished case's baselines, not just the filtered ones: a filter must not move the
        # line between "improved" and "unchanged".
        sd = rules.baseline_sd([points[0][1] for points in series.values()])
    rows = [
        PartnerRow(
            case=case,
            client_id=client_id,
            role=role,
            outcome=rules.classify_partner(definition, baseline and baseline[1], end and end[1], sd=sd),
            baseline_at=baseline and baseline[0],
            end_at=end and end[0],
        )
        for case, client_id, role, baseline, end in picked
    ]
    return rows, sd
