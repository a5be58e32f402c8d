"""Event-time order across co-partitioned input topics.

faust hands over messages in arrival order; a contact's profile (``contacts``) may arrive
after a page view (``page-views``) that happened later. Per partition, messages wait here
and are released oldest first, and only while no input that is still behind (not caught up)
has nothing waiting: that input could still hold an older event. Kafka Streams does the same
when it picks the next record of a task by timestamp.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from heapq import heapify, heappop, heapreplace
from typing import NamedTuple

from relance.core.events import Event


class Pending(NamedTuple):
    """A decoded message waiting for its turn (a tuple: one is built per message)."""

    event: Event
    topic: str
    offset: int


class EventTimeMerge:
    def __init__(self, topics: tuple[str, ...]) -> None:
        self.topics = topics
        self._waiting: dict[int, dict[str, deque[Pending]]] = {}

    def push(self, partition: int, item: Pending) -> None:
        queues = self._waiting.get(partition)
        if queues is None:
            queues = self._waiting[partition] = {t: deque() for t in self.topics}
        queues[item.topic].append(item)

    def released(self, partition: int, caught_up: Callable[[str, int], bool]) -> Iterator[Pending]:
        """The waiting events of ``partition`` oldest first, taken from it one by one while
        nothing older can still arrive: until an input that is behind has nothing waiting.
        Equal times go in the order of ``topics``. A heap of the inputs' first events: a
        scan of every input for each event cost twice as much (four inputs)."""
        queues = list(self._waiting.get(partition, {}).items())
        heads = []
        for number, (topic, queue) in enumerate(queues):
            if queue:
                heads.append((queue[0].event.occurred_at, number, queue))
            elif not caught_up(topic, partition):
                return
        heapify(heads)
        while heads:
            _, number, queue = heads[0]
            item = queue.popleft()
            if queue:
                heapreplace(heads, (queue[0].event.occurred_at, number, queue))
            else:
                heappop(heads)
            yield item
            if not queue and not caught_up(queues[number][0], partition):
                return

    def earliest(self, partition: int) -> int | None:
        queues = self._waiting.get(partition, {})
        times = [queue[0].event.occurred_at for queue in queues.values() if queue]
        return min(times) if times else None

    def waiting(self, partition: int) -> int:
        return sum(len(queue) for queue in self._waiting.get(partition, {}).values())

    def sizes(self, partition: int) -> dict[str, int]:
        """Messages waiting per topic of ``partition``."""
        return {topic: len(queue) for topic, queue in self._waiting.get(partition, {}).items()}

    def drop(self, partition: int) -> None:
        """Forget a revoked partition; its waiting messages were not committed and will be
        read again."""
        self._waiting.pop(partition, None)

    def first_offset(self, partition: int, topic: str) -> int | None:
        """The offset of the oldest message of ``topic`` still waiting (not yet applied)."""
        queue = self._waiting.get(partition, {}).get(topic)
        return queue[0].offset if queue else None
