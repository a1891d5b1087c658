"""Outcome methods on worked examples computed by hand (see the arithmetic in each comment).

Jacobson & Truax (1991): SE = SD * sqrt(1 - r); S_diff = sqrt(2) * SE; RCI = (end - baseline) / S_diff;
reliable when |RCI| > 1.96. Clinically significant: baseline on the clinical side of the cut-off and end
on the other side, in the instrument's healthy direction.
"""

from decimal import Decimal

import pytest

from tandem.measures.engine import load_definition
from tandem.outcomes import rules
from tandem.outcomes.rules import (
    DETERIORATED,
    IMPROVED,
    NOT_MEASURED,
    RECOVERED,
    UNCHANGED,
    classify_couple,
    classify_partner,
)


def outcome(code: str, baseline: int, end: int, sd: float | None = None) -> rules.PartnerOutcome:
    return classify_partner(load_definition(code), Decimal(baseline), Decimal(end), sd=sd)


# PHQ-9: r = .89, norm SD 3.52. SE = 3.52 * sqrt(.11) = 1.1675; S_diff = 1.6510.
# GAD-7: r = .92, norm SD 3.41. SE = 3.41 * sqrt(.08) = 0.9645; S_diff = 1.3640.
@pytest.mark.parametrize(
    ("code", "baseline", "end", "index", "category"),
    [
        ("PHQ9", 15, 8, -4.24, RECOVERED),  # -7 / 1.6510; 15 >= 10 clinical, 8 < 10 not
        ("PHQ9", 15, 11, -2.42, IMPROVED),  # -4 / 1.6510; reliable, but 11 is still >= 10
        ("PHQ9", 15, 12, -1.82, UNCHANGED),  # -3 / 1.6510; |-1.82| <= 1.96
        ("PHQ9", 6, 10, 2.42, DETERIORATED),  # +4 / 1.6510, and higher is worse
        ("PHQ9", 8, 3, -3.03, IMPROVED),  # -5 / 1.6510; reliable, but 8 was never clinical
        ("GAD7", 12, 9, -2.20, RECOVERED),  # -3 / 1.3640; 12 >= 10, 9 < 10
        ("GAD7", 12, 10, -1.47, UNCHANGED),  # -2 / 1.3640
        ("GAD7", 4, 8, 2.93, DETERIORATED),  # +4 / 1.3640
    ],
)
def test_published_norm_sd_examples(code, baseline, end, index, category):
    result = outcome(code, baseline, end)
    assert result.category == category
    assert result.index == pytest.approx(index, abs=0.01)


# The CSI publishes its reliability but no norm SD: the SD of the practice's baselines is used.
# CSI-16: r = .98; with SD 12: SE = 12 * sqrt(.02) = 1.6971; S_diff = 2.4000; cut-off 51.5, higher better.
# CSI-4: r = .94; with SD 4: SE = 4 * sqrt(.06) = 0.9798; S_diff = 1.3856; cut-off 13.5, higher better.
@pytest.mark.parametrize(
    ("code", "sd", "baseline", "end", "index", "category"),
    [
        ("CSI16", 12.0, 40, 55, 6.25, RECOVERED),  # +15 / 2.4; 40 < 51.5 distressed, 55 not
        ("CSI16", 12.0, 40, 45, 2.08, IMPROVED),  # +5 / 2.4; still below 51.5
        ("CSI16", 12.0, 48, 52, 1.67, UNCHANGED),  # +4 / 2.4: crossed the cut-off, but not reliably
        ("CSI16", 12.0, 60, 54, -2.50, DETERIORATED),  # -6 / 2.4, and higher is better
        ("CSI4", 4.0, 10, 15, 3.61, RECOVERED),  # +5 / 1.3856; 10 < 13.5, 15 > 13.5
        ("CSI4", 4.0, 10, 12, 1.44, UNCHANGED),  # +2 / 1.3856
        ("CSI4", 4.0, 17, 13, -2.89, DETERIORATED),  # -4 / 1.3856
    ],
)
def test_practice_sd_examples(code, sd, baseline, end, index, category):
    result = outcome(code, baseline, end, sd=sd)
    assert result.category == category
    assert result.index == pytest.approx(index, abs=0.01)


def test_cutoff_direction_per_instrument():
    assert rules.is_clinical(load_definition("PHQ9"), Decimal(10))
    assert not rules.is_clinical(load_definition("PHQ9"), Decimal(9))
    assert rules.is_clinical(load_definition("CSI16"), Decimal(51))
    assert not rules.is_clinical(load_definition("CSI16"), Decimal(52))


def test_missing_scores_or_sd_are_not_measured():
    assert outcome("CSI16", 40, 55).category == NOT_MEASURED  # no practice SD yet
    assert classify_partner(load_definition("PHQ9"), Decimal(12), None).category == NOT_MEASURED
    assert classify_partner(load_definition("PHQ9"), None, None).category == NOT_MEASURED


def test_practice_sd_needs_enough_baselines():
    assert rules.baseline_sd([Decimal(v) for v in range(9)]) is None
    # 0..9: mean 4.5, sum of squares 82.5, sample SD sqrt(82.5 / 9) = 3.0277.
    assert rules.baseline_sd([Decimal(v) for v in range(10)]) == pytest.approx(3.0277, abs=1e-4)


@pytest.mark.parametrize(
    ("pair", "expected"),
    [
        ((RECOVERED, IMPROVED), rules.BOTH),
        ((IMPROVED, UNCHANGED), rules.ONE),
        ((UNCHANGED, UNCHANGED), rules.NEITHER),
        ((RECOVERED, DETERIORATED), rules.COUPLE_DETERIORATED),
        ((UNCHANGED, DETERIORATED), rules.COUPLE_DETERIORATED),
        ((RECOVERED, NOT_MEASURED), rules.COUPLE_NOT_MEASURED),
        ((NOT_MEASURED, NOT_MEASURED), rules.COUPLE_NOT_MEASURED),
    ],
)
def test_couple_categories(pair, expected):
    assert classify_couple(pair) == expected
    assert classify_couple(tuple(reversed(pair))) == expected


def test_individual_case_has_no_couple_category():
    assert classify_couple((RECOVERED,)) == rules.COUPLE_NOT_MEASURED


@pytest.mark.parametrize(
    ("counts", "cases", "expected"),
    [
        ([12, 7, 5], None, ["12", "7", "5"]),
        ([0, 7, 5], None, ["<5", "7", "<5"]),  # one hidden cell: the next smallest is hidden too
        ([3, 4, 9], None, ["<5", "<5", "9"]),  # two hidden: the total gives neither away
        ([1, 2, 0], None, ["<5", "<5", "<5"]),
        # Partner counts drawn from fewer than five cases are hidden even when the count itself is 6.
        ([6, 10, 8], [3, 5, 4], ["<5", "10", "<5"]),
    ],
)
def test_small_cells_are_suppressed(counts, cases, expected):
    assert rules.suppress_row(counts, cases) == expected
