"""The real OTTO sample (tests/data) through ``relance simulate``, against a direct oracle."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from relance.cli import main
from relance.codec.json import encode
from relance.core.timestamps import DAY_MS, HOUR_MS, parse_iso
from relance.demo.samples import otto

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "otto-sessions-sample.jsonl.gz"


@pytest.fixture(scope="module")
def sessions() -> list[dict[str, Any]]:
    with gzip.open(SAMPLE, "rt") as lines:
        return [json.loads(line) for line in lines]


def expected_cart_reminders(session: dict[str, Any]) -> list[tuple[int, bool]]:
    """(decided_at, sent) per firing, read straight off the raw rows with the default rules:
    a cart add fires at +1h unless another cart add or an order comes before then; an order
    empties the cart; a reminder within 24h of the last one sent is suppressed."""
    rows = [r for r in session["events"] if r["type"] in ("carts", "orders")]
    firings: list[tuple[int, bool]] = []
    last_sent: int | None = None
    for i, row in enumerate(rows):
        if row["type"] != "carts":
            continue
        after = rows[i + 1]["ts"] if i + 1 < len(rows) else None
        due = row["ts"] + HOUR_MS
        if after is None or after >= due:
            send = last_sent is None or due - last_sent >= DAY_MS
            last_sent = due if send else last_sent
            firings.append((due, send))
    return firings


def test_otto_sample_replays_with_the_expected_abandonments(
    sessions: list[dict[str, Any]], tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    events_file = tmp_path / "otto.jsonl.gz"
    with gzip.open(events_file, "wb") as out:
        out.writelines(encode(event) + b"\n" for event in otto.events(sessions))
    assert main(["simulate", "--events", str(events_file), "--until", "2022-09-30T00:00:00Z"]) == 0
    captured = capsysbinary.readouterr()
    commands = [orjson.loads(line) for line in captured.out.splitlines()]

    cart = sorted(
        (c["contact_id"], parse_iso(c["decided_at"]))
        for c in commands
        if c["scenario"] == "cart_abandonment"
    )
    expected = sorted(
        (f"otto-{s['session']}", due)
        for s in sessions
        for due, send in expected_cart_reminders(s)
        if send
    )
    assert cart == expected
    suppressed = sum(not send for s in sessions for _, send in expected_cart_reminders(s))
    assert suppressed > 0
    assert f"cart_abandonment={suppressed}".encode() in captured.err.split(b"suppressed: ")[1]

    # The sample's README: 7 sessions add to cart, 3 order, so 4 never buy what they carted;
    # each of those 4 is reminded an hour after its last cart add.
    carted = {
        f"otto-{s['session']}": max(r["ts"] for r in s["events"] if r["type"] == "carts")
        for s in sessions
        if any(r["type"] == "carts" for r in s["events"])
    }
    ordered = {
        f"otto-{s['session']}" for s in sessions if any(r["type"] == "orders" for r in s["events"])
    }
    never_bought = set(carted) - ordered
    assert (len(carted), len(ordered & set(carted)), len(never_bought)) == (7, 3, 4)
    assert {contact for contact, _ in cart} == set(carted)
    for contact in never_bought:
        assert (contact, carted[contact] + HOUR_MS) in cart

    viewed = {f"otto-{s['session']}": {str(r["aid"]) for r in s["events"]} for s in sessions}
    browse = [c for c in commands if c["scenario"] == "browse_abandonment"]
    assert browse, "the sample has long browsing sessions"
    for command in browse:
        products = [p["product"]["id"] for p in command["payload"]["products"]]
        assert 1 <= len(products) <= 3 and set(products) <= viewed[command["contact_id"]]
