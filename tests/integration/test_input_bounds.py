"""Hostile input on the embedded broker: a 5 MB event, an address that is not one, events
dated in the year 9999. Each is dead-lettered with its reason, the worker keeps running, and
every other event is decided exactly as ``relance simulate`` decides the same file."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from relance.codec import json as json_codec
from relance.codec.deadletter import VALUE_KEPT
from relance.codec.outputs import AvroOutputCodec
from relance.core.events import CartChange, ContactProfile, Event, PageView, Product
from relance.core.timestamps import to_iso

from .conftest import BRAND, Stack, read_all, read_rest
from .test_live_pipeline import SHOE, now_ms, profile

pytestmark = pytest.mark.integration

BAG = Product("sku-2", "Bag", 39.0, "EUR", "bags", "https://shop.example/p/sku-2")
YEAR_9999 = "9999-12-31T00:00:00Z"


def big_producer(stack: Stack) -> Producer:
    """The test's producer, able to write a 5 MB record (librdkafka's default is 1 MB)."""
    return Producer(
        {
            "bootstrap.servers": stack.broker.bootstrap,
            "partitioner": "murmur2_random",
            "batch.num.messages": 1,
            "linger.ms": 0,
            "message.max.bytes": 10_000_000,
        }
    )


def line(event: Event | dict[str, Any]) -> bytes:
    return orjson.dumps(event) if isinstance(event, dict) else json_codec.encode(event)


def produce_lines(stack: Stack, lines: list[tuple[str, bytes, bytes]]) -> None:
    producer = big_producer(stack)
    failed: list[str] = []
    for topic, key, value in lines:
        producer.produce(
            stack.topic(topic),
            key=key,
            value=value,
            on_delivery=lambda error, _: failed.append(str(error)) if error else None,
        )
    assert producer.flush(30) == 0 and not failed, failed


def simulated(stack: Stack, path: Path, until: int) -> dict[str, dict[str, Any]]:
    """What ``relance simulate`` decides of the same lines, by command id."""
    result = subprocess.run(
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
            to_iso(until),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    commands = [orjson.loads(raw) for raw in result.stdout.splitlines()]
    return {c["command_id"]: c for c in commands}


def live_commands(stack: Stack, count: int) -> dict[str, dict[str, Any]]:
    """The worker's commands: ``count`` of them, and none more within 6 s."""
    deliveries = stack.consumer("relance-deliveries")
    codec = AvroOutputCodec()
    try:
        found = read_all(deliveries, count, timeout=120)
        time.sleep(6)  # a wrong extra command would have come by now
        found += read_rest(deliveries)
    finally:
        deliveries.close()
    commands = [codec.decode_command(m.value()) for m in found]
    assert len({c["command_id"] for c in commands}) == len(commands), "a command twice"
    return {c["command_id"]: c for c in commands}


def dead_letters(stack: Stack, count: int) -> list[Any]:
    dlq = stack.consumer("relance-dlq")
    try:
        return read_all(dlq, count, timeout=120)
    finally:
        dlq.close()


def rejected(stack: Stack) -> dict[str, float]:
    return {
        name: value
        for name, value in stack.metrics("worker").items()
        if name.startswith("relance_events_rejected_total{")
    }


def test_a_5_mb_event_between_good_events_is_dead_lettered_and_the_rest_decided_as_offline(
    stack: Stack, tmp_path: Path
) -> None:
    stack.start("worker")
    t = now_ms()
    huge = {
        "type": "cart",
        "event_id": "ann-big",
        "contact_id": "ann",
        "occurred_at": t + 20,
        "action": "add",
        "quantity": 1,
        "product": {"id": "sku-9", "name": "x" * 5_000_000},
    }
    events: list[tuple[str, Event | dict[str, Any]]] = [
        ("contacts", profile("ann", t)),
        ("contacts", profile("bob", t)),
        ("carts", CartChange("ann-1", "ann", t + 10, "add", SHOE, 1)),
        ("carts", huge),  # on ann's partition, between her two cart changes
        ("carts", CartChange("ann-2", "ann", t + 30, "add", BAG, 2)),
        ("page-views", PageView("bob-1", "bob", t + 40, "product", SHOE)),
        ("carts", CartChange("bob-2", "bob", t + 50, "add", BAG, 1)),
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(line(event) + b"\n" for _, event in events))
    expected = simulated(stack, path, until=t + 60_000)
    assert len(expected) == 2  # ann's and bob's cart reminders

    produce_lines(
        stack,
        [
            (
                topic,
                (event["contact_id"] if isinstance(event, dict) else event.contact_id).encode(),
                line(event),
            )
            for topic, event in events
        ],
    )
    (letter,) = dead_letters(stack, 1)
    headers = dict(letter.headers())
    raw = line(huge)
    assert headers["relance.reason"] == b"too_large"
    assert (
        headers["relance.detail"]
        == (
            f"the event is {len(raw):,} bytes, more than inputs.max_event_bytes (65,536); its "
            "largest field is product.name (5,000,000 bytes)"
        ).encode()
    )
    assert headers["relance.source.topic"] == stack.topic("carts").encode()
    assert headers["relance.truncated"] == b"value"
    assert headers["relance.original_bytes"] == str(len(raw)).encode()
    assert letter.value() == raw[:VALUE_KEPT] and letter.key() == b"ann"

    live = live_commands(stack, len(expected))
    assert live == expected  # same ids, same payloads, nothing else
    ann = next(c for c in live.values() if c["contact_id"] == "ann")
    assert [i["product"]["id"] for i in ann["payload"]["items"]] == ["sku-1", "sku-2"]
    assert stack.processes["worker"].poll() is None  # still running
    assert rejected(stack) == {
        f'relance_events_rejected_total{{reason="too_large",topic="{stack.topic("carts")}"}}': 1.0
    }
    print(
        f"5 MB event: events {len(events)}, commands {len(live)}, lost "
        f"{len(set(expected) - set(live))}, duplicated 0"
    )


