"""The director's tables from the precomputed registry (models.py): a few GROUP BY queries, whatever the
number of cases, then the suppression of report.py.

The database counts the cases of each group by the combination of the partners' categories and
follow-up verdicts (decided in the query from the stored change, see models.py), so only a few hundred
rows come back; Python adds those counts up into the same tables `live_tables` computes from the raw
scores (the tests compare the two). The median days to treatment are picked by a window query that
returns the middle one or two values of each group. The whole practice's counts are remembered in the
shared cache until the registry's writer changes its stamp (`_remembered`).
"""

import functools
import hashlib
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models import Case as SqlCase
from django.db.models.functions import RowNumber
from django.db.models.lookups import GreaterThan, IsNull, LessThan

from tandem.accounts.models import CoTherapyTeam, User
from tandem.cases.models import PresentingProblem
from tandem.measures.engine import RELIABLE_Z, load_definition
from tandem.outcomes import report, rules
from tandem.outcomes.models import OutcomeNorm, OutcomeProblem, OutcomeRow, OutcomeStamp
from tandem.outcomes.selectors import (
    FOLLOW_UP_WINDOWS,
    FORMAT_LABELS,
    case_facts,
    follow_up_scores,
    outcome_cases,
    partner_outcomes,
)

GAINED = (rules.RECOVERED, rules.IMPROVED)
WINDOWS = tuple(FOLLOW_UP_WINDOWS)
GROUP_FIELDS: dict[str, tuple[str, ...]] = {
    "format": ("format",),
    "period": ("period",),
    # Ids only (small keys hash fast); their labels come from two or three small queries.
    "staff": ("team_id", "therapist_id"),
    "problem": ("measure_problems__problem_id",),
}
PARTNER_STATE = ("cat", "f3", "f6")
# The query returns states as small integers: a category's place in PARTNER_CATEGORIES, and a follow-up
# verdict's place in FOLLOW_UP_VERDICTS (no score in the window, scored, reliable improvement held).
FOLLOW_UP_VERDICTS = ("n", "s", "h")
Key = tuple[str, str]
# Counts are keyed by the registry's stamp, so they never go stale; this only lets the cache drop old ones.
COUNTS_KEPT_SECONDS = 24 * 3600
# Rows of groups a page of the tables shows (a large practice grouped by staff has dozens); the CSV has all.
GROUPS_PER_PAGE = 20


def _labeller(by: str, rows: list[dict[str, Any]]) -> Callable[[dict[str, Any]], Key]:
    """How a row of the grouped queries names its group: (key, label) as report.group_keys does."""
    if by == "problem":
        problems = {
            pk: (slug, f"{code} {label}" if code else label)
            for pk, slug, code, label in PresentingProblem.objects.values_list(
                "pk", "slug", "icd10cm", "label"
            )
        }
        return lambda row: problems.get(row["measure_problems__problem_id"], ("", "No coded problem"))
    if by == "staff":
        return _staff_labeller(rows)
    if by == "period":
        return lambda row: (row["period"], row["period"])
    return lambda row: (row["format"], FORMAT_LABELS.get(row["format"], row["format"]))


def _staff_labeller(rows: list[dict[str, Any]]) -> Callable[[dict[str, Any]], Key]:
    teams = {
        pk: f"Team {first} {first_last} & {second} {second_last}"
        for pk, first, first_last, second, second_last in CoTherapyTeam.objects.filter(
            pk__in={row["team_id"] for row in rows}
        ).values_list(
            "pk", "first__first_name", "first__last_name", "second__first_name", "second__last_name"
        )
    }
    therapists = {
        pk: f"{first} {last}"
        for pk, first, last in User.objects.filter(pk__in={row["therapist_id"] for row in rows}).values_list(
            "pk", "first_name", "last_name"
        )
    }

    def staff(row: dict[str, Any]) -> Key:
        if row["team_id"] is not None:
            return f"team:{row['team_id']}", teams[row["team_id"]]
        if row["therapist_id"] is not None:
            return f"therapist:{row['therapist_id']}", therapists[row["therapist_id"]]
        return "none", "Not assigned"

    return staff


@dataclass(frozen=True)
class Shape:
    """What one finished case adds to a group's tally, from its partners' categories and follow-up verdicts
    alone. A large practice's staff table adds up hundreds of grouped rows that share a few dozen shapes,
    so each shape is worked out once (`_shape`) rather than for every row."""

    partners: int
    categories: tuple[str, ...]
    distinct: frozenset[str]
    couple: str | None
    gained: int
    # Per follow-up window: how many of the gained partners were scored there, and how many held.
    windows: tuple[tuple[str, int, int], ...]


