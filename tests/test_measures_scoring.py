"""Scores, bands, flags and missing items for every shipped instrument, by the published keys."""

from decimal import Decimal

import pytest

# The engine is fast; only a busy machine makes a first example slow, which is no failure.
from hypothesis import given, settings
from hypothesis import strategies as st

from tandem.measures import engine


def ranges(code: str) -> list[tuple[str, int, int]]:
    return engine.item_ranges(engine.load_definition(code))


def values_for_total(code: str, total: int) -> list[int]:
    """Item values in item order that add up to `total`, filling the first items first."""
    values = [low for _link, low, _high in ranges(code)]
    remaining = total - sum(values)
    for index, (_link, low, high) in enumerate(ranges(code)):
        step = min(high - low, remaining)
        values[index] += step
        remaining -= step
    assert remaining == 0, f"{code} cannot total {total}"
    return values


def score_values(code: str, values: list[int | None]) -> dict:
    definition = engine.load_definition(code)
    answers = {link: value for (link, _low, _high), value in zip(ranges(code), values, strict=True)}
    return engine.score(definition, engine.validate_answers(definition, answers)).as_json(definition)


# (code, total, band): both ends of every band, from the published cut-offs.
BAND_BOUNDARIES = [
    # PHQ-9: Kroenke, Spitzer & Williams 2001.
    ("PHQ9", 0, "minimal"),
    ("PHQ9", 4, "minimal"),
    ("PHQ9", 5, "mild"),
    ("PHQ9", 9, "mild"),
    ("PHQ9", 10, "moderate"),
    ("PHQ9", 14, "moderate"),
    ("PHQ9", 15, "moderately_severe"),
    ("PHQ9", 19, "moderately_severe"),
    ("PHQ9", 20, "severe"),
    ("PHQ9", 27, "severe"),
    # GAD-7: Spitzer et al. 2006.
    ("GAD7", 0, "minimal"),
    ("GAD7", 4, "minimal"),
    ("GAD7", 5, "mild"),
    ("GAD7", 9, "mild"),
    ("GAD7", 10, "moderate"),
    ("GAD7", 14, "moderate"),
    ("GAD7", 15, "severe"),
    ("GAD7", 21, "severe"),
    # CSI: Funk & Rogge 2007, distressed below 13.5 (CSI-4) and 51.5 (CSI-16).
    ("CSI4", 0, "distressed"),
    ("CSI4", 13, "distressed"),
    ("CSI4", 14, "not_distressed"),
    ("CSI4", 21, "not_distressed"),
    ("CSI16", 0, "distressed"),
    ("CSI16", 51, "distressed"),
    ("CSI16", 52, "not_distressed"),
    ("CSI16", 81, "not_distressed"),
    # IIEF-5: Rosen et al. 1999. Totals 1-4 need a "no sexual activity / did not attempt" 0 (items 2-5),
    # and the published severity bands start at 5, so they are not classified.
    ("IIEF5", 1, "not_classifiable"),
    ("IIEF5", 4, "not_classifiable"),
    ("IIEF5", 5, "severe"),
    ("IIEF5", 7, "severe"),
    ("IIEF5", 8, "moderate"),
    ("IIEF5", 11, "moderate"),
    ("IIEF5", 12, "mild_to_moderate"),
    ("IIEF5", 16, "mild_to_moderate"),
    ("IIEF5", 17, "mild"),
    ("IIEF5", 21, "mild"),
    ("IIEF5", 22, "none"),
    ("IIEF5", 25, "none"),
    # PEDT: Symonds et al. 2007.
    ("PEDT", 0, "no_pe"),
    ("PEDT", 8, "no_pe"),
    ("PEDT", 9, "probable_pe"),
    ("PEDT", 10, "probable_pe"),
    ("PEDT", 11, "pe"),
    ("PEDT", 20, "pe"),
    # FSDS-R: Derogatis et al. 2008, distress at 11 or more.
    ("FSDSR", 0, "no_distress"),
    ("FSDSR", 10, "no_distress"),
    ("FSDSR", 11, "distress"),
    ("FSDSR", 52, "distress"),
]


@pytest.mark.parametrize(("code", "total", "band"), BAND_BOUNDARIES)
def test_every_band_boundary(code, total, band):
    result = score_values(code, values_for_total(code, total))
    # Flags are covered below (a PHQ-9 total of 27 needs item 9 answered above 0).
    result.pop("flags")
    assert result == {"instrument": code, "total": total, "band": band, "domains": {}}


