"""The real `manage.py score_measure` command, run as outside checks run it: exit codes and exact stdout."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

FSFI_26_5 = [5, 5, 0, 0, 0, 0, 0, 5, 5, 5, 0, 5, 5, 5, 5, 5, 5, 5, 5]
FSFI_26_6 = [5, 5, 0, 0, 0, 0, 0, 5, 5, 4, 1, 5, 5, 5, 5, 5, 5, 5, 5]
ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "score_measure", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "stdout"),
    [
        (
            ["PHQ9", "1", "2", "3", "1", "2", "3", "1", "2", "1"],
            {
                "instrument": "PHQ9",
                "total": 16,
                "band": "moderately_severe",
                "domains": {},
                "flags": ["suicidal_ideation"],
            },
        ),
        (
            ["GAD7", "0", "1", "0", "1", "0", "1", "1"],
            {"instrument": "GAD7", "total": 4, "band": "minimal", "domains": {}, "flags": []},
        ),
        (
            ["CSI4", "4", "4", "3", "2"],
            {"instrument": "CSI4", "total": 13, "band": "distressed", "domains": {}, "flags": []},
        ),
        (
            ["IIEF5", "4", "4", "4", "4", "5"],
            {"instrument": "IIEF5", "total": 21, "band": "mild", "domains": {}, "flags": []},
        ),
        (
            # Rosen et al. 1999: 0 is "did not attempt intercourse" on items 3-5; 3+2+0+0+0 = 5, severe.
            ["IIEF5", "3", "2", "0", "0", "0"],
            {"instrument": "IIEF5", "total": 5, "band": "severe", "domains": {}, "flags": []},
        ),
        (
            ["PEDT", "2", "2", "2", "2", "1"],
            {"instrument": "PEDT", "total": 9, "band": "probable_pe", "domains": {}, "flags": []},
        ),
        (
            ["FSDSR", *["1"] * 11, "0", "0"],
            {"instrument": "FSDSR", "total": 11, "band": "distress", "domains": {}, "flags": []},
        ),
    ],
)
def test_prints_exactly_one_json_object_and_exits_0(args, stdout):
    result = run(*args)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == stdout
    assert result.stdout.strip().count("\n") == 0


def test_whole_scores_print_as_integers():
    result = run("PHQ9", *["1"] * 9)
    assert '"total": 9,' in result.stdout


def test_fsfi_prints_one_decimal_floats_and_the_cut_off():
    low = run("FSFI", *map(str, FSFI_26_5))
    high = run("FSFI", *map(str, FSFI_26_6))
    assert json.loads(low.stdout) == {
        "instrument": "FSFI",
        "total": 26.5,
        "band": "dysfunction",
        "domains": {
            "desire": 6.0,
            "arousal": 0.0,
            "lubrication": 4.5,
            "orgasm": 4.0,
            "satisfaction": 6.0,
            "pain": 6.0,
        },
        "flags": [],
    }
    assert '"arousal": 0.0' in low.stdout
    assert json.loads(high.stdout)["total"] == 26.6
    assert json.loads(high.stdout)["band"] == "no_dysfunction"


def test_missing_items_give_null_and_are_named_on_stderr():
    result = run("PHQ9", "1", "1", "-", "1", "1", "1", "1", "-", "0")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {
        "instrument": "PHQ9",
        "total": None,
        "band": None,
        "domains": {},
        "flags": [],
    }
    assert "missing item(s) 3, 8" in result.stderr


def test_fsfi_missing_item_nulls_its_domain():
    result = run("FSFI", *["5"] * 18, "-")
    output = json.loads(result.stdout)
    assert result.returncode == 0
    assert output["total"] is None
    assert output["domains"]["pain"] is None
    assert output["domains"]["orgasm"] == 6.0
    assert "19" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["PHQ9", *["0"] * 8, "4"], "item 9: 4 is outside 0\N{EN DASH}3"),
        (["PHQ9", "-1", *["0"] * 8], "item 1: -1 is outside 0\N{EN DASH}3"),
        (["GAD7", "1", "one", "1", "1", "1", "1", "1"], "item 2: 'one' is not a whole number"),
        (["PHQ9", *["0"] * 8], "PHQ9 has 9 items, got 8 values"),
        (["PEDT", *["0"] * 6], "PEDT has 5 items, got 6 values"),
        (["IIEF5", "0", "1", "1", "1", "1"], "item 1: 0 is outside 1\N{EN DASH}5"),
        (["BDI2", "1"], "unknown instrument 'BDI2'"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr
