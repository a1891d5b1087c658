"""`manage.py plan_intensives INSTANCE --out PLAN [--time-limit S]`: writes a checked plan, refuses bad input
with a clear message and a non-zero exit status, and then writes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tandem" / "planning" / "examples" / "small.json"


def run(*args: str, command: str = "plan_intensives") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), command, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_call_command_writes_a_valid_plan_and_a_summary(tmp_path):
    out = tmp_path / "plan.json"
    stdout = StringIO()
    call_command("plan_intensives", str(SMALL), "--out", str(out), "--time-limit", "3", stdout=stdout)
    text = stdout.getvalue()
    assert "solver:" in text and "baseline:" in text and "bound" in text and "weighted wait" in text
    plan = json.loads(out.read_text())
    assert {"blocks", "unscheduled", "stats"} <= plan.keys()
    checked = StringIO()
    call_command("check_plan", str(SMALL), str(out), stdout=checked)
    assert checked.getvalue().startswith("OK: ")


def test_the_real_command_exits_zero_and_writes_a_plan_the_checker_accepts(tmp_path):
    out = tmp_path / "plan.json"
    done = run(str(SMALL), "--out", str(out), "--time-limit", "3")
    assert done.returncode == 0, done.stderr
    assert "plan written to" in done.stdout
    plan = json.loads(out.read_text())
    assert plan["blocks"]
    checked = StringIO()
    call_command("check_plan", str(SMALL), str(out), stdout=checked)  # the real exit status: below
    assert checked.getvalue().startswith("OK: ")
    assert f"weight scheduled {plan['stats']['weight']}/" in checked.getvalue()
    assert f"weighted wait {plan['stats']['weighted_wait']} days" in checked.getvalue()


def test_the_real_check_plan_exits_one_on_a_broken_plan(tmp_path):
    out = tmp_path / "plan.json"
    out.write_text(json.dumps({"blocks": [], "unscheduled": []}))  # every couple missing
    done = run(str(SMALL), str(out), command="check_plan")
    assert done.returncode == 1
    assert "[each-couple-once] couple c1 appears 0 times in the plan" in done.stdout
    assert "INVALID" in done.stderr and "Traceback" not in done.stderr


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = json.loads(SMALL.read_text())
    missing_key = dict(good)
    del missing_key["policy"]
    bad_date = json.loads(SMALL.read_text())
    bad_date["horizon"]["last_day"] = "2027-13-01"
    files = {
        "missing": (tmp_path / "nope.json", "cannot read instance"),
        "not json": (tmp_path / "broken.json", "is not valid JSON"),
        "missing key": (tmp_path / "nokey.json", "missing key 'policy'"),
        "bad date": (tmp_path / "baddate.json", "horizon.last_day"),
        "not an object": (tmp_path / "list.json", "must be a JSON object"),
    }
    files["not json"][0].write_text("{ this is not json")
    files["missing key"][0].write_text(json.dumps(missing_key))
    files["bad date"][0].write_text(json.dumps(bad_date))
    files["not an object"][0].write_text("[]")
    return files


@pytest.mark.parametrize("case", ["missing", "not json", "missing key", "bad date", "not an object"])
def test_bad_input_is_a_command_error_and_writes_nothing(case, tmp_path):
    path, words = bad_files(tmp_path)[case]
    out = tmp_path / "plan.json"
    with pytest.raises(CommandError, match=words):
        call_command("plan_intensives", str(path), "--out", str(out), stdout=StringIO())
    assert not out.exists()
    assert not list(tmp_path.glob(".plan-*"))


@pytest.mark.parametrize("case", ["bad date"])  # each run starts Django afresh: a few seconds
def test_bad_input_gives_a_non_zero_exit_status(case, tmp_path):
    path, words = bad_files(tmp_path)[case]
    out = tmp_path / "plan.json"
    done = run(str(path), "--out", str(out))
    assert done.returncode != 0
    assert words in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_out_is_required_and_time_limit_must_be_positive(tmp_path):
    assert run(str(SMALL)).returncode != 0
    with pytest.raises(CommandError, match="time-limit"):
        call_command("plan_intensives", str(SMALL), "--out", str(tmp_path / "p.json"), "--time-limit", "0")
    with pytest.raises(CommandError, match="does not exist"):
        call_command("plan_intensives", str(SMALL), "--out", str(tmp_path / "no" / "p.json"))
