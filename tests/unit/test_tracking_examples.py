"""docs/tracking.md's worked examples run and decide what the page says: each `relance
simulate` command it shows, and each example it quotes is the file's own text."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "tracking.md").read_text()
COMMANDS = [block.replace("\\\n", " ") for block in re.findall(r"```sh\n(.*?)```", PAGE, re.S)]
# Per example file: (contact, scenario, decided at) of every command the page says it decides.
DECIDED = {
    "segment.jsonl": [("u-ann", "cart_abandonment", "2024-05-01T09:05:00.000Z")],
    "ga4.jsonl": [("u-ada", "cart_abandonment", "2024-05-01T11:05:00.000Z")],
    "shopify.jsonl": [("bob@example.com", "cart_abandonment", "2024-05-01T11:05:00.000Z")],
    "shop-events.jsonl": [("4711", "cart_abandonment", "2024-05-01T11:05:00.000Z")],
    "segment-anonymous.jsonl": [("u-bea", "browse_abandonment", "2024-05-01T11:15:00.000Z")],
}


def test_the_page_shows_a_command_for_each_example() -> None:
    shown = {
        re.search(r"examples/tracking/(\S+)", c).group(1)  # type: ignore[union-attr]
        for c in COMMANDS
    }
    assert shown == set(DECIDED)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.split()[3])
def test_each_command_decides_what_the_page_says(command: str) -> None:
    args = shlex.split(command)
    assert args[:2] == ["relance", "simulate"]
    result = subprocess.run(
        [sys.executable, "-m", "relance", *args[1:]],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    decided = [
        (c["contact_id"], c["scenario"], c["decided_at"])
        for c in map(orjson.loads, result.stdout.splitlines())
    ]
    name = Path(args[args.index("--events") + 1]).name
    assert decided == DECIDED[name]


def test_each_quoted_example_is_the_file_s_text() -> None:
    quoted = []  # each block the paragraph before it says is an example file's
    for block in re.finditer(r"```(?:json|yaml)\n(.*?)```", PAGE, re.S):
        before = PAGE[: block.start()].rsplit("```", 1)[-1][-700:]
        named = re.findall(r"\[`examples/tracking/([^`]+)`\]", before)
        if named:
            quoted.append((named[-1], block.group(1)))
    assert {name for name, _ in quoted} == {
        "scenarios.yaml",
        "segment.jsonl",
        "ga4.jsonl",
        "shopify.jsonl",
        "shop-mapping.yaml",
        "shop-events.jsonl",
    }
    for name, text in quoted:
        own = (ROOT / "examples" / "tracking" / name).read_text()
        if name.endswith(".yaml"):  # quoted without the file's comment lines
            own = "".join(
                line for line in own.splitlines(keepends=True) if not line.startswith("#")
            )
            text = re.sub(r"[ ]+#.*", "", text)
            own = re.sub(r"[ ]+#.*", "", own)
        assert text == own, name
