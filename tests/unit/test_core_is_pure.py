"""The core (``relance/core/``, every module in it, found by folder) imports nothing from
outside it but the standard library and msgspec: no stream framework, Kafka client, HTTP or
template library, and no clock."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import relance.core

# Standard-library modules that read a clock or do I/O the core must not do.
FORBIDDEN_STDLIB = (
    "time",
    "asyncio",
    "socket",
    "threading",
    "subprocess",
    "multiprocessing",
    "os",
    "random",
    "logging",
)
ALLOWED_THIRD_PARTY = ("msgspec",)
FORBIDDEN_CALLS = ("now", "utcnow", "today", "time", "monotonic", "perf_counter", "time_ns")


def core_files() -> list[Path]:
    return sorted(Path(relance.core.__file__).parent.rglob("*.py"))


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # a relative import stays in the package, hence in the core
                continue
            found.append((node.lineno, node.module or ""))
    return found


def test_the_core_is_found_by_folder() -> None:
    names = {path.stem for path in core_files()}
    assert {"engine", "contact", "events", "state", "decide", "cart", "catalog"} <= names


@pytest.mark.parametrize("path", core_files(), ids=lambda p: p.name)
def test_core_module_is_pure(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for line, name in imported(tree):
        top = name.split(".")[0]
        where = f"{path}:{line} imports {name}"
        if top == "relance":
            assert name == "relance.core" or name.startswith("relance.core."), where
        elif top in sys.stdlib_module_names or top == "__future__":
            assert top not in FORBIDDEN_STDLIB, where
        else:
            assert top in ALLOWED_THIRD_PARTY, where
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in FORBIDDEN_CALLS, f"{path}:{node.lineno} reads a clock"


def test_a_module_importing_kafka_fails_the_check(tmp_path: Path) -> None:
    """The check itself can fail: a module like the core's, with one bad import."""
    bad = tmp_path / "bad.py"
    bad.write_text("from confluent_kafka import Consumer\n")
    with pytest.raises(AssertionError, match="imports confluent_kafka"):
        test_core_module_is_pure(bad)
