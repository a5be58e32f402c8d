"""A documented session of each tracking (tests/data/tracking/) replayed through ``relance
simulate`` decides the very commands, ids and payloads, of the same session written as
relance's own events, with one worker or two, and explains every decision alike."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "tracking"
CONFIG = DATA / "scenarios.yaml"
# (the session's file, how simulate is told its format, the commands decided: per contact,
# the scenarios and steps, in decision order)
SESSIONS = [
    (
        "segment",
        ["--source", "tracks"],
        {
            "97980cfea0067": ["welcome 1", "cart_abandonment 1", "cart_abandonment 2"],
            "019mr8mf4r": ["welcome 1", "order_confirmation 1", "welcome 2"],
        },
    ),
    (
        "ga4",
        ["--source", "ga4-events"],
        {
            "ada-1815": ["welcome 1", "cart_abandonment 1", "cart_abandonment 2"],
            "grace-1906": ["welcome 1", "order_confirmation 1", "welcome 2"],
        },
    ),
    (
        "shopify",
        ["--tracking", "shopify"],
        {
            "706405506930370084": [
                "welcome 1",
                "order_confirmation 1",
                "welcome 2",
                "shipping_update 1",
            ],
            "115310627314723954": ["welcome 1", "cart_abandonment 1", "cart_abandonment 2"],
        },
    ),
    (
        "legacy",
        ["--source", "legacy-events"],
        {
            "4711": ["welcome 1", "cart_abandonment 1", "cart_abandonment 2"],
            "4712": ["welcome 1", "order_confirmation 1", "welcome 2"],
        },
    ),
]
WHEN = ["--until", "2024-05-04T00:00:00Z", "--now", "2024-05-04T00:00:00Z"]


def simulate(events: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "relance",
            "simulate",
            "--events",
            str(events),
            "--config",
            str(CONFIG),
            *WHEN,
            *args,
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.parametrize(("name", "given", "decided"), SESSIONS, ids=[s[0] for s in SESSIONS])
def test_a_session_decides_as_the_same_session_written_as_canonical_events(
    name: str, given: list[str], decided: dict[str, list[str]]
) -> None:
    canonical = simulate(DATA / f"{name}-session.canonical.jsonl", "--workers", "1").stdout
    commands = [orjson.loads(line) for line in canonical.splitlines()]
    by_contact: dict[str, list[str]] = {}
    for command in commands:
        by_contact.setdefault(command["contact_id"], []).append(
            f"{command['scenario']} {command['step']}"
        )
    assert by_contact == decided
    for workers in ("1", "2"):
        mapped = simulate(DATA / f"{name}-session.jsonl", *given, "--workers", workers)
        assert mapped.stdout == canonical
    explained = simulate(DATA / f"{name}-session.jsonl", *given, "--explain")
    assert (
        explained.stdout == simulate(DATA / f"{name}-session.canonical.jsonl", "--explain").stdout
    )


def test_the_summary_counts_what_each_session_skips() -> None:
    err = simulate(DATA / "segment-session.jsonl", "--tracking", "segment").stderr.decode()
    assert "events read: 11, invalid lines: 0" in err
    assert "source events skipped: anonymous=1, not_used=2" in err


def test_a_source_the_scenario_file_does_not_declare_is_a_usage_error() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "relance",
            "simulate",
            "--events",
            "-",
            "--config",
            str(CONFIG),
            "--source",
            "clicks",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"relance: {CONFIG}: --source: 'clicks' is not a source of "
        "inputs.sources (declared: tracks, ga4-events, shopify-webhooks, "
        "legacy-events)\n"
    )


def test_an_unmappable_line_is_reported_with_its_number_and_strict_stops_there(
    tmp_path: Path,
) -> None:
    lines = (DATA / "segment-session.jsonl").read_bytes().splitlines()
    lines.insert(
        3,
        orjson.dumps(
            {
                "type": "track",
                "event": "Product Added",
                "userId": "u",
                "timestamp": "2024-05-01T10:00:00Z",
                "properties": {},
            }
        ),
    )
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(lines) + b"\n")
    err = simulate(events, "--tracking", "segment").stderr.decode()
    assert (
        f"{events}:4: missing_field: Segment track 'Product Added': properties.product_id "
        "(or properties.sku) is required"
    ) in err
    strict = subprocess.run(
        [
            sys.executable,
            "-m",
            "relance",
            "simulate",
            "--events",
            str(events),
            "--tracking",
            "segment",
            "--strict",
            *WHEN,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert strict.returncode == 2 and f"{events}:4: missing_field" in strict.stderr
