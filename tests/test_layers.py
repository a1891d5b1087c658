"""The layer contracts (pyproject.toml, run by `make lint`) hold for the tree and catch a deliberate break.

Each case copies the package and the contracts to a temporary directory, adds one bad import there (the
working tree is never touched) and runs lint-imports on the copy: it must fail, naming the contract.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

LAYERS = "Apps import only from their own layer's open siblings and from layers below"
ACYCLIC = "No import cycles between apps"
PURE = "The planner's pure modules use neither Django nor the rest of Tandem"


def _copy(dest: Path) -> Path:
    shutil.copytree(ROOT / "tandem", dest / "tandem", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    # The copy comes first on the path, so it is the copy's `tandem` that is analysed.
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_tree_keeps_every_contract(tmp_path):
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    for name in (LAYERS, ACYCLIC, PURE):
        assert f"{name} KEPT" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract", "message"),
    [
        # lib is the bottom layer: it may not reach up into an app.
        (
            "lib/layer_probe.py",
            "from tandem.cases.models import Case",
            LAYERS,
            "tandem.lib is not allowed to import tandem.cases",
        ),
        # public and portal share a layer whose apps may import each other (":"), but the public site
        # already calls the portal's services: the way back would close a cycle.
        (
            "portal/layer_probe.py",
            "from tandem.public.models import ContactMessage",
            ACYCLIC,
            "No cycles are allowed in tandem.",
        ),
        # records and homework share a layer whose apps keep to their own records ("|").
        (
            "records/layer_probe.py",
            "from tandem.homework.models import Assignment",
            LAYERS,
            "tandem.records is not allowed to import tandem.homework",
        ),
        # The planner's core runs without Django.
        (
            "planning/core.py",
            "from django.db import models",
            PURE,
            "tandem.planning.core is not allowed to import django",
        ),
    ],
)
def test_a_deliberate_bad_import_fails_naming_the_contract(tmp_path, module, line, contract, message):
    tree = _copy(tmp_path)
    target = tree / "tandem" / module
    existing = target.read_text() if target.exists() else ""
    target.write_text(existing + f"\n{line}  # a deliberate break, in a temporary copy\n")

    result = _lint(tree)

    assert result.returncode != 0
    assert f"{contract} BROKEN" in result.stdout, result.stdout
    assert message in result.stdout, result.stdout
