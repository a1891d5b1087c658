"""No function in tandem/ is longer than a reader can hold at once (issue 13): 80 lines at most.

Migrations are generated and left out. A long function is split into named steps, not by line count.
"""

import ast
from pathlib import Path

TANDEM = Path(__file__).resolve().parent.parent / "tandem"
MAX_LINES = 80

# Nothing is exempt now (render_pdf and the demo seeders have been split into named steps). Should a
# temporary exemption ever be needed again, an entry is (path relative to tandem/, function name), or
# (path, "*") for a whole file.
ALLOWED_FOR_NOW: set[tuple[str, str]] = set()


def _long_in(source: str, filename: str) -> list[tuple[str, int, int]]:
    """(name, first line, length) of each function over MAX_LINES, nested functions included."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            # From the first decorator to the last line of the body (its nested functions count too).
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines = (node.end_lineno or node.lineno) - first + 1
            if lines > MAX_LINES:
                found.append((node.name, node.lineno, lines))
    return found


def test_no_function_is_longer_than_80_lines():
    offenders = []
    for path in sorted(TANDEM.rglob("*.py")):
        relative = path.relative_to(TANDEM)
        if "migrations" in relative.parts:
            continue
        name_of_file = relative.as_posix()
        for name, line, lines in _long_in(path.read_text(encoding="utf-8"), str(path)):
            if (name_of_file, name) in ALLOWED_FOR_NOW or (name_of_file, "*") in ALLOWED_FOR_NOW:
                continue
            offenders.append(f"tandem/{name_of_file}:{line} {name} ({lines} lines)")
    assert not offenders, "Functions over 80 lines; split them into named steps:\n" + "\n".join(offenders)


def test_the_check_counts_lines_as_a_reader_sees_them():
    body = "".join(f"    x{k} = {k}\n" for k in range(MAX_LINES - 1))
    fits = f"def fits():\n{body}"
    too_long = f"@staticmethod\ndef too_long():\n{body}"  # the decorator's line counts
    inner_body = "".join(f"        y{k} = {k}\n" for k in range(MAX_LINES))
    nested = f"def outer():\n    def inner():\n{inner_body}"  # inner 81 lines, outer 82
    assert _long_in(fits, "fits.py") == []
    assert _long_in(too_long, "too_long.py") == [("too_long", 2, MAX_LINES + 1)]
    assert [name for name, _, _ in _long_in(nested, "nested.py")] == ["outer", "inner"]
