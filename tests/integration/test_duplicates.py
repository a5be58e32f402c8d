"""At-least-once input: every message produced twice decides what it decides once."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from relance.codec import avro
from relance.codec import json as json_codec
from relance.codec.outputs import AvroOutputCodec
from relance.core.events import Event
from relance.demo.samples.traffic import generate

from .conftest import Stack, read_all, read_rest, wait_for
from .test_live_pipeline import TOPIC_OF

pytestmark = pytest.mark.integration


def simulate(
    stack: Stack, events: list[Event], path: Path, copies: int
) -> tuple[dict[str, dict[str, Any]], int]:
    """``relance simulate`` on ``copies`` of each event: its commands by id, and the
    duplicates its summary counts."""
    path.write_bytes(b"".join(json_codec.encode(e) + b"\n" for e in events for _ in range(copies)))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "relance",
            "simulate",
            "--events",
            str(path),
            "--config",
            stack.env["RELANCE_SCENARIOS"],
            "--until",
            "2030-01-01T00:00:00Z",
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    found = re.search(rb"duplicates: (\d+),", run.stderr)
    assert found is not None, run.stderr
    commands = [orjson.loads(line) for line in run.stdout.splitlines()]
    return {c["command_id"]: c for c in commands}, int(found[1])


def test_every_event_produced_twice_decides_the_same_commands_as_once(
    stack: Stack, tmp_path: Path
) -> None:
    events = generate(120, sessions_per_contact=2, hours=12, seed=3)
    expected, none = simulate(stack, events, tmp_path / "once.jsonl", copies=1)
    doubled, skipped = simulate(stack, events, tmp_path / "twice.jsonl", copies=2)
    assert none == 0 and len(expected) > 20
    assert doubled == expected and skipped > len(events) // 4

    stack.start("worker")
    producer = stack.producer()
    for event in events:
        value = avro.encode(event)
        for _ in range(2):  # as a producer retrying after a lost acknowledgement would
            producer.produce(
                stack.topic(TOPIC_OF[event.type]), key=event.contact_id.encode(), value=value
            )
    assert producer.flush(30) == 0
    deliveries = stack.consumer("relance-deliveries")
    codec = AvroOutputCodec()
    try:
        live = read_all(deliveries, len(expected), timeout=120)
        time.sleep(5)  # a second copy of a command would have come by now
        live += read_rest(deliveries)
    finally:
        deliveries.close()
    commands = [codec.decode_command(m.value()) for m in live]
    by_id = {c["command_id"]: c for c in commands}
    lost, duplicated = len(expected.keys() - by_id.keys()), len(commands) - len(by_id)

    def counted() -> float:
        return sum(
            v
            for k, v in stack.metrics("worker").items()
            if k.startswith("relance_duplicate_events_total{")
        )

    wait_for(lambda: counted() >= skipped, timeout=60)
    print(
        f"\nevents: {len(events)} produced twice ({2 * len(events)} messages); duplicates "
        f"skipped: {counted():.0f} live, {skipped} simulated; commands: {len(by_id)} of "
        f"{len(expected)} simulated; lost: {lost}; duplicated: {duplicated}"
    )
    assert lost == 0 and duplicated == 0
    assert by_id.keys() == expected.keys()
    for command_id, command in by_id.items():
        assert command["payload"] == expected[command_id]["payload"], command_id
        assert command["template"] == expected[command_id]["template"]
    assert counted() == skipped
    carts = f'relance_duplicate_events_total{{topic="{stack.topic("carts")}"}}'
    assert stack.metrics("worker")[carts] > 0
