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
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from tandem.access.clinical import can_read_outcomes
from tandem.access.services import staff_cases_visible_to
from tandem.cases.models import Case, CaseProblem, Phase, PhaseChange
from tandem.lib.time import practice_zone
from tandem.measures.engine import load_definition
from tandem.measures.models import Instrument, Response
from tandem.outcomes import rules
from tandem.pathway.models import TreatmentFormat, TreatmentPlan

END_GRACE = dt.timedelta(days=14)
# Follow-up scores for retention, counted from the move to follow-up: the policy asks at 3 and 6 months;
# the windows leave room for a visit moved by a few weeks.
FOLLOW_UP_WINDOWS = {
    "3 months": (dt.timedelta(days=75), dt.timedelta(days=135)),
    "6 months": (dt.timedelta(days=150), dt.timedelta(days=240)),
}
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


_STAFF_FIELDS = (
    "team_id",
    "team__first__first_name",
    "team__first__last_name",
    "team__second__first_name",
    "team__second__last_name",
    "therapist_id",
    "therapist__first_name",
    "therapist__last_name",
)


def _staff(row: dict[str, Any]) -> tuple[str, str]:
    if row["team_id"] is not None:
        first = f"{row['team__first__first_name']} {row['team__first__last_name']}"
        second = f"{row['team__second__first_name']} {row['team__second__last_name']}"
        return f"team:{row['team_id']}", f"Team {first} & {second}"
    if row["therapist_id"] is not None:
        return (
            f"therapist:{row['therapist_id']}",
            f"{row['therapist__first_name']} {row['therapist__last_name']}",
        )
    return "none", "Not assigned"


