"""A record the broker or the client refuses for good stops the worker where it is: a clear
error, exit 1, nothing committed past it, and the same stop after a restart."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, TopicPartition

from relance.core.events import CartChange, Product
from relance.kafka.clients import key_partition

from .conftest import PARTITIONS, Stack, wait_for
from .test_live_pipeline import SHOE, now_ms, produce, profile

pytestmark = pytest.mark.integration

# Tansu (the embedded broker) ignores a topic's max.message.bytes (its produce handler checks
# no size; a 5,000-byte record goes into a topic created with 1,000), so the limit refused
# here is the client's: librdkafka's message.max.bytes, RELANCE_PRODUCER_MESSAGE_MAX_BYTES.
# A Kafka broker refusing by the topic's limit reports the same error code per record.
LIMIT = 4000
LONG = "x" * 1900  # under the inputs' limits (2,048 bytes a URL, 512 a name): accepted
HUGE = Product(
    "sku-big",
    f"Big {'x' * 400}",
    10.0,
    "EUR",
    "shoes",
    f"https://shop.example/{LONG}",
    f"https://shop.example/img/{LONG}",
    True,
)


def on_partition(partition: int, stem: str) -> str:
    """A contact id whose events go to ``partition``."""
    return next(
        f"{stem}-{n}"
        for n in range(10_000)
        if key_partition(f"{stem}-{n}".encode(), PARTITIONS) == partition
    )


def committed(stack: Stack, topic: str, partition: int) -> int:
    reader = Consumer(
        {"bootstrap.servers": stack.broker.bootstrap, "group.id": f"{stack.prefix}-worker"}
    )
    try:
        (found,) = reader.committed([TopicPartition(topic, partition)], timeout=10)
        return found.offset
    finally:
        reader.close()


def test_a_state_too_large_for_the_changelog_stops_the_worker_without_committing_past_it(
    stack: Stack,
) -> None:
    worker = {"RELANCE_PRODUCER_MESSAGE_MAX_BYTES": str(LIMIT)}
    carts = stack.topic("carts")
    before, big, after = (on_partition(0, stem) for stem in ("before", "big", "after"))
    t = now_ms()
    stack.start("worker", **worker)
    produce(stack, [profile(before, t), CartChange(f"{before}-1", before, t + 1, "add", SHOE)])
    wait_for(lambda: committed(stack, carts, 0) == 1, timeout=90)

    produce(
        stack,
        [
            CartChange(f"{big}-1", big, t + 2, "add", HUGE),
            CartChange(f"{after}-1", after, t + 3, "add", SHOE),
        ],
    )
    process = stack.processes.pop("worker")
    assert process.wait(timeout=90) == 1
    changelog = f"{stack.prefix}-worker-contact-state-changelog"
    log = stack.log("worker")
    stops = [line for line in log.splitlines() if "worker stopping without committing" in line]
    assert len(stops) == 1, log
    (stop,) = stops
    assert f"{changelog}[0]: a record of " in stop and "RELANCE_PRODUCER_MESSAGE_MAX_BYTES" in stop
    size = int(stop.split("a record of ")[1].split()[0])
    assert size > LIMIT
    assert committed(stack, carts, 0) == 1, "committed past the refused state"

    # The restart reads the same events, stops at the same record, and commits nothing.
    (stack.root / "worker.log").unlink()
    stack.start("worker", **worker)
    process = stack.processes.pop("worker")
    assert process.wait(timeout=90) == 1
    assert f"{changelog}[0]: a record of {size} bytes" in stack.log("worker")
    time.sleep(1)
    assert committed(stack, carts, 0) == 1
