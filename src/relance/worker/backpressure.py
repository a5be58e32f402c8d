"""A cap on the event-time merge: which input topic-partitions to pause, and when to resume.

An input far behind the others in event time makes the others' messages wait in the merge
(``runtime/merge.py``) until it catches up; unchecked, they would fill memory. Once a
partition holds ``high`` waiting messages, the inputs that have messages waiting are paused
(the lagging one, with nothing waiting, keeps being read, which is what drains the buffer);
they are resumed when the partition holds fewer than ``low``. A paused input whose messages
have all been applied is resumed at once, whatever the count: an input with nothing waiting
may be the one the merge waits for, so pausing it could stop the partition for good.

The buffer can pass ``high`` by at most one consume batch per input: once over it, an input
is read only while it has nothing waiting, and paused again after that batch. librdkafka
drops what it had fetched ahead for a paused partition and, on resume, fetches again from
the message after the last one handed over, so pausing neither skips nor repeats a message.
It keeps a partition paused across a rebalance, so a revoked one is resumed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

TopicPartitionKey = tuple[str, int]


class Backpressure:
    def __init__(self, high: int, low: int | None = None) -> None:
        if high < 1:
            raise ValueError("high must be at least 1")
        self.high = high
        self.low = max(1, high // 2) if low is None else low
        if not 0 < self.low <= self.high:
            raise ValueError("low must be between 1 and high")
        self.paused: set[TopicPartitionKey] = set()

    def adjust(
        self, partition: int, waiting: Mapping[str, int]
    ) -> tuple[list[TopicPartitionKey], list[TopicPartitionKey]]:
        """Given the messages waiting per input topic of ``partition``, what to pause and
        what to resume now."""
        total = sum(waiting.values())
        pause: list[TopicPartitionKey] = []
        resume: list[TopicPartitionKey] = []
        for topic, count in waiting.items():
            key = (topic, partition)
            if key in self.paused:
                if count == 0 or total < self.low:
                    resume.append(key)
            elif count and total >= self.high:
                pause.append(key)
        self.paused.difference_update(resume)
        self.paused.update(pause)
        return pause, resume

    def forget(self, keys: Iterable[TopicPartitionKey]) -> list[TopicPartitionKey]:
        """Stop tracking ``keys`` (revoked, lost); the ones that were paused, to resume, as
        the client keeps a partition paused across a rebalance."""
        paused = [key for key in keys if key in self.paused]
        self.paused.difference_update(paused)
        return paused
