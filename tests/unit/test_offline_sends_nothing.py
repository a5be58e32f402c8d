"""Nothing offline can send: ``relance simulate`` (with ``--compare`` and ``--from-kafka``) and
``relance report`` write files only. Their modules import no sender, provider, SMTP or
HTTP client, and make no Kafka producer (they read topics with an assigned consumer)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import relance

PACKAGE = Path(relance.__file__).parent
OFFLINE = sorted([*(PACKAGE / "offline").glob("*.py"), *(PACKAGE / "report").glob("*.py")])
SENDING = (
    "relance.sender",
    "relance.providers",
    "relance.host",
    "smtplib",
    "aiosmtplib",
    "httpx",
    "urllib.request",
    "http.client",
    "relance.kafka.outputs",
)


def test_the_modules_are_where_the_check_looks() -> None:
    names = {p.name for p in OFFLINE}
    assert {"simulate.py", "backtest.py", "kafka_events.py", "figures.py"} <= names


@pytest.mark.parametrize("path", OFFLINE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_offline_can_send(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or "", *(f"{node.module}.{a.name}" for a in node.names)]
            )
            bad = [n for n in names for s in SENDING if n == s or n.startswith(f"{s}.")]
            assert not bad, f"{path}:{node.lineno}: imports {bad}"
        if isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            assert name not in ("Producer", "producer"), f"{path}:{node.lineno}: a producer"