@functools.cache
def _shape(is_couple: bool, *verdicts: Any) -> Shape:
    # verdicts: partner A's category, 3- and 6-month verdicts, then partner B's (None for one client).
    states = [
        (rules.PARTNER_CATEGORIES[cat], FOLLOW_UP_VERDICTS[f3], FOLLOW_UP_VERDICTS[f6])
        for cat, f3, f6 in (verdicts[:3], verdicts[3:])[: 2 if is_couple else 1]
    ]
    categories = tuple(state[0] for state in states)
    gained = [state for state in states if state[0] in GAINED]
    return Shape(
        partners=len(states),
        categories=categories,
        distinct=frozenset(categories),
        couple=rules.classify_couple(categories) if is_couple else None,
        gained=len(gained),
        windows=tuple(
            (
                window,
                sum(1 for state in gained if state[position] != "n"),
                sum(1 for state in gained if state[position] == "h"),
            )
            for position, window in enumerate(WINDOWS, start=1)
        ),
    )


@dataclass
class Tally:
    """One group's counts, added up from the grouped query's rows."""

    cases: int = 0
    finished: int = 0
    dropouts: int = 0
    partners: Counter[str] = field(default_factory=Counter)
    partner_cases: Counter[str] = field(default_factory=Counter)
    finished_partners: int = 0
    couples: Counter[str] = field(default_factory=Counter)
    couple_cases: int = 0
    gained: int = 0
    gained_cases: int = 0
    scored: Counter[str] = field(default_factory=Counter)
    scored_cases: Counter[str] = field(default_factory=Counter)
    held: Counter[str] = field(default_factory=Counter)
    held_cases: Counter[str] = field(default_factory=Counter)
    median: float | None = None
    waits: int = 0

    def add(self, row: dict[str, Any], n: int) -> None:
        self.cases += n
        self.dropouts += n if row["dropout"] else 0
        if not row["finished"]:
            return
        self.finished += n
        shape = _shape(
            row["is_couple"], row["a_cat"], row["a_f3"], row["a_f6"], row["b_cat"], row["b_f3"], row["b_f6"]
        )
        self.finished_partners += n * shape.partners
        for category in shape.categories:
            self.partners[category] += n
        for category in shape.distinct:
            self.partner_cases[category] += n
        if shape.couple is not None:
            self.couples[shape.couple] += n
            self.couple_cases += n
        self.gained += n * shape.gained
        self.gained_cases += n if shape.gained else 0
        for window, scored, held in shape.windows:
            self.scored[window] += n * scored
            self.scored_cases[window] += n if scored else 0
            self.held[window] += n * held
            self.held_cases[window] += n if held else 0

    def merge(self, other: "Tally") -> None:
        for name, value in vars(other).items():
            if isinstance(value, Counter):
                getattr(self, name).update(value)
            elif name not in ("median", "waits"):
                setattr(self, name, getattr(self, name) + value)


def _denominator(definition: dict[str, Any], sd: float | None) -> float | None:
    """The reliable change index's divisor, computed exactly as measures.engine.reliable_change does."""
    values = definition["scoring"].get("reliable_change") or {}
    reliability, norm_sd = values.get("reliability"), values.get("norm_sd")
    if rules.needs_practice_sd(definition):
        norm_sd = sd if sd is not None and sd > 0 else None
    if reliability is None or norm_sd is None:
        return None
    standard_error = float(norm_sd) * (1 - float(reliability)) ** 0.5
    return (2 * standard_error**2) ** 0.5


def _reliably(column: str, divisor: float, *, up: bool) -> Any:
    """The stored change in COLUMN divided as the engine divides it, beyond RELIABLE_Z one way."""
    index = ExpressionWrapper(F(column) / Value(divisor), output_field=FloatField())
    return GreaterThan(index, RELIABLE_Z) if up else LessThan(index, -RELIABLE_Z)


def _code(value: str) -> Value:
    codes = FOLLOW_UP_VERDICTS if value in FOLLOW_UP_VERDICTS else rules.PARTNER_CATEGORIES
    return Value(codes.index(value), output_field=IntegerField())