def test_boundaries_cover_every_band_of_every_summed_instrument():
    covered = {(code, band) for code, _total, band in BAND_BOUNDARIES}
    for code in engine.instrument_codes():
        definition = engine.load_definition(code)
        if definition["scoring"]["total"].get("from_domains"):
            continue
        for band in definition["scoring"]["bands"]:
            assert (code, band["name"]) in covered


def test_phq9_worked_example():
    # Several days on four items, more than half the days on three, nearly every day on two.
    result = score_values("PHQ9", [1, 2, 3, 1, 2, 3, 1, 2, 0])
    assert result == {
        "instrument": "PHQ9",
        "total": 15,
        "band": "moderately_severe",
        "domains": {},
        "flags": [],
    }


@pytest.mark.parametrize(("item9", "flagged"), [(0, False), (1, True), (2, True), (3, True)])
def test_phq9_item_9_raises_suicidal_ideation(item9, flagged):
    result = score_values("PHQ9", [0, 0, 0, 0, 0, 0, 0, 0, item9])
    assert result["flags"] == (["suicidal_ideation"] if flagged else [])


def test_phq9_flag_still_raised_when_total_is_missing():
    result = score_values("PHQ9", [None, 0, 0, 0, 0, 0, 0, 0, 2])
    assert result["total"] is None
    assert result["band"] is None
    assert result["flags"] == ["suicidal_ideation"]


FSFI_MAX = [5] * 19
FSFI_MIN = [1, 1] + [0] * 12 + [1, 1] + [0] * 3
FSFI_26_5 = [5, 5, 0, 0, 0, 0, 0, 5, 5, 5, 0, 5, 5, 5, 5, 5, 5, 5, 5]
FSFI_26_6 = [5, 5, 0, 0, 0, 0, 0, 5, 5, 4, 1, 5, 5, 5, 5, 5, 5, 5, 5]


def test_fsfi_maximum_is_36():
    result = score_values("FSFI", FSFI_MAX)
    assert result["total"] == 36.0
    assert result["domains"] == dict.fromkeys(
        ["desire", "arousal", "lubrication", "orgasm", "satisfaction", "pain"], 6.0
    )
    assert result["band"] == "no_dysfunction"


def test_fsfi_minimum_is_2_with_desire_1_2_and_satisfaction_0_8():
    result = score_values("FSFI", FSFI_MIN)
    assert result["total"] == 2.0
    assert result["domains"] == {
        "desire": 1.2,
        "arousal": 0.0,
        "lubrication": 0.0,
        "orgasm": 0.0,
        "satisfaction": 0.8,
        "pain": 0.0,
    }
    assert result["band"] == "dysfunction"
    assert result["flags"] == ["sexually_inactive"]


def test_fsfi_cut_off_26_5_is_dysfunction():
    result = score_values("FSFI", FSFI_26_5)
    assert result["total"] == 26.5
    assert result["band"] == "dysfunction"
    assert isinstance(result["total"], float)


def test_fsfi_cut_off_26_6_is_no_dysfunction():
    result = score_values("FSFI", FSFI_26_6)
    assert result["total"] == 26.6
    assert result["band"] == "no_dysfunction"


def test_fsfi_domain_factors():
    # desire (3+4)*0.6, arousal 14*0.3, lubrication 9*0.3, orgasm 7*0.4, satisfaction 11*0.4, pain 8*0.4.
    values = [3, 4, 2, 3, 4, 5, 1, 2, 3, 3, 2, 2, 3, 5, 3, 3, 2, 3, 3]
    result = score_values("FSFI", values)
    assert result["domains"] == {
        "desire": 4.2,
        "arousal": 4.2,
        "lubrication": 2.7,
        "orgasm": 2.8,
        "satisfaction": 4.4,
        "pain": 3.2,
    }
    assert result["total"] == 21.5


@pytest.mark.parametrize(("zeros", "flagged"), [(7, False), (8, True), (15, True)])
def test_fsfi_sexually_inactive_when_more_than_7_zero_items(zeros, flagged):
    zero_allowed = [index for index, (_link, low, _high) in enumerate(_fsfi_ranges()) if low == 0]
    assert len(zero_allowed) == 15
    values = list(FSFI_MAX)
    for index in zero_allowed[:zeros]:
        values[index] = 0
    assert score_values("FSFI", values)["flags"] == (["sexually_inactive"] if flagged else [])


def _fsfi_ranges():
    return ranges("FSFI")


