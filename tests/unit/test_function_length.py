"""No function in src/ spans more than 60 lines (decorators, docstring and body included)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
MOST = 60


def spans() -> dict[str, int]:
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                assert node.end_lineno is not None
                name = f"{path.relative_to(SRC).as_posix()}:{node.name}"
                found[name] = max(found.get(name, 0), node.end_lineno - first + 1)
    return found


def test_no_function_is_longer_than_60_lines() -> None:
    long = {name: lines for name, lines in spans().items() if lines > MOST}
    assert long == {}