def _state_annotations(definition: dict[str, Any], divisor: float | None) -> dict[str, Any]:
    """Each partner's category ("cat") and follow-up verdicts ("f3", "f6"), by rules.classify_partner's
    rules, as codes (see FOLLOW_UP_VERDICTS)."""
    if divisor is None:
        return {
            f"{p}_{part}": _code(rules.NOT_MEASURED if part == "cat" else "n")
            for p in "ab"
            for part in PARTNER_STATE
        }
    up = definition["scoring"].get("higher_is") == "better"
    states: dict[str, Any] = {}
    for p in "ab":
        change = f"{p}_change"
        states[f"{p}_cat"] = SqlCase(
            When(IsNull(F(change), True), then=_code(rules.NOT_MEASURED)),
            When(
                _reliably(change, divisor, up=up),
                then=SqlCase(
                    When(**{f"{p}_crossed": True}, then=_code(rules.RECOVERED)), default=_code(rules.IMPROVED)
                ),
            ),
            When(_reliably(change, divisor, up=not up), then=_code(rules.DETERIORATED)),
            default=_code(rules.UNCHANGED),
        )
        for window in (3, 6):
            follow_up = f"{p}_follow_up_{window}"
            states[f"{p}_f{window}"] = SqlCase(
                When(IsNull(F(follow_up), True), then=_code("n")),
                When(_reliably(follow_up, divisor, up=up), then=_code("h")),
                default=_code("s"),
            )
    return states


def _rows(cases: QuerySet[Any], filters: report.Filters) -> QuerySet[OutcomeRow]:
    """The registry rows of CASES (what the permission layer lets the user see), under the page's
    filters."""
    rows = OutcomeRow.objects.filter(instrument=filters.instrument)
    if filters.by == "problem":
        # The measure in the join's condition, so that only this measure's problems are read.
        rows = rows.annotate(
            measure_problems=FilteredRelation(
                "problems", condition=Q(problems__instrument=filters.instrument)
            )
        )
    if cases.query.where:
        # Unless the permission layer lets USER see every case (the director does), only theirs.
        rows = rows.filter(case__in=cases)
    if filters.format:
        rows = rows.filter(format=filters.format)
    if filters.period:
        rows = rows.filter(period=filters.period)
    if filters.problem:
        coded = OutcomeProblem.objects.filter(row=OuterRef("pk"), problem__slug=filters.problem)
        rows = rows.filter(Exists(coded))
    return rows


def _tallies(
    rows: QuerySet[OutcomeRow], states: dict[str, Any], fields: tuple[str, ...]
) -> list[dict[str, Any]]:
    """One row per group and combination of the partners' states, with how many cases share it."""
    combination = ("finished", "dropout", "is_couple", *states)
    return list(rows.annotate(**states).values(*fields, *combination).annotate(n=Count("pk")).order_by())


class _MiddleDays(Aggregate):
    """PostgreSQL's percentile_disc(0.5): the lower middle value, or the upper one in descending order
    (the same value when the count is odd); their mean is statistics.median's."""

    function = "percentile_disc"
    output_field = IntegerField()

    def __init__(self, expression: Any, *, descending: bool) -> None:
        self.template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s" + (
            " DESC)" if descending else ")"
        )
        super().__init__(expression)


