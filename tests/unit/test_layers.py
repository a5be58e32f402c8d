"""Who may import whom outside the core: the Kafka plumbing both processes share imports
neither process, and neither process's parts that run beside faust import faust."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "relance"


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            found.add(node.module or "")
    return found


@pytest.mark.parametrize("path", sorted((SRC / "kafka").glob("*.py")), ids=lambda p: p.name)
def test_the_shared_kafka_plumbing_imports_no_process(path: Path) -> None:
    for name in imports(path):
        assert not name.startswith(
            ("relance.worker", "relance.sender", "relance.host", "relance.wiring", "faust")
        ), f"{path.name} imports {name}"


@pytest.mark.parametrize(
    "name",
    [
        "sender/catalog_follower.py",
        "worker/transaction.py",
        "worker/pipeline.py",
        "worker/outbox.py",
    ],
)
def test_a_part_hosted_by_the_process_needs_no_faust(name: str) -> None:
    assert not {i for i in imports(SRC / name) if i.split(".")[0] == "faust"}
