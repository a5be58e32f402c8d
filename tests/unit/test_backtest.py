"""``relance simulate --config OLD --compare NEW``: the same events under two scenario files
that differ in one delay, and exactly the commands that change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from relance.cli import main
from relance.codec.json import encode
from relance.core.timestamps import MINUTE_MS, to_iso

from .timeline import T0, cart, order, profile

CARTS = [f"c{n}" for n in range(1, 7)]
BUYERS = {"c2", "c5"}  # order 150 minutes after their cart: after 1h and 2h, before 3h


@pytest.fixture
def events(tmp_path: Path) -> Path:
    timeline = [profile(contact=c) for c in CARTS]
    timeline += [cart(10 * n, contact=c) for n, c in enumerate(CARTS)]
    timeline += [order(10 * n + 150, contact=c) for n, c in enumerate(CARTS) if c in BUYERS]
    timeline.sort(key=lambda e: e.occurred_at)
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(encode(e) + b"\n" for e in timeline))
    return path


def delay(tmp_path: Path, value: str) -> Path:
    path = tmp_path / f"delay-{value}.yaml"
    path.write_text(f"scenarios:\n  cart_abandonment:\n    delay: {value}\n")
    return path


def compare(tmp_path: Path, events: Path, old: str, new: str, *extra: str) -> Any:
    out = tmp_path / "backtest.out"
    assert (
        main(
            [
                "simulate",
                "--events",
                str(events),
                "--config",
                str(delay(tmp_path, old)),
                "--compare",
                str(delay(tmp_path, new)),
                "--until",
                "2024-05-03T00:00:00Z",
                "--now",
                "2024-05-03T00:00:00Z",
                "--workers",
                "1",
                "--out",
                str(out),
                *extra,
            ]
        )
        == 0
    )
    return orjson.loads(out.read_bytes()) if "json" in extra else out.read_text()


def test_a_longer_delay_moves_every_cart_command_and_changes_nothing_else(
    tmp_path: Path, events: Path
) -> None:
    test = compare(tmp_path, events, "1h", "2h", "--format", "json")
    assert test["backtest"] is True and test["note"] == "backtest: no message was sent"
    assert test["added"] == [] and test["removed"] == []
    moved = {c["contact_id"]: c["changes"] for c in test["changed"]}
    assert set(moved) == set(CARTS)
    for n, contact in enumerate(CARTS):
        cart_at = T0 + 10 * n * MINUTE_MS
        assert moved[contact] == {
            "decided_at": {
                "old": to_iso(cart_at + 60 * MINUTE_MS),
                "new": to_iso(cart_at + 120 * MINUTE_MS),
            }
        }
    assert test["commands"] == {
        "cart_abandonment": {"old": 6, "new": 6, "added": 0, "removed": 0, "changed": 6}
    }
    assert test["messages_per_contact"]["1"] == {"old": 6, "new": 6}
    assert test["most_affected"] == []


def test_a_delay_past_the_orders_removes_exactly_the_buyers_commands(
    tmp_path: Path, events: Path
) -> None:
    test = compare(tmp_path, events, "2h", "3h", "--format", "json")
    assert test["added"] == []
    assert sorted(r["contact_id"] for r in test["removed"]) == sorted(BUYERS)
    assert {r["new"] for r in test["removed"]} == {"not a candidate"}  # the order cancelled it
    assert {c["contact_id"] for c in test["changed"]} == set(CARTS) - BUYERS
    assert test["commands"]["cart_abandonment"] == {
        "old": 6,
        "new": 4,
        "added": 0,
        "removed": 2,
        "changed": 4,
    }
    assert test["messages_per_contact"] == {
        "0": {"old": 0, "new": 2},
        "1": {"old": 6, "new": 4},
        "2": {"old": 0, "new": 0},
        "3+": {"old": 0, "new": 0},
    }
    assert test["most_affected"] == [
        {"contact_id": c, "old": 1, "new": 0, "difference": -1} for c in sorted(BUYERS)
    ]


def test_the_same_file_under_both_changes_nothing(tmp_path: Path, events: Path) -> None:
    test = compare(tmp_path, events, "1h", "1h", "--format", "json")
    assert test["added"] == test["removed"] == test["changed"] == []


def test_the_text_says_it_is_a_backtest_and_lists_the_removed(
    tmp_path: Path, events: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = compare(tmp_path, events, "2h", "3h")
    lines = text.splitlines()
    assert lines[0] == "backtest: no message was sent"
    assert "  cart_abandonment    6    4      0        2        4" in lines
    assert "contacts most affected (top 2 by the change in messages):" in lines
    removed = lines.index("commands removed: 2")
    assert sorted(line.split()[0] for line in lines[removed + 2 : removed + 4]) == sorted(BUYERS)
    assert all(line.endswith("not a candidate") for line in lines[removed + 2 : removed + 4])
    assert "commands changed: 4" in lines and "commands added" not in text
    assert "backtest: no message was sent" in capsys.readouterr().err


def test_format_json_goes_with_compare(events: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--events", str(events), "--format", "json"]) == 2
    assert "--format goes with --compare" in capsys.readouterr().err


def test_explain_goes_without_compare(
    tmp_path: Path, events: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "simulate",
                "--events",
                str(events),
                "--compare",
                str(delay(tmp_path, "1h")),
                "--explain",
            ]
        )
        == 2
    )
    assert "--explain goes without --compare" in capsys.readouterr().err