def _medians(rows: QuerySet[OutcomeRow], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """The middle one (odd count) or two (even count) days to treatment of each group's finished cases."""
    waited = rows.filter(finished=True, days_to_treatment__isnull=False)
    if connection.vendor == "postgresql":
        aggregates = {
            "low": _MiddleDays(F("days_to_treatment"), descending=False),
            "high": _MiddleDays(F("days_to_treatment"), descending=True),
            "waits": Count("pk"),
        }
        # Without grouping fields values() would group by every column: the total row is one aggregate.
        found = (
            list(waited.values(*fields).annotate(**aggregates).order_by())
            if fields
            else [waited.aggregate(**aggregates)]
        )
        return [
            {**row, "days_to_treatment": row[end]} for row in found if row["waits"] for end in ("low", "high")
        ]
    # Elsewhere (SQLite) the same values by their place in each group.
    parts = [F(name) for name in fields] or None
    placed = waited.annotate(
        place=Window(RowNumber(), partition_by=parts, order_by=[F("days_to_treatment").asc(), F("pk").asc()]),
        waits=Window(Count("pk"), partition_by=parts),
    )
    middle = placed.filter(Q(place=(F("waits") + 1) / 2) | Q(place=F("waits") / 2 + 1))
    return list(middle.values(*fields, "days_to_treatment", "waits"))


def _grouped(
    combos: Iterable[dict[str, Any]],
    middles: Iterable[dict[str, Any]],
    key: Callable[[dict[str, Any]], tuple[str, str]],
) -> dict[tuple[str, str], Tally]:
    # defaultdict, not setdefault(key, Tally()): that built a Tally and its eight Counters for every row
    # of the grouped query (hundreds on a large practice's staff table) only to throw most away.
    tallies: dict[tuple[str, str], Tally] = defaultdict(Tally)
    for row in combos:
        tallies[key(row)].add(row, row["n"])
    picked: dict[tuple[str, str], list[int]] = {}
    for row in middles:
        picked.setdefault(key(row), []).append(row["days_to_treatment"])
        tallies[key(row)].waits = row["waits"]
    for group, values in picked.items():
        tallies[group].median = statistics.median(values)
    return dict(tallies)


@dataclass(frozen=True)
class Counts:
    """What the database counted for one view: plain values, so that they can be remembered."""

    combos: list[dict[str, Any]]
    middles: list[dict[str, Any]]
    # The total row's, when it is not the sum of the groups' (by problem, a case is in several groups).
    total_combos: list[dict[str, Any]] | None
    total_middles: list[dict[str, Any]]


def _count(rows: QuerySet[OutcomeRow], states: dict[str, Any], by: str) -> Counts:
    fields = GROUP_FIELDS[by]
    return Counts(
        combos=_tallies(rows, states, fields),
        middles=_medians(rows, fields),
        total_combos=_tallies(rows, states, ()) if by == "problem" else None,
        total_middles=_medians(rows, ()),
    )


def _remembered(*, shared: bool, by: str, rows: QuerySet[OutcomeRow], count: Callable[[], Counts]) -> Counts:
    """The counts from the shared cache when the registry has not changed since they were counted.

    Counting reads every row of the registry, so it costs what the practice's size costs (65 ms at 20,000
    cases); the registry changes a few times an hour, and the director opens the page and its groupings
    far more often. The key holds the registry's stamp (renewed by its one writer in each change), the
    grouping and the SQL of the rows counted, which carries the measure, filters and thresholds. Only the
    whole practice's counts are SHARED: a user whom the permission layer limits is counted each time."""
    if not shared:
        return count()
    stamp = OutcomeStamp.objects.values_list("value", flat=True).first()
    if stamp is None:
        return count()
    key = "outcomes-counts:" + hashlib.sha256(f"{stamp}\n{by}\n{rows.query}".encode()).hexdigest()
    found = cache.get(key)
    if not isinstance(found, Counts):
        found = count()
        cache.set(key, found, COUNTS_KEPT_SECONDS)
    return found


def practice_tables(user: Any, filters: report.Filters) -> tuple[list[report.Table], float | None]:
    """The four tables with every group (the CSV's) and the practice SD used (None when the measure
    publishes a norm SD)."""
    ordered, everything, sd = _practice_groups(user, filters)
    return _tables(ordered, everything), sd


def practice_tables_page(
    user: Any, filters: report.Filters, *, page: Any
) -> tuple[list[report.Table], float | None, Page]:
    """The page's four tables: the groups of PAGE (GROUPS_PER_PAGE of them, in label order, the same
    ones in every table) and the row of all cases. Grouped by staff, a practice has a row per therapist
    and team, so printing every row made the page as slow as the practice is large."""
    ordered, everything, sd = _practice_groups(user, filters)
    shown = Paginator(ordered, GROUPS_PER_PAGE).get_page(page)
    return _tables(list(shown), everything), sd, shown


def _practice_groups(
    user: Any, filters: report.Filters
) -> tuple[list[tuple[Key, Tally]], Tally, float | None]:
    """Each group's tally in label order, the tally of all cases, and the practice SD used."""
    definition = load_definition(filters.instrument)
    sd = None
    if rules.needs_practice_sd(definition):
        sd = OutcomeNorm.objects.filter(instrument=filters.instrument).values_list("sd", flat=True).first()
    states = _state_annotations(definition, _denominator(definition, sd))
    cases = outcome_cases(user)
    rows = _rows(cases, filters)
    counts = _remembered(
        # Unless the permission layer narrows what USER sees (the director sees every case).
        shared=not cases.query.where,
        by=filters.by,
        rows=rows.annotate(**states),
        count=lambda: _count(rows, states, filters.by),
    )
    groups = _grouped(counts.combos, counts.middles, _labeller(filters.by, counts.combos + counts.middles))
    everything = Tally()
    if counts.total_combos is not None:
        everything = _grouped(counts.total_combos, [], _total).get(_total({}), Tally())
    else:
        for tally in groups.values():
            everything.merge(tally)
    for middle in _grouped([], counts.total_middles, _total).values():
        everything.median, everything.waits = middle.median, middle.waits
    ordered = sorted(groups.items(), key=lambda entry: entry[0][1])
    return ordered, everything, sd


def _total(row: dict[str, Any]) -> Key:
    return "", report.ALL


def _category_row(
    label: str, counts: list[int], cases: list[int], items: int, all_cases: int
) -> report.TableRow:
    total = str(items) if all_cases >= rules.SMALL_CELL else rules.SUPPRESSED
    return report.TableRow(label, rules.suppress_row(counts, cases), total)


def _partner_row(label: str, t: Tally) -> report.TableRow:
    categories = rules.PARTNER_CATEGORIES
    counts, cases = [t.partners[c] for c in categories], [t.partner_cases[c] for c in categories]
    return _category_row(label, counts, cases, t.finished_partners, t.finished)


def _couple_row(label: str, t: Tally) -> report.TableRow:
    counts = [t.couples[c] for c in rules.COUPLE_CATEGORIES]
    return _category_row(label, counts, counts, t.couple_cases, t.couple_cases)


def _retention_row(label: str, t: Tally) -> report.TableRow:
    cells = []
    for window in WINDOWS:
        for count, cases in (
            (t.scored[window], t.scored_cases[window]),
            (t.held[window], t.held_cases[window]),
        ):
            cells.append(str(count) if cases >= rules.SMALL_CELL else rules.SUPPRESSED)
    total = str(t.gained) if t.gained_cases >= rules.SMALL_CELL else rules.SUPPRESSED
    return report.TableRow(label, cells, total)


def _flow_row(label: str, t: Tally) -> report.TableRow:
    cells = rules.suppress_row([t.finished, t.dropouts])
    rate = rules.SUPPRESSED
    if t.dropouts >= rules.SMALL_CELL and t.finished >= rules.SMALL_CELL:
        rate = f"{100 * t.dropouts / (t.dropouts + t.finished):.0f}%"
    wait = rules.SUPPRESSED
    if t.median is not None and t.waits >= rules.SMALL_CELL:
        wait = f"{t.median:.0f}"
    return report.TableRow(label, [*cells, rate, wait], rules.shown(t.cases))


def _tables(groups: list[tuple[tuple[str, str], Tally]], everything: Tally) -> list[report.Table]:
    """The tables report.py builds, with the same titles, columns and rows (a group appears in a table
    when it holds at least one of what that table counts)."""

    def body(
        row: Callable[[str, Tally], report.TableRow], holds: Callable[[Tally], int]
    ) -> list[report.TableRow]:
        return [row(label, t) for (_key, label), t in groups if holds(t)] + [row(report.ALL, everything)]

    return [
        report.Table(
            "Partners by outcome",
            [rules.PARTNER_LABELS[c] for c in rules.PARTNER_CATEGORIES],
            body(_partner_row, lambda t: t.finished),
        ),
        report.Table(
            "Couples by outcome",
            [rules.COUPLE_LABELS[c] for c in rules.COUPLE_CATEGORIES],
            body(_couple_row, lambda t: t.couple_cases),
        ),
        report.Table(
            "Gains kept at follow-up",
            [f"{what} at {window}" for window in WINDOWS for what in ("Scored", "Gains kept")],
            body(_retention_row, lambda t: t.gained),
            total_label="Improved by the end of treatment",
        ),
        report.Table(
            "Drop-outs and time to treatment",
            ["Finished treatment", "Dropped out", "Drop-out rate", "Median days, first contact to treatment"],
            body(_flow_row, lambda t: t.cases),
        ),
    ]


def live_tables(user: Any, filters: report.Filters) -> tuple[list[report.Table], float | None]:
    """The same tables computed from the raw scores on every request (the reference the registry must
    equal; the research export still reads this way)."""
    facts = [case for case in case_facts(user) if report.matches(case, filters)]
    rows, sd = partner_outcomes(user, filters.instrument, facts)
    follow_ups = follow_up_scores(user, filters.instrument)
    definition = load_definition(filters.instrument)
    tables = [
        report.partner_table(rows, filters.by),
        report.couple_table(rows, filters.by),
        report.retention_table(rows, follow_ups, definition, sd, filters.by),
        report.flow_table(facts, filters.by),
    ]
    return tables, sd
