"""Honest event time for one shard fed by several input topics.

A shard (a partition number, shared by every co-partitioned input topic) may fire a
deadline only once every input that could still cancel it has been read up to that time.
Each input topic-partition contributes the latest event time read from it; one that is
caught up and idle contributes the wall clock instead (if that is later), since nothing
older can still arrive from it. The shard's time is the least contribution.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


class Watermarks:
    def __init__(self, topics: Iterable[str]) -> None:
        self.topics = tuple(topics)
        self._seen: dict[tuple[str, int], int] = {}

    def observe(self, topic: str, partition: int, occurred_at: int) -> None:
        key = (topic, partition)
        if occurred_at > self._seen.get(key, occurred_at - 1):
            self._seen[key] = occurred_at

    def forget(self, partition: int) -> None:
        for topic in self.topics:
            self._seen.pop((topic, partition), None)

    def time(
        self, partition: int, *, caught_up: Callable[[str, int], bool], wall_now: int
    ) -> int | None:
        """The shard's event time, or ``None`` while some input has told nothing yet."""
        least: int | None = None
        for topic in self.topics:
            seen = self._seen.get((topic, partition))
            if caught_up(topic, partition):
                here = wall_now if seen is None else max(seen, wall_now)
            elif seen is None:
                return None
            else:
                here = seen
            least = here if least is None else min(least, here)
        return least
