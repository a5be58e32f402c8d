"""A consumer's place in its group, kept the same way by the worker and the sender: the
topic-partitions it holds, where it started reading each, what it committed, whether it is
ready.

confluent-kafka runs the rebalance callbacks inside ``consume``, in the thread that owns the
consumer, so they see the loop between two batches. On an assignment the partitions are
marked restoring before the member counts as joined (``/readyz`` never answers ready while
they are read back), the loop restores what it keeps per partition (``Member.restore``), and
each topic-partition's start is its committed offset, or its first one. On a revocation the
loop settles its work and the positions it gives are committed, unless the member failed:
then nothing is committed, ever again, and the partitions are only forgotten. Lost partitions
are forgotten without a commit. A periodic (asynchronous) commit sends only the offsets that
moved; a synchronous one (a revocation, a stop) sends them all.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from confluent_kafka import OFFSET_INVALID, Consumer, TopicPartition

from relance.kafka import clients as kafka

log = logging.getLogger(__name__)

TopicPartitionKey = tuple[str, int]
Position = Callable[[TopicPartitionKey], int | None]


class Member(Protocol):
    """What a consumer loop does when its assignment changes."""

    def restore(self, consumer: Consumer, partitions: list[TopicPartition]) -> str:
        """Read back what the loop keeps for these newly assigned partitions; what the
        log line saying the loop is ready adds (or nothing)."""

    def settle(self, revoked: set[TopicPartitionKey]) -> Mapping[TopicPartitionKey, int]:
        """Finish the work in hand before ``revoked`` go; the offsets to commit for them."""

    def release(
        self, consumer: Consumer, gone: set[TopicPartitionKey], partitions: set[int]
    ) -> None:
        """Forget ``gone``; ``partitions``: the partition numbers no longer held at all."""


class Membership:
    def __init__(self, member: Member, *, restored: str, held: Callable[[int], None]) -> None:
        """``restored``: what the loop keeps per partition, for ``problems``; ``held`` is
        told how many partitions are held after each change."""
        self.member = member
        self.restored = restored
        self.held = held
        self.joined = False  # a first assignment came, even an empty one
        self.restoring: list[int] = []
        self.assigned: set[TopicPartitionKey] = set()
        self.start: dict[TopicPartitionKey, int] = {}
        self.highwater: dict[TopicPartitionKey, int] = {}
        self.committed: dict[TopicPartitionKey, int] = {}
        self.last_commit = 0.0
        # Set by the loop's first failure; no offset is committed after it.
        self.failure: BaseException | None = None
        self._lock = threading.Lock()  # commits come from the loop and from rebalances

    def subscribe(self, consumer: Consumer, topics: Iterable[str]) -> None:
        consumer.subscribe(
            list(topics),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )

    def problems(self) -> list[str]:
        """What keeps the loop from being ready (read from the web thread)."""
        if not self.joined:
            return ["not in the consumer group yet"]
        if self.restoring:
            return [f"restoring {self.restored} of partitions {self.restoring}"]
        return []

    def partitions(self) -> set[int]:
        return {partition for _, partition in self.assigned}

    def commit_due(self, interval: float) -> bool:
        return time.monotonic() - self.last_commit >= interval

    def commit(
        self, consumer: Consumer, positions: Mapping[TopicPartitionKey, int], *, sync: bool
    ) -> None:
        """Commit ``positions`` (per topic-partition, the next offset to read)."""
        with self._lock:
            if self.failure is not None:
                return  # what was read since the last commit may not be stored
            offsets = [
                TopicPartition(topic, partition, offset)
                for (topic, partition), offset in positions.items()
                if sync or self.committed.get((topic, partition)) != offset
            ]
            self.last_commit = time.monotonic()
            kafka.commit(consumer, offsets, sync=sync)
            for tp in offsets:
                self.committed[tp.topic, tp.partition] = tp.offset

    def position(self, key: TopicPartitionKey, read: int | None) -> int:
        """The next offset of ``key``: ``read`` when known, else where reading started."""
        return self.start.get(key, 0) if read is None else read

    def refresh_highwater(self, consumer: Consumer) -> None:
        # Cached: the end offset the last fetch response reported, no request per call.
        for topic, partition in self.assigned:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            self.highwater[topic, partition] = high

    def behind(self, topics: Iterable[str], position: Position) -> Counter[str]:
        """Per topic, the messages between the next to read and the end (as last fetched)."""
        behind: Counter[str] = Counter({topic: 0 for topic in topics})
        for key in self.assigned:
            high = self.highwater.get(key, -1)
            if high >= 0:
                behind[key[0]] += max(0, high - self.position(key, position(key)))
        return behind

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        numbers = sorted({tp.partition for tp in partitions})
        log.info("assigned partitions %s; restoring %s", numbers, self.restored)
        self.restoring = numbers  # first: joined with nothing restoring reads as ready
        self.joined = True
        restored = self.member.restore(consumer, partitions)
        for tp in consumer.committed(partitions, timeout=30) if partitions else ():
            start = tp.offset
            if start == OFFSET_INVALID or start < 0:
                start, _ = consumer.get_watermark_offsets(tp, timeout=10)
            self.start[tp.topic, tp.partition] = start
            self.committed[tp.topic, tp.partition] = tp.offset
            self.assigned.add((tp.topic, tp.partition))
        self.restoring = []
        self.held(len(self.partitions()))
        log.info("ready: partitions %s%s", numbers, f", {restored}" if restored else "")

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        numbers = sorted({p for _, p in revoked})
        if self.failure is None:
            log.info("revoking partitions %s", numbers)
            positions = self.member.settle(revoked & self.assigned)
            self.commit(consumer, positions, sync=True)
        else:
            log.info("revoking partitions %s after a failure: nothing committed", numbers)
        self._forget(consumer, revoked)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        lost = {(tp.topic, tp.partition) for tp in partitions}
        log.warning("partitions lost %s: dropped without commit", sorted({p for _, p in lost}))
        self._forget(consumer, lost)

    def _forget(self, consumer: Consumer, gone: set[TopicPartitionKey]) -> None:
        self.assigned -= gone
        for key in gone:
            self.start.pop(key, None)
            self.highwater.pop(key, None)
            self.committed.pop(key, None)
        held = self.partitions()
        self.member.release(consumer, gone, {partition for _, partition in gone} - held)
        self.held(len(held))
