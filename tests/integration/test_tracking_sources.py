"""Topics of other trackings on the embedded broker: a topic declared ``segment`` in the
scenario file, keyed by message id as a Segment destination keys it, and a ``shopify`` one
whose webhooks carry their topic in a Kafka header. The worker's relay maps each message,
dead-letters the one it cannot map (the source event named in the detail), re-keys the
others by contact id into the input topics, and the worker decides them exactly as
``relance simulate --source`` decides the same file."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from relance.core.timestamps import to_iso

from .conftest import Stack, read_all, wait_for
from .test_input_bounds import dead_letters, live_commands
from .test_live_pipeline import now_ms

pytestmark = pytest.mark.integration


def with_sources(stack: Stack, sources: str) -> Path:
    """The stack's scenarios, and ``inputs.sources`` naming the test's own topics."""
    path = stack.root / "tracking.yaml"
    path.write_text(
        "scenarios:\n  cart_abandonment: {delay: 4s, quiet_period: 1h}\n"
        "inputs:\n  sources:\n" + sources
    )
    return path


def simulated(
    config: Path, source: str, lines: list[bytes], until: int, root: Path
) -> dict[str, dict[str, Any]]:
    events = root / f"{uuid.uuid4().hex}.jsonl"
    events.write_bytes(b"".join(line + b"\n" for line in lines))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "relance",
            "simulate",
            "--events",
            str(events),
            "--config",
            str(config),
            "--source",
            source,
            "--until",
            to_iso(until),
            "--workers",
            "1",
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return {c["command_id"]: c for c in map(orjson.loads, result.stdout.splitlines())}


def call(kind: str, user: str | None, at: int, **fields: Any) -> bytes:
    found = {
        "type": kind,
        "messageId": uuid.uuid4().hex,
        "timestamp": to_iso(at),
        "anonymousId": f"anon-{user}",
        **fields,
    }
    if user is not None:
        found["userId"] = user
    return orjson.dumps(found)


def test_a_segment_topic_dead_letters_a_bad_call_and_decides_the_next_good_one(
    stack: Stack,
) -> None:
    tracks = stack.topic("tracks")
    config = with_sources(stack, f"    {tracks}: {{format: segment}}\n")
    stack.start("worker", RELANCE_SCENARIOS=str(config))
    t = now_ms()
    product = {"product_id": "sku-1", "name": "Trail shoe", "price": "89.90", "currency": "eur"}
    bad = call(
        "track",
        "ann",
        t + 10,
        event="Product Added",
        properties={"name": "Trail shoe", "price": 89.9},
    )  # no product_id, no sku
    lines = [
        call("identify", "ann", t, traits={"email": "ann@example.com", "marketing_opt_in": True}),
        bad,
        call(
            "track",
            "ann",
            t + 20,
            event="Product Added",
            properties={**product, "cart_id": "c-1", "quantity": 2},
        ),
        call("track", None, t + 30, event="Product Viewed", properties=product),  # anonymous
        call("track", "ann", t + 40, event="Product Shared", properties=product),  # not used
    ]
    expected = simulated(config, tracks, lines, t + 60_000, stack.root)
    assert [c["scenario"] for c in expected.values()] == ["cart_abandonment"]

    producer = stack.producer()
    for line in lines:  # keyed by message id, not by contact: the relay re-keys
        producer.produce(tracks, key=orjson.loads(line)["messageId"].encode(), value=line)
    assert producer.flush(30) == 0

    (letter,) = dead_letters(stack, 1)
    headers = dict(letter.headers())
    assert letter.value() == bad
    assert headers["relance.reason"] == b"missing_field"
    assert headers["relance.detail"] == (
        b"Segment track 'Product Added': properties.product_id (or properties.sku) is required"
    )
    assert headers["relance.source.topic"] == tracks.encode()
    live = live_commands(stack, 1)
    assert live == expected
    (command,) = live.values()
    assert command["contact_id"] == "ann" and command["recipient"]["email"] == "ann@example.com"
    assert command["payload"]["items"] == [
        {
            "product": {
                "id": "sku-1",
                "name": "Trail shoe",
                "price": 89.9,
                "currency": "EUR",
                "category_id": None,
                "url": None,
                "image_url": None,
                "in_stock": None,
            },
            "quantity": 2,
        }
    ]

    carts = stack.consumer("carts")
    try:
        (relayed,) = read_all(carts, 1)
    finally:
        carts.close()
    assert relayed.key() == b"ann"  # re-keyed by contact
    assert dict(relayed.headers())["relance.source"].startswith(f"{tracks}/".encode())
    outcomes = wait_for(
        lambda: (
            {
                name: value
                for name, value in stack.metrics("worker").items()
                if name.startswith("relance_source_events_total{") and value
            }
            or None
        )
    )
    assert outcomes == {
        f'relance_source_events_total{{outcome="relayed",topic="{tracks}"}}': 2.0,
        f'relance_source_events_total{{outcome="anonymous",topic="{tracks}"}}': 1.0,
        f'relance_source_events_total{{outcome="not_used",topic="{tracks}"}}': 1.0,
    }


def test_a_shopify_topic_with_the_webhook_topic_in_a_kafka_header(stack: Stack) -> None:
    shop = stack.topic("shop")
    config = with_sources(stack, f"    {shop}: {{format: shopify, contact_id: email}}\n")
    stack.start("worker", RELANCE_SCENARIOS=str(config))
    t = now_ms()
    customer = {
        "id": 207119551,
        "email": "Bo@Example.com",
        "updated_at": to_iso(t),
        "email_marketing_consent": {"state": "subscribed"},
    }
    checkout = {
        "token": "tok-1",
        "cart_token": "cart-1",
        "email": "bo@example.com",
        "currency": "USD",
        "updated_at": to_iso(t + 50),
        "completed_at": None,
        "customer": {"id": 207119551, "email": "bo@example.com"},
        "line_items": [
            {"product_id": 632910392, "title": "IPod Nano - 8GB", "price": "199.00", "quantity": 1}
        ],
    }
    webhooks = [
        ("customers/create", orjson.dumps(customer)),
        ("checkouts/create", orjson.dumps(checkout)),
    ]
    producer = stack.producer()
    for topic, body in webhooks:  # keyed by the shop, as a webhook bridge would
        producer.produce(
            shop,
            key=b"jsmith.myshopify.com",
            value=body,
            headers=[("X-Shopify-Topic", topic.encode())],
        )
    assert producer.flush(30) == 0
    (command,) = live_commands(stack, 1).values()
    assert command["contact_id"] == "bo@example.com"
    assert command["scenario"] == "cart_abandonment"
    assert command["payload"]["cart_id"] == "tok-1"
    assert command["payload"]["items"][0]["product"]["price"] == 199.0
