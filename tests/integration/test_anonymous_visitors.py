"""Anonymous visitors on the embedded broker: Segment calls on one topic keyed by message id,
so that a visitor's views and the call that identifies them land on different partitions.
The relay's identity stage keeps the views by anonymous id, releases them to the contact
when an ``identify`` names both ids, and the contact gets one browse abandonment email, as
``relance simulate --source`` decides it. A visitor who never identifies gets nothing, and
is forgotten once the stage has seen a window's time pass. Event times are explicit, hours
in the past: nothing waits an hour."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
import pytest

from relance.core.timestamps import HOUR_MS, MINUTE_MS, to_iso
from relance.kafka.topics import TopicSpec

from .conftest import BRAND, PARTITIONS, Stack, wait_for
from .test_input_bounds import live_commands
from .test_live_pipeline import now_ms
from .test_tracking_sources import simulated

pytestmark = pytest.mark.integration

PRODUCTS = [
    ("sku-1", "Trail shoe", "89.90"),
    ("sku-2", "Rain jacket", "129.00"),
    ("sku-3", "Wool socks", "12.50"),
]


def call(kind: str, anonymous: str, at: int, user: str | None = None, **fields: Any) -> bytes:
    found = {
        "type": kind,
        "messageId": uuid.uuid4().hex,
        "anonymousId": anonymous,
        "timestamp": to_iso(at),
        **fields,
    }
    if user is not None:
        found["userId"] = user
    return orjson.dumps(found)


def source_topic(stack: Stack) -> str:
    """The Segment topic, created with the inputs' partitions before anything is written to
    it (the test writes to each partition by number)."""
    topic = stack.topic("tracks")
    stack.broker.create_topics([TopicSpec(topic, PARTITIONS)])
    return topic


def viewed(anonymous: str, at: int, product: tuple[str, str, str]) -> bytes:
    sku, name, price = product
    return call(
        "track",
        anonymous,
        at,
        event="Product Viewed",
        properties={"product_id": sku, "name": name, "price": price, "currency": "eur"},
    )


def test_a_visitor_identified_an_hour_later_gets_one_browse_email_and_a_stranger_none(
    stack: Stack,
) -> None:
    tracks = source_topic(stack)
    config = stack.root / "anonymous.yaml"
    config.write_text(
        "scenarios:\n  browse_abandonment: {delay: 1h, quiet_period: 1h}\n"
        "inputs:\n  anonymous_window: 90m\n  sources:\n"
        f"    {tracks}: {{format: segment}}\n" + BRAND
    )
    stack.start("worker", RELANCE_SCENARIOS=str(config))
    stack.start("sender", RELANCE_SCENARIOS=str(config))
    # ann identifies 58.5 minutes ago, an hour after her first view: the reminder is due an
    # hour after the identify, 90 s from now, when the worker has read the whole session
    # (the worker fires what is due as soon as its inputs look caught up). bob came three
    # hours earlier and never identified.
    identified = now_ms() - HOUR_MS + 90_000
    ann, bob = f"ann-{uuid.uuid4().hex[:6]}", f"bob-{uuid.uuid4().hex[:6]}"
    lines = [viewed(bob, identified - 3 * HOUR_MS, PRODUCTS[0])]
    lines += [
        viewed(ann, identified - (60 - n * 10) * MINUTE_MS, product)
        for n, product in enumerate(PRODUCTS)
    ]
    lines.append(
        call(
            "identify",
            ann,
            identified,
            user="ann",
            traits={"email": "ann@example.com", "marketing_opt_in": True},
        )
    )
    # Another visitor, on bob's partition of the identity topic or not: the stage's time is
    # now past bob's window, and bob is forgotten.
    lines.append(viewed(f"cat-{uuid.uuid4().hex[:6]}", identified, PRODUCTS[1]))
    expected = simulated(config, tracks, lines, identified + 2 * HOUR_MS, stack.root)
    assert [(c["scenario"], c["contact_id"]) for c in expected.values()] == [
        ("browse_abandonment", "ann")
    ]

    def identity(outcome: str) -> float:
        return stack.metrics("worker").get(
            f'relance_source_events_total{{outcome="{outcome}",topic="{stack.prefix}-identities"}}',
            0.0,
        )

    producer = stack.producer()
    for number, line in enumerate(lines):  # each on a partition of its own, round the four
        producer.produce(
            tracks,
            key=orjson.loads(line)["messageId"].encode(),
            value=line,
            partition=number % PARTITIONS,
        )
        if number == 3:  # the identify comes once the views were read, as it would live
            assert producer.flush(30) == 0
            wait_for(lambda: identity("buffered") == 4.0, timeout=60)
    assert producer.flush(30) == 0

    live = live_commands(stack, 1)
    assert live == expected
    (command,) = live.values()
    assert command["recipient"]["email"] == "ann@example.com"
    assert [line["product"]["id"] for line in command["payload"]["products"]] == [
        "sku-1",
        "sku-2",
        "sku-3",
    ]
    (email,) = wait_for(lambda: stack.sink.messages(), timeout=90)
    assert email["To"] == "ann@example.com"

    wait_for(lambda: identity("expired") == 1.0, timeout=60)
    assert identity("buffered") == 5.0  # ann's three views, bob's, the later visitor's
    assert identity("released") == 1.0
    # ann (linked) and the later visitor are kept; bob is not.
    assert wait_for(
        lambda: stack.metrics("worker").get("relance_anonymous_visitors") == 2.0, timeout=30
    )
    assert len(stack.sink.messages()) == 1


def test_a_visitor_s_views_survive_a_killed_worker_and_are_released_once(stack: Stack) -> None:
    tracks = source_topic(stack)
    config = stack.root / "anonymous.yaml"
    config.write_text(
        "scenarios:\n  browse_abandonment: {delay: 1h, quiet_period: 1h}\n"
        "inputs:\n  anonymous_window: 90m\n  sources:\n"
        f"    {tracks}: {{format: segment}}\n" + BRAND
    )
    stack.start("worker", RELANCE_SCENARIOS=str(config))
    identified = now_ms() - HOUR_MS + 60_000
    ann = f"ann-{uuid.uuid4().hex[:6]}"
    views = [
        viewed(ann, identified - (60 - n * 10) * MINUTE_MS, product)
        for n, product in enumerate(PRODUCTS)
    ]
    identify = call(
        "identify",
        ann,
        identified,
        user="ann",
        traits={"email": "ann@example.com", "marketing_opt_in": True},
    )
    expected = simulated(config, tracks, [*views, identify], identified + 2 * HOUR_MS, stack.root)
    producer = stack.producer()
    for number, line in enumerate(views):
        producer.produce(
            tracks,
            key=orjson.loads(line)["messageId"].encode(),
            value=line,
            partition=number % PARTITIONS,
        )
    assert producer.flush(30) == 0
    buffered = (
        f'relance_source_events_total{{outcome="buffered",topic="{stack.prefix}-identities"}}'
    )
    wait_for(lambda: stack.metrics("worker").get(buffered) == 3.0, timeout=90)
    time.sleep(2)  # a commit or not: either way nothing may be lost or sent twice
    stack.kill("worker")  # the views are now only in the identity topic and its changelog
    stack.start("worker", RELANCE_SCENARIOS=str(config))
    producer.produce(tracks, key=b"identify", value=identify, partition=3)
    assert producer.flush(30) == 0
    assert live_commands(stack, 1) == expected
    assert "1 anonymous visitors" in stack.log("worker")  # ann's, read back from the changelog
