"""Restoring a changelog with several readers at once gives what one reader gives: the last
record of each key, tombstones applied, every partition read to its end. Real broker."""

from __future__ import annotations

import uuid
from typing import NamedTuple

import pytest
from confluent_kafka import Producer

from relance.demo.broker import Broker
from relance.errors import BrokerError
from relance.kafka.changelog import Changelog, ReadAhead
from relance.kafka.topics import TopicSpec
from relance.settings import Settings, load_settings

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


class Written(NamedTuple):
    """A changelog topic as ``written`` left it, and the settings to read it with."""

    topic: str
    expected: dict[int, dict[bytes, bytes]]
    settings: Settings


@pytest.fixture
def changelog_topic(broker: Broker) -> Written:
    topic = f"restore-{uuid.uuid4().hex[:8]}"
    expected = written(broker, topic)
    settings = load_settings(broker=broker.url, app_id="restore", partitions=PARTITIONS)
    return Written(topic, expected, settings)


def test_readers_at_once_restore_the_last_record_of_each_key(changelog_topic: Written) -> None:
    topic, expected, settings = changelog_topic
    for readers in (1, 4):
        tables = Changelog(settings, topic, readers=readers).recover(range(PARTITIONS))
        assert tables == expected, f"{readers} readers"
    # A subset, as a worker holding some partitions restores them.
    assert Changelog(settings, topic).recover([5, 1, 3]) == {p: expected[p] for p in (1, 3, 5)}


def test_a_reader_that_fails_fails_the_restore(changelog_topic: Written) -> None:
    topic, _, settings = changelog_topic
    # Partition 9 does not exist: its reader never reaches an end, and says so.
    with pytest.raises(BrokerError, match=r"not read to their end|Unknown partition"):
        Changelog(settings, topic, readers=4).recover([0, 1, 2, 9], timeout=8)


def test_a_restore_goes_on_from_a_read_ahead_and_drops_what_it_was_not_assigned(
    broker: Broker, changelog_topic: Written
) -> None:
    topic, expected, settings = changelog_topic
    changelog = Changelog(settings, topic)
    ahead = ReadAhead(changelog, [0, 1, 2])
    ahead.wait()  # what the owner writes next comes after what it read
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    # An overwrite, a deletion, a new key.
    producer.produce(topic, b"later", b"c-1-5", 1)
    producer.produce(topic, None, b"c-1-6", 1)
    producer.produce(topic, b"new", b"c-1-new", 1)
    assert producer.flush(10) == 0
    expected[1] |= {b"c-1-5": b"later", b"c-1-new": b"new"}
    expected[1].pop(b"c-1-6", None)
    tables = changelog.recover([1, 3], ahead=ahead)
    assert tables == {1: expected[1], 3: expected[3]}
    assert ahead.take([0, 2]) == ({}, {})  # dropped once taken


def test_a_read_ahead_that_fails_leaves_the_restore_to_read_from_the_start(
    changelog_topic: Written,
) -> None:
    topic, expected, settings = changelog_topic
    changelog = Changelog(settings, topic)
    ahead = ReadAhead(changelog, [0, 9], timeout=8)  # partition 9 does not exist
    tables = changelog.recover([0], ahead=ahead)
    assert ahead.failed and tables == {0: expected[0]}
