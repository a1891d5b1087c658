"""The shipped definition files: valid FHIR, consistent scoring rules, licences respected."""

from decimal import Decimal

import pytest

from tandem.measures import engine
from tandem.measures.fhir import Questionnaire

CODES = ["CSI16", "CSI4", "FSDSR", "FSFI", "GAD7", "IIEF5", "PEDT", "PHQ9"]
ITEM_COUNTS = {"PHQ9": 9, "GAD7": 7, "CSI4": 4, "CSI16": 16, "IIEF5": 5, "FSFI": 19, "PEDT": 5, "FSDSR": 13}
PUBLIC_WORDING = {"PHQ9", "GAD7"}


def test_exactly_the_issue_instruments_are_shipped():
    assert engine.instrument_codes() == CODES


@pytest.mark.parametrize("code", CODES)
def test_questionnaire_validates_against_the_fhir_model(code):
    definition = engine.load_definition(code)
    questionnaire = Questionnaire.model_validate(definition["questionnaire"])
    assert questionnaire.status == "active"
    assert questionnaire.version == definition["version"]


@pytest.mark.parametrize("code", CODES)
def test_questionnaire_items_and_scoring_items_agree(code):
    definition = engine.load_definition(code)
    questions = [item for item in definition["questionnaire"]["item"] if item["type"] != "display"]
    ranges = engine.item_ranges(definition)
    assert len(questions) == len(ranges) == ITEM_COUNTS[code]
    for question, (link_id, low, high) in zip(questions, ranges, strict=True):
        assert question["linkId"] == link_id
        codes = [int(option["valueCoding"]["code"]) for option in question["answerOption"]]
        assert codes == list(range(low, high + 1))


@pytest.mark.parametrize("code", CODES)
def test_bands_cover_every_possible_total_exactly_once(code):
    scoring = engine.load_definition(code)["scoring"]
    decimals = scoring["total"]["decimals"]
    step = Decimal(1).scaleb(-decimals)
    total = Decimal(str(scoring["total"]["min"]))
    while total <= Decimal(str(scoring["total"]["max"])):
        holders = [b for b in scoring["bands"] if Decimal(str(b["min"])) <= total <= Decimal(str(b["max"]))]
        assert len(holders) == 1, f"{code} total {total}"
        total += step


@pytest.mark.parametrize("code", CODES)
def test_licensed_wording_is_not_shipped(code):
    definition = engine.load_definition(code)
    questions = [item for item in definition["questionnaire"]["item"] if item["type"] != "display"]
    if code in PUBLIC_WORDING:
        assert definition["licence"]["item_wording"] == "public"
        assert all(not item["text"].startswith("Item ") for item in questions)
    else:
        assert definition["licence"]["item_wording"] == "licensed"
        assert [item["text"] for item in questions] == [f"Item {n}" for n in range(1, len(questions) + 1)]
        assert "import_questionnaire" in definition["licence"]["note"]


@pytest.mark.parametrize("code", CODES)
def test_reliable_change_values_are_stated_or_null(code):
    reliable = engine.load_definition(code)["scoring"]["reliable_change"]
    assert {"reliability", "norm_sd"} <= set(reliable)
    if reliable["reliability"] is not None:
        assert 0 < reliable["reliability"] < 1
        assert reliable["reliability_source"]


def test_fsfi_item_ranges_follow_rosen_2000():
    ranges = {link: (low, high) for link, low, high in engine.item_ranges(engine.load_definition("FSFI"))}
    one_to_five = {"1", "2", "15", "16"}
    assert {link for link, (low, _high) in ranges.items() if low == 1} == one_to_five
    assert all(high == 5 for _low, high in ranges.values())
