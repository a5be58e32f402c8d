"""The cap on the event-time merge: which inputs to pause, when to resume them."""

from __future__ import annotations

from collections import deque

import pytest

from relance.core.events import PageView
from relance.worker.backpressure import Backpressure
from relance.worker.merge import EventTimeMerge, Pending


def test_below_the_cap_nothing_is_paused() -> None:
    cap = Backpressure(10)
    assert cap.adjust(0, {"views": 9, "profiles": 0}) == ([], [])
    assert cap.paused == set()


def test_at_the_cap_the_inputs_with_messages_waiting_are_paused_not_the_lagging_one() -> None:
    cap = Backpressure(10)
    pause, resume = cap.adjust(0, {"views": 7, "carts": 3, "profiles": 0})
    assert sorted(pause) == [("carts", 0), ("views", 0)] and resume == []
    assert cap.adjust(0, {"views": 8, "carts": 3, "profiles": 0}) == ([], [])  # already paused


def test_they_resume_once_fewer_than_the_low_mark_wait() -> None:
    cap = Backpressure(10)  # low mark: 5
    cap.adjust(0, {"views": 6, "carts": 4, "profiles": 0})
    assert cap.adjust(0, {"views": 3, "carts": 2, "profiles": 1}) == ([], [])  # 6 wait
    pause, resume = cap.adjust(0, {"views": 3, "carts": 1, "profiles": 0})
    assert pause == [] and sorted(resume) == [("carts", 0), ("views", 0)]
    assert cap.paused == set()


def test_a_paused_input_whose_messages_were_all_applied_resumes_at_once() -> None:
    # The merge may now wait for that very input: left paused, the partition would stop.
    cap = Backpressure(10)
    cap.adjust(0, {"views": 6, "carts": 4, "profiles": 0})
    pause, resume = cap.adjust(0, {"views": 0, "carts": 4, "profiles": 9})
    assert resume == [("views", 0)]
    assert pause == [("profiles", 0)]  # over the cap, and it has messages waiting
    assert cap.paused == {("carts", 0), ("profiles", 0)}


def test_partitions_are_capped_apart_and_forget_hands_back_the_paused() -> None:
    cap = Backpressure(4, low=2)
    cap.adjust(0, {"views": 4, "profiles": 0})
    cap.adjust(1, {"views": 1, "profiles": 0})
    assert cap.paused == {("views", 0)}
    assert cap.forget({("views", 0), ("profiles", 0), ("views", 1)}) == [("views", 0)]
    assert cap.paused == set()


@pytest.mark.parametrize(("high", "low"), [(0, None), (10, 0), (10, 11)])
def test_marks_out_of_range_are_refused(high: int, low: int | None) -> None:
    with pytest.raises(ValueError):
        Backpressure(high, low)


def test_a_lagging_input_keeps_the_buffer_bounded_and_every_event_released_in_order() -> None:
    # Two inputs of one partition: "views" arrives in large reads, "profiles" (whose events
    # are spread over the same times) in small ones. Each round reads what is not paused,
    # releases what the merge allows, then adjusts, as the worker does once per batch.
    views = deque(Pending(PageView(f"v{t}", "c", t, "home"), "views", t) for t in range(0, 3000))
    profiles = deque(
        Pending(PageView(f"p{t}", "c", t, "home"), "profiles", t // 10) for t in range(5, 3000, 10)
    )
    sources = {"views": (views, 200), "profiles": (profiles, 3)}
    merge, cap = EventTimeMerge(("views", "profiles")), Backpressure(100)
    released: list[int] = []
    most = 0
    for _ in range(10_000):
        for topic, (source, per_read) in sources.items():
            if (topic, 0) not in cap.paused:
                for _ in range(min(per_read, len(source))):
                    merge.push(0, source.popleft())
        most = max(most, merge.waiting(0))

        def caught_up(topic: str, partition: int) -> bool:
            return not sources[topic][0]

        for item in merge.released(0, caught_up):
            released.append(item.event.occurred_at)
        cap.adjust(0, merge.sizes(0))
        if not views and not profiles and not merge.waiting(0):
            break
    assert len(released) == 3000 + 300 and released == sorted(released)
    assert most <= 100 + 200 + 3  # the cap, plus one read of each input