def test_fsfi_missing_item_nulls_its_domain_and_the_total_only():
    values: list[int | None] = list(FSFI_MAX)
    values[16] = None  # item 17, pain
    result = score_values("FSFI", values)
    assert result["total"] is None
    assert result["band"] is None
    assert result["domains"]["pain"] is None
    assert result["domains"]["desire"] == 6.0


def test_missing_items_are_named():
    definition = engine.load_definition("GAD7")
    answers = engine.parse_values(definition, ["1", "-", "1", "1", "-", "1", "1"])
    result = engine.score(definition, answers)
    assert result.total is None
    assert result.missing == ["2", "5"]


@pytest.mark.parametrize(
    ("code", "tokens", "message"),
    [
        ("PHQ9", ["0"] * 8 + ["4"], "item 9: 4 is outside 0\N{EN DASH}3"),
        ("IIEF5", ["0", "1", "1", "1", "1"], "item 1: 0 is outside 1\N{EN DASH}5"),
        ("FSFI", ["0"] + ["1"] * 18, "item 1: 0 is outside 1\N{EN DASH}5"),
        ("FSFI", ["1"] * 14 + ["0"] + ["1"] * 4, "item 15: 0 is outside 1\N{EN DASH}5"),
        ("CSI4", ["6", "6", "5", "5"], "item 2: 6 is outside 0\N{EN DASH}5"),
        ("GAD7", ["1", "x", "1", "1", "1", "1", "1"], "item 2: 'x' is not a whole number"),
        ("GAD7", ["1", "1", "1.5", "1", "1", "1", "1"], "item 3: '1.5' is not a whole number"),
        ("GAD7", ["1"] * 6, "GAD7 has 7 items, got 6 values"),
    ],
)
def test_invalid_values_name_the_item(code, tokens, message):
    with pytest.raises(engine.InvalidAnswers, match=message):
        engine.parse_values(engine.load_definition(code), tokens)


def test_fsfi_item_14_allows_zero_for_no_sexual_activity():
    values = list(FSFI_MAX)
    values[13] = 0
    assert score_values("FSFI", values)["domains"]["satisfaction"] == 4.0


@given(st.lists(st.integers(min_value=0, max_value=3), min_size=9, max_size=9))
@settings(deadline=None)
def test_phq9_total_is_the_item_sum_and_band_follows_the_total(values):
    result = score_values("PHQ9", values)
    assert result["total"] == sum(values)
    expected = next(
        name
        for name, top in (
            ("minimal", 4),
            ("mild", 9),
            ("moderate", 14),
            ("moderately_severe", 19),
            ("severe", 27),
        )
        if sum(values) <= top
    )
    assert result["band"] == expected


@given(st.integers(min_value=0, max_value=26))
@settings(deadline=None)
def test_phq9_band_is_monotonic_in_the_total(total):
    order = ["minimal", "mild", "moderate", "moderately_severe", "severe"]
    lower = score_values("PHQ9", values_for_total("PHQ9", total))["band"]
    higher = score_values("PHQ9", values_for_total("PHQ9", total + 1))["band"]
    assert order.index(lower) <= order.index(higher)


@given(st.data())
@settings(deadline=None)
def test_fsfi_total_is_the_sum_of_its_domains_and_in_range(data):
    values = [data.draw(st.integers(min_value=low, max_value=high)) for _link, low, high in ranges("FSFI")]
    result = score_values("FSFI", values)
    assert round(sum(result["domains"].values()), 1) == result["total"]
    assert 2.0 <= result["total"] <= 36.0
    assert result["band"] == ("dysfunction" if result["total"] <= 26.55 else "no_dysfunction")


def test_reliable_change_by_jacobson_truax():
    # PHQ-9: r = 0.89, SD = 3.52, so S_diff = sqrt(2) * 3.52 * sqrt(0.11) = 1.651 and 1.96 * S_diff = 3.24.
    definition = engine.load_definition("PHQ9")
    drop = engine.reliable_change(definition, Decimal(14), Decimal(10))
    assert drop is not None
    assert drop.index == pytest.approx(-4 / 1.6510, abs=1e-3)
    assert drop.verdict == "improved"
    assert engine.reliable_change(definition, Decimal(10), Decimal(13)).verdict == "no_reliable_change"
    assert engine.reliable_change(definition, Decimal(10), Decimal(14)).verdict == "deteriorated"


def test_reliable_change_is_unknown_without_published_values():
    assert engine.reliable_change(engine.load_definition("FSDSR"), Decimal(30), Decimal(5)) is None
