"""The core imports no stream framework, Kafka client or wall clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import relance

CORE = ["events.py", "state.py", "detectors", "policy.py", "commands.py", "scenarios.py",
        "journeys.py", "catalog.py", "localtime.py", "conditions.py", "related.py",
        "watermark.py", "runtime/merge.py",
        "contact.py", "engine.py", "due.py", "timestamps.py", "errors.py", "codec/records.py",
        "codec/limits.py", "addresses.py", "duplicates.py"]
FORBIDDEN_MODULES = ("faust", "mode", "aiokafka", "confluent_kafka", "kafka", "time", "asyncio")
FORBIDDEN_CALLS = ("now", "utcnow", "today", "time", "monotonic", "perf_counter")


def core_files() -> list[Path]:
    root = Path(relance.__file__).parent
    found: list[Path] = []
    for name in CORE:
        path = root / name
        found.extend(sorted(path.glob("*.py")) if path.is_dir() else [path])
    return found


@pytest.mark.parametrize("path", core_files(), ids=lambda p: p.name)
def test_core_module_is_pure(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr not in FORBIDDEN_CALLS, f"{path}:{node.lineno} reads a clock"
            continue
        for name in names:
            top = name.split(".")[0]
            assert top not in FORBIDDEN_MODULES, f"{path}:{node.lineno} imports {name}"
