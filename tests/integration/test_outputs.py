"""``Outputs`` on a real broker with the producer the processes give it (a report for a failed
record only): ``wait`` returns once every record is stored, and still raises, naming the
record, when one fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from relance.codec.outputs import JsonOutputCodec
from relance.demo.broker import Broker, TopicSpec
from relance.kafka import clients as kafka
from relance.kafka.outputs import FAILURES_ONLY, Outputs, RecordRefusedError
from relance.settings import Settings

from .conftest import read_all

pytestmark = pytest.mark.integration


@pytest.fixture
def outputs(broker: Broker, request: pytest.FixtureRequest) -> Iterator[tuple[Outputs, str]]:
    topic = f"outputs-{request.node.name[-40:]}"
    broker.create_topics([TopicSpec(topic, 2)])
    settings = Settings(broker=broker.url, producer_message_max_bytes=100_000)
    # A record the broker does not take is failed after 3 s rather than the default 5 min.
    producer = kafka.producer(settings, **FAILURES_ONLY, **{"message.timeout.ms": 3000})
    yield (
        Outputs(producer, JsonOutputCodec(), deliveries=topic, dlq=topic, clock=lambda: 0),
        topic,
    )
    producer.flush(10)


def test_every_record_is_stored_when_wait_returns(
    outputs: tuple[Outputs, str], broker: Broker
) -> None:
    out, topic = outputs
    records = [(f"k{n}".encode(), f"v{n}".encode()) for n in range(2000)]
    out.write(topic, 0, records[:1000])
    out.write(topic, 1, records[1000:])
    out.wait()
    reader = kafka.consumer(Settings(broker=broker.url), f"{topic}-reader")
    reader.subscribe([topic])
    try:
        read = read_all(reader, len(records))
    finally:
        reader.close()
    assert sorted((m.key(), m.value()) for m in read) == sorted(records)


def test_a_record_that_is_not_stored_fails_the_wait_naming_it(
    outputs: tuple[Outputs, str],
) -> None:
    out, topic = outputs
    out.write(topic, 0, [(b"fine", b"stored")])
    out.write(topic, 7, [(b"lost", b"no such partition")])  # the topic has two
    with pytest.raises(RecordRefusedError, match=rf"1 records refused, first: {topic}\[7\]"):
        out.wait()
    out.write(topic, 1, [(b"next", b"stored")])
    out.wait()  # a failure is raised once
