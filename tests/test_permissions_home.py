"""One home for permissions: every `can_<verb>_<object>` (and the older `may_*`) predicate is in access/."""

import ast
from pathlib import Path

TANDEM = Path(__file__).resolve().parent.parent / "tandem"
# accounts sits below access: the Django admin's gate cannot ask a layer above it.
ALLOWED_ELSEWHERE = {("accounts/admin.py", "may_use_admin")}


def _predicates_outside_access() -> list[tuple[str, str]]:
    found = []
    for path in sorted(TANDEM.rglob("*.py")):
        rel = path.relative_to(TANDEM).as_posix()
        if rel.startswith("access/") or "/migrations/" in rel:
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.lstrip("_").startswith(("can_", "may_")):
                found.append((rel, node.name))
    return found


def test_every_permission_predicate_lives_in_access():
    assert set(_predicates_outside_access()) <= ALLOWED_ELSEWHERE
