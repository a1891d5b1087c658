"""One writer per fact: PhaseChange rows are written by pathway alone (its case_open and case_transition,
through one helper), so every phase change passes the same rules, permission check and audit row."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "tandem"
WRITES = {"create", "bulk_create", "get_or_create", "update_or_create"}
# (file, function) pairs allowed to write PhaseChange rows.
ALLOWED = {
    ("pathway/services.py", "_phase_record"),
    # The demo's bulk seeder writes the history of up to 20,000 synthetic cases in bulk, as it writes
    # their notes and audit chain; it goes round the services on purpose, for speed, and is the one exception.
    ("demo/cases.py", "_history"),
}


def _writes_phase_change(node: ast.Call) -> bool:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id == "PhaseChange"  # PhaseChange(...), saved or bulk-created later
    if not isinstance(func, ast.Attribute):
        return False
    if func.attr == "PhaseChange":
        return True  # models.PhaseChange(...)
    if func.attr not in WRITES or not isinstance(func.value, ast.Attribute):
        return False
    manager = func.value
    # PhaseChange.objects.create(...) or case.phase_changes.create(...)
    return (
        manager.attr == "objects"
        and isinstance(manager.value, ast.Name)
        and manager.value.id == "PhaseChange"
    ) or manager.attr == "phase_changes"


def phase_change_writers(source: str) -> list[tuple[str, int]]:
    """(enclosing function, line) of every PhaseChange write in one module's source."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if isinstance(child, ast.Call) and _writes_phase_change(child):
                found.append((function, child.lineno))
            visit(child, inner)

    visit(ast.parse(source), "<module>")
    return found


def test_only_pathway_writes_phase_changes():
    offenders = []
    allowed_seen = set()
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if "/migrations/" in f"/{relative}":
            continue
        for function, line in phase_change_writers(path.read_text(encoding="utf-8")):
            if (relative, function) in ALLOWED:
                allowed_seen.add((relative, function))
            else:
                offenders.append(f"tandem/{relative}:{line} in {function}")
    assert offenders == [], "PhaseChange is written outside pathway: call pathway's case_open/case_transition"
    # The allow-list names real writers: when one goes, it leaves the list too.
    assert allowed_seen == ALLOWED


@pytest.mark.parametrize(
    "source",
    [
        "def f(case):\n    PhaseChange.objects.create(case=case)\n",
        "def f(rows):\n    PhaseChange.objects.bulk_create(rows)\n",
        "def f(case):\n    case.phase_changes.create(to_phase='closed')\n",
        "def f(case):\n    return [PhaseChange(case=case)]\n",
        "def f(case):\n    models.PhaseChange(case=case).save()\n",
    ],
)
def test_the_check_sees_each_way_of_writing(source):
    assert phase_change_writers(source) == [("f", 2)]


def test_the_check_leaves_reads_alone():
    source = "def f(case):\n    return PhaseChange.objects.filter(case=case).order_by('at')\n"
    assert phase_change_writers(source) == []
