"""Releasing events of several topics in event-time order."""

from __future__ import annotations

import random

from relance.core.events import PageView
from relance.worker.merge import EventTimeMerge, Pending

TOPICS = ("views", "profiles")


def pending(topic: str, at: int, offset: int = 0) -> Pending:
    return Pending(PageView(f"{topic}{at}", "c", at, "home"), topic, offset)


def test_waits_while_a_lagging_input_has_nothing_waiting() -> None:
    merge = EventTimeMerge(TOPICS)
    merge.push(0, pending("views", 20))
    assert next(merge.released(0, lambda topic, p: topic == "views"), None) is None
    item = next(merge.released(0, lambda topic, p: True), None)
    assert item is not None and item.event.occurred_at == 20


def test_releases_oldest_first_across_topics() -> None:
    merge = EventTimeMerge(TOPICS)
    for topic, at in (("views", 20), ("views", 30), ("profiles", 10), ("profiles", 25)):
        merge.push(0, pending(topic, at))
    released = []
    for item in merge.released(0, lambda topic, p: False):
        released.append(item.event.occurred_at)
    # the fourth (30) waits: profiles is empty and behind
    assert released == [10, 20, 25]
    assert next(merge.released(0, lambda topic, p: False), None) is None
    assert merge.earliest(0) == 30 and merge.waiting(0) == 1


def test_partitions_are_separate_and_drop_forgets() -> None:
    merge = EventTimeMerge(TOPICS)
    merge.push(1, pending("views", 5))
    assert next(merge.released(0, lambda topic, p: True), None) is None
    merge.drop(1)
    assert next(merge.released(1, lambda topic, p: True), None) is None
    assert merge.earliest(1) is None


def test_equal_times_go_in_the_order_of_the_topics() -> None:
    merge = EventTimeMerge(TOPICS)
    for topic, offset in (("profiles", 1), ("views", 2), ("profiles", 3), ("views", 4)):
        merge.push(0, pending(topic, 10, offset))
    released = [(i.topic, i.offset) for i in merge.released(0, lambda topic, p: True)]
    assert released == [("views", 2), ("views", 4), ("profiles", 1), ("profiles", 3)]


def _scanned(queues: dict[str, list[Pending]], caught_up: set[str]) -> list[Pending]:
    """What the merge must release, found the slow way: each time, a scan of every input."""
    out = []
    while True:
        oldest = None
        for topic, queue in queues.items():
            if not queue:
                if topic not in caught_up:
                    return out
            elif oldest is None or queue[0].event.occurred_at < oldest[0].event.occurred_at:
                oldest = queue
        if oldest is None:
            return out
        out.append(oldest.pop(0))


def test_releases_what_a_scan_of_every_input_would_and_stops_where_it_would() -> None:
    topics = ("views", "profiles", "carts", "orders")
    rng = random.Random(7)
    for _ in range(300):
        merge = EventTimeMerge(topics)
        queues: dict[str, list[Pending]] = {t: [] for t in topics}
        for offset in range(rng.randrange(0, 40)):
            topic = rng.choice(topics)
            at = (queues[topic][-1].event.occurred_at if queues[topic] else 0) + rng.randrange(3)
            item = pending(topic, at, offset)
            queues[topic].append(item)
            merge.push(0, item)
        caught_up = {t for t in topics if rng.random() < 0.6}
        expected = _scanned(queues, caught_up)
        assert list(merge.released(0, lambda topic, p, up=caught_up: topic in up)) == expected
        assert merge.waiting(0) == sum(len(q) for q in queues.values())
