"""The director's tables, built from the selectors' rows (pure: no queries), with small cells suppressed.

A case with several presenting problems counts once under each of them, so the problem rows may add up
to more than the total; every other grouping puts each case in one row.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from tandem.outcomes import rules
from tandem.outcomes.selectors import FOLLOW_UP_WINDOWS, FORMAT_LABELS, CaseFacts, PartnerRow

DIMENSIONS = {
    "format": "Format",
    "problem": "Presenting problem",
    "staff": "Team or therapist",
    "period": "Year treatment ended",
}
ALL = "All cases"
T = TypeVar("T")


@dataclass(frozen=True)
class Filters:
    instrument: str
    by: str = "format"
    format: str = ""
    problem: str = ""
    period: str = ""


@dataclass(frozen=True)
class TableRow:
    label: str
    cells: list[str]
    total: str


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[str]
    rows: list[TableRow]
    total_label: str = "Total"


def group_keys(case: CaseFacts, by: str) -> list[tuple[str, str]]:
    """The (key, label) rows one case belongs to under a grouping."""
    if by == "problem":
        return [(slug, label) for slug, label in case.problems] or [("", "No coded problem")]
    if by == "staff":
        return [(case.staff_key, case.staff_label)]
    if by == "period":
        return [(case.period, case.period)]
    return [(case.format, FORMAT_LABELS.get(case.format, case.format))]


def matches(case: CaseFacts, filters: Filters) -> bool:
    return (
        (not filters.format or case.format == filters.format)
        and (not filters.problem or filters.problem in {slug for slug, _label in case.problems})
        and (not filters.period or case.period == filters.period)
    )


def _grouped(
    items: Iterable[T], case_of: Callable[[T], CaseFacts], by: str
) -> dict[tuple[str, str], list[T]]:
    groups: dict[tuple[str, str], list[T]] = defaultdict(list)
    for item in items:
        for key in group_keys(case_of(item), by):
            groups[key].append(item)
    return dict(sorted(groups.items(), key=lambda entry: entry[0][1]))


def _category_row(label: str, items: list[tuple[int, str]], categories: tuple[str, ...]) -> TableRow:
    """items: (case id, category). Cells show how many items fall in each category, suppressed by the
    number of distinct cases behind each figure."""
    counts = [sum(1 for _case, c in items if c == category) for category in categories]
    cases = [len({case for case, c in items if c == category}) for category in categories]
    all_cases = len({case for case, _c in items})
    total = str(len(items)) if all_cases >= rules.SMALL_CELL else rules.SUPPRESSED
    return TableRow(label, rules.suppress_row(counts, cases), total)


def partner_table(rows: list[PartnerRow], by: str) -> Table:
    categories = rules.PARTNER_CATEGORIES
    items = [(row.case.case_id, row.outcome.category) for row in rows]
    body = [
        _category_row(label, [(r.case.case_id, r.outcome.category) for r in group], categories)
        for (_key, label), group in _grouped(rows, lambda r: r.case, by).items()
    ]
    return Table(
        "Partners by outcome",
        [rules.PARTNER_LABELS[c] for c in categories],
        [*body, _category_row(ALL, items, categories)],
    )


def couple_categories(rows: list[PartnerRow]) -> dict[int, tuple[CaseFacts, str]]:
    """Each couple case's category, from its partners' rows (individual cases have none)."""
    by_case: dict[int, list[PartnerRow]] = defaultdict(list)
    for row in rows:
        if row.case.is_couple:
            by_case[row.case.case_id].append(row)
    return {
        case_id: (partners[0].case, rules.classify_couple([p.outcome.category for p in partners]))
        for case_id, partners in by_case.items()
    }


def couple_table(rows: list[PartnerRow], by: str) -> Table:
    categories = rules.COUPLE_CATEGORIES
    couples = list(couple_categories(rows).values())
    body = [
        _category_row(label, [(case.case_id, category) for case, category in group], categories)
        for (_key, label), group in _grouped(couples, lambda pair: pair[0], by).items()
    ]
    everything = [(case.case_id, category) for case, category in couples]
    return Table(
        "Couples by outcome",
        [rules.COUPLE_LABELS[c] for c in categories],
        [*body, _category_row(ALL, everything, categories)],
    )


def _flow_row(label: str, cases: list[CaseFacts]) -> TableRow:
    finished = [c for c in cases if c.finished]
    dropouts = [c for c in cases if c.dropout]
    cells = rules.suppress_row([len(finished), len(dropouts)])
    rate = "<5"
    if len(dropouts) >= rules.SMALL_CELL and len(finished) >= rules.SMALL_CELL:
        rate = f"{100 * len(dropouts) / (len(dropouts) + len(finished)):.0f}%"
    waits = [d for d in (c.days_to_treatment for c in finished) if d is not None]
    median = rules.median_or_none(waits)
    wait = f"{median:.0f}" if median is not None and len(waits) >= rules.SMALL_CELL else rules.SUPPRESSED
    return TableRow(label, [*cells, rate, wait], rules.shown(len(cases)))


def flow_table(facts: list[CaseFacts], by: str) -> Table:
    """Finished treatment, dropped out (intake started, closed without treatment), and the median days
    from first contact (the case opened) to the start of treatment."""
    body = [_flow_row(label, group) for (_key, label), group in _grouped(facts, lambda c: c, by).items()]
    return Table(
        "Drop-outs and time to treatment",
        ["Finished treatment", "Dropped out", "Drop-out rate", "Median days, first contact to treatment"],
        [*body, _flow_row(ALL, facts)],
    )


FollowUps = dict[tuple[int, int], dict[str, Decimal]]


def _kept(
    row: PartnerRow, label: str, follow_ups: FollowUps, definition: Any, sd: float | None
) -> bool | None:
    """None when there is no score in that window; else whether the reliable improvement still holds."""
    score = follow_ups.get((row.case.case_id, row.client_id), {}).get(label)
    if score is None:
        return None
    later = rules.classify_partner(definition, row.outcome.baseline, score, sd=sd)
    return later.category in (rules.RECOVERED, rules.IMPROVED)


def _retention_row(
    label: str, rows: list[PartnerRow], follow_ups: FollowUps, definition: Any, sd: float | None
) -> TableRow:
    cells = []
    for window in FOLLOW_UP_WINDOWS:
        kept = [(row, _kept(row, window, follow_ups, definition, sd)) for row in rows]
        scored = [row for row, verdict in kept if verdict is not None]
        held = [row for row, verdict in kept if verdict]
        for group in (scored, held):
            cases = len({row.case.case_id for row in group})
            cells.append(str(len(group)) if cases >= rules.SMALL_CELL else rules.SUPPRESSED)
    cases = len({row.case.case_id for row in rows})
    return TableRow(label, cells, str(len(rows)) if cases >= rules.SMALL_CELL else rules.SUPPRESSED)


def retention_table(
    rows: list[PartnerRow], follow_ups: FollowUps, definition: Any, sd: float | None, by: str
) -> Table:
    """Partners who improved (or recovered) by the end of treatment: how many were scored at the 3- and
    6-month follow-ups, and how many still showed reliable improvement from their baseline then."""
    gained = [row for row in rows if row.outcome.category in (rules.RECOVERED, rules.IMPROVED)]
    body = [
        _retention_row(label, group, follow_ups, definition, sd)
        for (_key, label), group in _grouped(gained, lambda r: r.case, by).items()
    ]
    columns = [f"{what} at {window}" for window in FOLLOW_UP_WINDOWS for what in ("Scored", "Gains kept")]
    return Table(
        "Gains kept at follow-up",
        columns,
        [*body, _retention_row(ALL, gained, follow_ups, definition, sd)],
        total_label="Improved by the end of treatment",
    )


def chart_bars(table: Table) -> list[tuple[str, int | None]]:
    """The "All cases" row as bars; a suppressed figure has no bar (None)."""
    total_row = table.rows[-1]
    return [
        (label, None if cell == rules.SUPPRESSED else int(cell))
        for label, cell in zip(table.columns, total_row.cells, strict=True)
    ]