def test_an_invalid_email_and_year_9999_events_are_refused_and_nothing_else_changes(
    stack: Stack, tmp_path: Path
) -> None:
    later = stack.root / "later.yaml"
    # Browsing answered in 4 s; a cart reminder an hour later, which a clock moved to 9999
    # would fire at once.
    later.write_text(
        "scenarios:\n  cart_abandonment: {delay: 1h}\n  browse_abandonment: {delay: 4s}\n" + BRAND
    )
    stack.env["RELANCE_SCENARIOS"] = str(later)
    stack.start("worker")
    t = now_ms()
    far = {"event_id": "x", "contact_id": "eve", "occurred_at": YEAR_9999}
    ahead: list[tuple[str, dict[str, Any]]] = [
        ("page-views", {**far, "type": "page_view", "event_id": "eve-f1", "page_type": "home"}),
        ("carts", {**far, "type": "cart", "event_id": "eve-f2", "action": "clear"}),
        (
            "orders",
            {
                **far,
                "type": "order",
                "event_id": "eve-f3",
                "order_id": "o9",
                "status": "paid",
                "items": [],
                "total": 1,
                "currency": "EUR",
            },
        ),
        ("contacts", {**far, "type": "contact", "event_id": "eve-f4"}),
        ("engagement", {**far, "type": "engagement", "event_id": "eve-f5", "kind": "open"}),
    ]
    events: list[tuple[str, Event | dict[str, Any]]] = [
        (
            "contacts",
            ContactProfile("dan-p", "dan", t, email="not-an-email", marketing_opt_in=True),
        ),
        ("contacts", profile("eve", t)),
        ("contacts", profile("fox", t)),
        ("page-views", PageView("dan-1", "dan", t + 10, "product", SHOE)),
        ("carts", CartChange("eve-1", "eve", t + 10, "add", SHOE, 1)),
        ("page-views", PageView("fox-1", "fox", t + 20, "product", BAG)),
        *ahead,  # on every input of eve's partition
        ("page-views", PageView("eve-2", "eve", t + 30, "home")),
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(line(event) + b"\n" for _, event in events))
    expected = simulated(stack, path, until=t + 60_000)
    # fox's browse reminder; dan has no address (suppressed), eve's cart waits an hour.
    assert [c["contact_id"] for c in expected.values()] == ["fox"]

    produce_lines(
        stack,
        [
            (
                topic,
                (event["contact_id"] if isinstance(event, dict) else event.contact_id).encode(),
                line(event),
            )
            for topic, event in events
        ],
    )
    letters = dead_letters(stack, 1 + len(ahead))
    reasons = {m.value(): dict(m.headers()) for m in letters}
    email = reasons[line(events[0][1])]
    assert email["relance.reason"] == b"bad_value"
    assert email["relance.detail"].startswith(b"email is not an email address: ")
    for _, event in ahead:
        found = reasons[line(event)]
        assert found["relance.reason"] == b"bad_value"
        assert found["relance.detail"].startswith(
            b"occurred_at 9999-12-31T00:00:00.000Z is more than 1h ahead of the wall clock"
        )

    live = live_commands(stack, len(expected))
    assert live == expected
    assert stack.processes["worker"].poll() is None
    assert sum(rejected(stack).values()) == 1 + len(ahead)
    pending = stack.metrics("worker")["relance_deadlines_pending"]
    assert pending == 1.0  # eve's cart reminder, still an hour away
    print(
        f"invalid email and year 9999: events {len(events)}, commands {len(live)}, lost "
        f"{len(set(expected) - set(live))}, duplicated 0"
    )
