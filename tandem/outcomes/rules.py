"""The outcome methods, as pure functions (no queries): per partner, per couple, and small-cell suppression.

Methods (see the README's "Practice outcomes" section):

- Reliable change: Jacobson & Truax (1991), through `measures.engine.reliable_change`, with the
  instrument's published reliability and norm SD. Where the definition publishes a reliability but no
  norm SD (the CSI), Jacobson & Truax's own alternative is used: the SD of the pre-treatment scores,
  here the practice's baselines on that instrument (`baseline_sd`), once there are enough of them.
- Clinically significant change: the score moves from the clinical to the non-clinical side of the
  instrument's published cut-off, in the instrument's healthy direction (`higher_is`).
"""

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tandem.measures.engine import ReliableChange, reliable_change

RECOVERED = "recovered"
IMPROVED = "improved"
UNCHANGED = "unchanged"
DETERIORATED = "deteriorated"
NOT_MEASURED = "not_measured"
PARTNER_CATEGORIES = (RECOVERED, IMPROVED, UNCHANGED, DETERIORATED, NOT_MEASURED)
PARTNER_LABELS = {
    RECOVERED: "Recovered",
    IMPROVED: "Improved",
    UNCHANGED: "Unchanged",
    DETERIORATED: "Deteriorated",
    NOT_MEASURED: "Not measured",
}

BOTH = "both_improved"
ONE = "one_improved"
NEITHER = "neither"
COUPLE_DETERIORATED = "deteriorated"
COUPLE_NOT_MEASURED = "not_measured"
COUPLE_CATEGORIES = (BOTH, ONE, NEITHER, COUPLE_DETERIORATED, COUPLE_NOT_MEASURED)
COUPLE_LABELS = {
    BOTH: "Both improved",
    ONE: "One improved",
    NEITHER: "Neither changed",
    COUPLE_DETERIORATED: "Deteriorated",
    COUPLE_NOT_MEASURED: "Not measured",
}

# A practice-derived SD from fewer baselines than this is too unstable to judge reliable change with.
MIN_BASELINES_FOR_SD = 10
# Every figure drawn from fewer cases than this is shown as "<5".
SMALL_CELL = 5
SUPPRESSED = "<5"


@dataclass(frozen=True)
class PartnerOutcome:
    category: str
    baseline: Decimal | None = None
    end: Decimal | None = None
    index: float | None = None
    crossed_cutoff: bool = False


def has_reliability(definition: Mapping[str, Any]) -> bool:
    values = definition["scoring"].get("reliable_change") or {}
    return values.get("reliability") is not None


def needs_practice_sd(definition: Mapping[str, Any]) -> bool:
    values = definition["scoring"].get("reliable_change") or {}
    return has_reliability(definition) and values.get("norm_sd") is None


def baseline_sd(baselines: Sequence[Decimal]) -> float | None:
    """The pre-treatment SD (sample SD) of the practice's baselines, or None when there are too few."""
    if len(baselines) < MIN_BASELINES_FOR_SD:
        return None
    return statistics.stdev(float(value) for value in baselines)


def is_clinical(definition: Mapping[str, Any], total: Decimal) -> bool:
    """On the clinical side of the cut-off: at or above it when higher is worse, below it otherwise."""
    scoring = definition["scoring"]
    cutoff = Decimal(str(scoring["cutoff"]))
    return total >= cutoff if scoring.get("higher_is") == "worse" else total < cutoff


def _change(
    definition: Mapping[str, Any], before: Decimal, after: Decimal, sd: float | None
) -> ReliableChange | None:
    if needs_practice_sd(definition):
        if sd is None or sd <= 0:
            return None
        definition = {
            **definition,
            "scoring": {
                **definition["scoring"],
                "reliable_change": {**definition["scoring"]["reliable_change"], "norm_sd": sd},
            },
        }
    return reliable_change(definition, before, after)


def classify_partner(
    definition: Mapping[str, Any], baseline: Decimal | None, end: Decimal | None, *, sd: float | None = None
) -> PartnerOutcome:
    """One partner's category on one instrument, from the baseline and end-of-treatment totals.

    Recovered: reliable improvement and from the clinical to the non-clinical side of the cut-off.
    Improved: reliable improvement otherwise. Deteriorated: reliable change the wrong way. Unchanged: no
    reliable change. Not measured: a score is missing, or reliable change cannot be computed.
    """
    if baseline is None or end is None:
        return PartnerOutcome(NOT_MEASURED, baseline, end)
    change = _change(definition, baseline, end, sd)
    if change is None:
        return PartnerOutcome(NOT_MEASURED, baseline, end)
    crossed = is_clinical(definition, baseline) and not is_clinical(definition, end)
    if change.verdict == "improved":
        category = RECOVERED if crossed else IMPROVED
    elif change.verdict == "deteriorated":
        category = DETERIORATED
    else:
        category = UNCHANGED
    return PartnerOutcome(category, baseline, end, round(change.index, 2), crossed)


def classify_couple(categories: Sequence[str]) -> str:
    """The couple's category from both partners' categories.

    Not measured: either partner is not measured. Deteriorated: at least one partner reliably
    deteriorated (it outweighs the other partner's improvement). Both improved: both reliably improved
    (recovered counts as improved). One improved: exactly one did and the other is unchanged. Neither:
    both unchanged.
    """
    if len(categories) != 2 or NOT_MEASURED in categories:
        return COUPLE_NOT_MEASURED
    if DETERIORATED in categories:
        return COUPLE_DETERIORATED
    better = sum(1 for category in categories if category in (RECOVERED, IMPROVED))
    return {2: BOTH, 1: ONE}.get(better, NEITHER)


def shown(count: int) -> str:
    """A count as it may be shared: a figure from fewer than five cases (zero included) is "<5"."""
    return SUPPRESSED if count < SMALL_CELL else str(count)


def suppress_row(counts: Sequence[int], cases: Sequence[int] | None = None) -> list[str]:
    """A table row whose total is shown. `counts` are what the cells show, `cases` how many cases each
    is drawn from (the same as `counts` when a cell counts cases). A cell from fewer than five cases is
    "<5"; when exactly one is hidden, the smallest other cell is hidden too, so that the row's total
    cannot give the hidden one away."""
    cases = counts if cases is None else cases
    cells = [SUPPRESSED if n < SMALL_CELL else str(count) for count, n in zip(counts, cases, strict=True)]
    hidden = [i for i, cell in enumerate(cells) if cell == SUPPRESSED]
    if len(hidden) == 1 and sum(cases) >= SMALL_CELL:
        others = [i for i in range(len(counts)) if i not in hidden]
        if others:
            cells[min(others, key=lambda i: (counts[i], i))] = SUPPRESSED
    return cells


def median_or_none(values: Iterable[int]) -> float | None:
    values = list(values)
    return statistics.median(values) if values else None
