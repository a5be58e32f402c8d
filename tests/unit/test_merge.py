"""Releasing events of several topics in event-time order."""

from __future__ import annotations

from relance.core.events import PageView
from relance.worker.merge import EventTimeMerge, Pending

TOPICS = ("views", "profiles")


def pending(topic: str, at: int, offset: int = 0) -> Pending:
    return Pending(PageView(f"{topic}{at}", "c", at, "home"), topic, offset)


def test_waits_while_a_lagging_input_has_nothing_waiting() -> None:
    merge = EventTimeMerge(TOPICS)
    merge.push(0, pending("views", 20))
    assert merge.pop_ready(0, lambda topic, p: topic == "views") is None
    item = merge.pop_ready(0, lambda topic, p: True)
    assert item is not None and item.event.occurred_at == 20


def test_releases_oldest_first_across_topics() -> None:
    merge = EventTimeMerge(TOPICS)
    for topic, at in (("views", 20), ("views", 30), ("profiles", 10), ("profiles", 25)):
        merge.push(0, pending(topic, at))
    released = []
    while (item := merge.pop_ready(0, lambda topic, p: False)) is not None:
        released.append(item.event.occurred_at)
        if len(released) == 3:
            break
    # the fourth (30) waits: profiles is empty and behind
    assert released == [10, 20, 25]
    assert merge.pop_ready(0, lambda topic, p: False) is None
    assert merge.earliest(0) == 30 and merge.waiting(0) == 1


def test_partitions_are_separate_and_drop_forgets() -> None:
    merge = EventTimeMerge(TOPICS)
    merge.push(1, pending("views", 5))
    assert merge.pop_ready(0, lambda topic, p: True) is None
    merge.drop(1)
    assert merge.pop_ready(1, lambda topic, p: True) is None and merge.earliest(1) is None
