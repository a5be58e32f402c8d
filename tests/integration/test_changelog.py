"""Restoring a changelog with several readers at once gives what one reader gives: the last
record of each key, tombstones applied, every partition read to its end. Real broker."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Producer

from relance.demo.broker import Broker
from relance.errors import BrokerError
from relance.kafka.changelog import Changelog
from relance.kafka.topics import TopicSpec
from relance.settings import load_settings

pytestmark = pytest.mark.integration

PARTITIONS = 6  # more than the readers: some read two partitions, one in turn


def written(broker: Broker, topic: str) -> dict[int, dict[bytes, bytes]]:
    """Write keys overwritten and deleted to every partition; what a restore must give."""
    broker.create_topics([TopicSpec(topic, PARTITIONS, compacted=True)])
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 20})
    expected: dict[int, dict[bytes, bytes]] = {p: {} for p in range(PARTITIONS)}
    for partition in range(PARTITIONS):
        for n in range(300 * (partition + 1)):  # partitions of different lengths
            key = f"c-{partition}-{n % 200}".encode()
            if n % 7 == 3:
                producer.produce(topic, None, key, partition)
                expected[partition].pop(key, None)
            else:
                value = f"{partition}:{n}".encode()
                producer.produce(topic, value, key, partition)
                expected[partition][key] = value
    assert producer.flush(30) == 0
    return expected


def test_readers_at_once_restore_the_last_record_of_each_key(broker: Broker) -> None:
    topic = f"restore-{uuid.uuid4().hex[:8]}"
    expected = written(broker, topic)
    settings = load_settings(broker=broker.url, app_id="restore", partitions=PARTITIONS)
    for readers in (1, 4):
        tables = Changelog(settings, topic, readers=readers).recover(range(PARTITIONS))
        assert tables == expected, f"{readers} readers"
    # A subset, as a worker holding some partitions restores them.
    assert Changelog(settings, topic).recover([5, 1, 3]) == {p: expected[p] for p in (1, 3, 5)}


def test_a_reader_that_fails_fails_the_restore(broker: Broker) -> None:
    topic = f"restore-{uuid.uuid4().hex[:8]}"
    written(broker, topic)
    settings = load_settings(broker=broker.url, app_id="restore", partitions=PARTITIONS)
    # Partition 9 does not exist: its reader never reaches an end, and says so.
    with pytest.raises(BrokerError, match=r"not read to their end|Unknown partition"):
        Changelog(settings, topic, readers=4).recover([0, 1, 2, 9], timeout=8)
