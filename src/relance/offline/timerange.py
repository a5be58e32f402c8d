"""Reading a time range of Kafka topics, for offline runs: every partition, from the first
record stamped at or after ``since`` (the offset ``offsets_for_times`` gives) up to the first
stamped at or after ``until``, keeping the records stamped within ``[since, until)``.

The partitions are assigned, never subscribed: the reader joins no consumer group, and it
commits nothing, so no group's committed offsets move (the worker's, the sender's, or its
own). Some brokers (Tansu) answer ``offsets_for_times`` with offset 0 whatever the time; the
timestamps of the records read are checked as well, so the records kept are the same there,
only more of the topic is read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, KafkaError, Message, TopicPartition

from relance.errors import BrokerError
from relance.kafka import clients as kafka
from relance.settings import Settings

Take = Callable[["Message[bytes, bytes]"], None]


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Epoch ms; ``until`` None: up to the end of each partition as it is when read."""

    since: int
    until: int | None

    def __post_init__(self) -> None:
        if self.until is not None and self.until <= self.since:
            raise ValueError(
                "the end of the range (--until) must be later than its start (--since)"
            )

    def holds(self, stamp: int) -> bool:
        return stamp >= self.since and (self.until is None or stamp < self.until)


def offline_reader(settings: Settings, purpose: str) -> Consumer:
    """A consumer of its own group (``<app id>-<purpose>``), which it never joins nor commits
    to: records are read from assigned partitions only."""
    return kafka.consumer(
        settings,
        f"{settings.app_id}-{purpose}",
        **{"enable.partition.eof": True, "enable.auto.offset.store": False},
    )


def read_range(
    reader: Consumer, topics: Sequence[str], span: TimeRange, take: Take, *, timeout: float = 600.0
) -> list[str]:
    """Hand every record of ``topics`` within ``span`` to ``take``, partition by partition
    in offset order (partitions interleaved); the topics that do not exist (not read)."""
    missing, starts = [], []
    for topic in topics:
        metadata = reader.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            missing.append(topic)
            continue
        starts += [TopicPartition(topic, p, span.since) for p in sorted(metadata.partitions)]
    if not starts:
        return missing
    try:
        found = reader.offsets_for_times(starts, timeout=30)
    except Exception as exc:  # KafkaException, or a timeout librdkafka reports as such
        raise BrokerError(f"offsets for {span.since} in {sorted(set(topics))}: {exc}") from exc
    # A partition with no record at or after ``since`` answers the end (-1): nothing to read.
    assigned = [tp for tp in found if tp.offset >= 0]
    if assigned:
        reader.assign(assigned)
        _consume(reader, {(tp.topic, tp.partition) for tp in assigned}, span, take, timeout)
    return missing


def _consume(
    reader: Consumer, open_: set[tuple[str, int]], span: TimeRange, take: Take, timeout: float
) -> None:
    """Until every partition has reached its end or a record stamped at or after ``until``."""
    started_at = time.monotonic()
    while open_:
        if time.monotonic() - started_at > timeout:
            raise BrokerError(
                f"{sorted(open_)} not read to the end of the range within {timeout:.0f}s"
            )
        for message in reader.consume(10_000, 0.5):
            where = (message.topic() or "", message.partition() or 0)
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    open_.discard(where)
                elif error.fatal():
                    raise BrokerError(f"reading {where[0]}[{where[1]}]: {error}")
                continue
            if where not in open_:
                continue  # fetched before its partition was paused
            kind, stamp = message.timestamp()
            if kind == TIMESTAMP_NOT_AVAILABLE:
                continue  # a record without a time is in no time range
            if span.until is not None and stamp >= span.until:
                open_.discard(where)
                reader.pause([TopicPartition(*where)])
                continue
            if stamp >= span.since:  # else before the start: a broker that answered too early
                take(message)