def _facts_rows(cases: QuerySet[Case]) -> QuerySet[Case, dict[str, Any]]:
    """Plain values, not model instances: at tens of thousands of cases building objects is the cost."""
    latest_plan = TreatmentPlan.objects.filter(case=OuterRef("pk")).order_by("-version")
    reached_intake = PhaseChange.objects.filter(case=OuterRef("pk"), to_phase=Phase.INTAKE)
    return (
        cases.annotate(
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
        .values(
            "pk",
            "phase",
            "opened_on",
            "closed_on",
            "plan_format",
            "treatment_at",
            "ended_at",
            "partner_a_id",
            "partner_b_id",
            "partner_a__date_of_birth",
            "partner_b__date_of_birth",
            *_STAFF_FIELDS,
        )
    )


def case_facts(user: Any) -> list[CaseFacts]:
    """Every case that reached treatment or dropped out after intake, with what the page groups by."""
    return facts_of(outcome_cases(user))


def facts_of(cases: QuerySet[Case]) -> list[CaseFacts]:
    """case_facts for the given cases (the outcomes service's refresh of some cases, or all)."""
    rows = _facts_rows(cases)
    facts: dict[int, CaseFacts] = {}
    zone = practice_zone()
    for row in rows:
        staff_key, staff_label = _staff(row)
        couple = row["partner_b_id"] is not None
        facts[row["pk"]] = CaseFacts(
            case_id=row["pk"],
            is_couple=couple,
            format=row["plan_format"] or NO_PLAN,
            staff_key=staff_key,
            staff_label=staff_label,
            opened_on=row["opened_on"],
            treatment_on=row["treatment_at"].astimezone(zone).date() if row["treatment_at"] else None,
            ended_at=row["ended_at"],
            finished=row["phase"] in (Phase.FOLLOW_UP, Phase.DISCHARGED),
            dropout=row["phase"] == Phase.CLOSED,
            closed_on=row["closed_on"],
            partner_ids=[row["partner_a_id"], row["partner_b_id"]] if couple else [row["partner_a_id"]],
            birth_dates=[row["partner_a__date_of_birth"], row["partner_b__date_of_birth"]][
                : 2 if couple else 1
            ],
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


Score = tuple[dt.datetime | None, Decimal]  # the time is None when the caller asked for no dates
Scores = dict[tuple[int, int], tuple[Score | None, Score | None]]
_FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


def _score_columns(partner: str, instrument_id: int, columns: tuple[str, ...]) -> dict[str, Subquery]:
    """The partner's baseline and end-of-treatment response, each as id, total and time (index lookups
    on response_series_idx, so the database returns one row per case instead of every response)."""
    scored = Response.objects.filter(
        case=OuterRef("pk"), client=OuterRef(partner), instrument_id=instrument_id, total__isnull=False
    )
    first = scored.order_by("answered_at", "id")
    last = scored.filter(answered_at__lte=OuterRef("end_limit")).order_by("-answered_at", "-id")
    return {
        f"{partner}_{name}_{column}": Subquery(query.values(column)[:1])
        for name, query in (("base", first), ("end", last))
        for column in columns
    }


def scores_of(cases: QuerySet[Case], code: str, *, with_dates: bool = False) -> Scores:
    """(baseline, end) per (case, partner) of every finished case, by the rule in the module docstring."""
    instrument_id = Instrument.objects.filter(code=code).values_list("pk", flat=True).first()
    if instrument_id is None:
        return {}
    # The page needs no dates; leaving them out saves four subqueries a case.
    columns = ("id", "total", "answered_at") if with_dates else ("id", "total")
    limit = ExpressionWrapper(_first_change(Phase.FOLLOW_UP) + END_GRACE, output_field=DateTimeField())
    rows = (
        cases.filter(phase__in=(Phase.FOLLOW_UP, Phase.DISCHARGED))
        .annotate(end_limit=Coalesce(limit, Value(_FAR_FUTURE)))
        .annotate(
            **_score_columns("partner_a", instrument_id, columns),
            **_score_columns("partner_b", instrument_id, columns),
        )
        .values(
            "pk",
            "partner_a_id",
            "partner_b_id",
            *[f"{p}_{n}_{c}" for p in ("partner_a", "partner_b") for n in ("base", "end") for c in columns],
        )
    )
    scores: Scores = {}
    for row in rows:
        for partner in ("partner_a", "partner_b"):
            if row[f"{partner}_id"] is None or row[f"{partner}_base_id"] is None:
                continue
            baseline = (row.get(f"{partner}_base_answered_at"), row[f"{partner}_base_total"])
            # The latest score up to the limit may be the baseline itself: then there is no end score.
            same = row[f"{partner}_end_id"] in (None, row[f"{partner}_base_id"])
            end = None if same else (row.get(f"{partner}_end_answered_at"), row[f"{partner}_end_total"])
            scores[(row["pk"], row[f"{partner}_id"])] = (baseline, end)
    return scores


def partner_outcomes(
    user: Any, code: str, facts: list[CaseFacts], *, with_dates: bool = False
) -> tuple[list[PartnerRow], float | None]:
    """Each partner of each finished case, with their outcome on instrument CODE (never dropped: a
    partner without both scores is "not measured"), and the practice SD used when the instrument
    publishes no norm SD (None otherwise, or when there are too few baselines)."""
    definition = load_definition(code)
    scores = scores_of(outcome_cases(user), code, with_dates=with_dates)
    picked: list[tuple[CaseFacts, int, str, Score | None, Score | None]] = []
    for case in facts:
        if not case.finished:
            continue
        for role, client_id in zip("AB", case.partner_ids, strict=False):
            baseline, end = scores.get((case.case_id, client_id), (None, None))
            picked.append((case, client_id, role, baseline, end))
    sd = None
    if rules.needs_practice_sd(definition):
        # From every finished case's baselines, not just the filtered ones: a filter must not move the
        # line between "improved" and "unchanged".
        sd = rules.baseline_sd([baseline[1] for baseline, _end in scores.values() if baseline is not None])
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


def follow_up_scores(user: Any, code: str) -> dict[tuple[int, int], dict[str, Decimal]]:
    """Per (case, partner), the last scored response in each follow-up window (see FOLLOW_UP_WINDOWS)."""
    return follow_up_scores_of(outcome_cases(user), code)


def follow_up_scores_of(cases: QuerySet[Case], code: str) -> dict[tuple[int, int], dict[str, Decimal]]:
    earliest = min(start for start, _end in FOLLOW_UP_WINDOWS.values())
    ended = Subquery(
        PhaseChange.objects.filter(case=OuterRef("case_id"), to_phase=Phase.FOLLOW_UP)
        .order_by("at", "id")
        .values("at")[:1]
    )
    finished = cases.filter(phase__in=(Phase.FOLLOW_UP, Phase.DISCHARGED))
    rows = (
        Response.objects.filter(case__in=finished.values("pk"), instrument__code=code, total__isnull=False)
        .annotate(ended=ended)
        .filter(answered_at__gte=ExpressionWrapper(F("ended") + earliest, output_field=DateTimeField()))
        .order_by("answered_at", "id")
        .values_list("case_id", "client_id", "answered_at", "ended", "total")
    )
    found: dict[tuple[int, int], dict[str, Decimal]] = {}
    for case_id, client_id, answered_at, ended_at, total in rows:
        for label, (start, end) in FOLLOW_UP_WINDOWS.items():
            # total is never None here (filtered above); the check is for the type checker.
            if total is not None and ended_at + start <= answered_at <= ended_at + end:
                found.setdefault((case_id, client_id), {})[label] = total
    return found
