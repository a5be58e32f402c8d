"""The due-index yields each key once, at its latest deadline, earliest first."""

from __future__ import annotations

import random

from relance.core.due import DueIndex


def test_moved_later_keys_come_due_at_their_live_deadline() -> None:
    index = DueIndex()
    index.schedule("a", 10)
    index.schedule("b", 15)
    index.schedule("a", 20)  # moved later: the entry at 10 stands in for it
    assert list(index.pop_due(12)) == []
    assert list(index.pop_due(20)) == ["b", "a"]
    assert len(index) == 0 and list(index.pop_due(100)) == []


def test_moved_earlier_and_unscheduled() -> None:
    index = DueIndex()
    index.schedule("a", 50)
    index.schedule("a", 5)
    index.schedule("b", 7)
    index.schedule("b", None)
    assert index.next_due() == 5
    assert list(index.pop_due(60)) == ["a"]
    assert "b" not in index and index.next_due() is None


def test_against_a_plain_dict_under_random_schedules() -> None:
    rng = random.Random(3)
    index, truth = DueIndex(), {}
    now = 0
    for _ in range(20_000):
        key = f"k{rng.randrange(200)}"
        due = None if rng.random() < 0.1 else now + rng.randrange(1, 500)
        index.schedule(key, due)
        if due is None:
            truth.pop(key, None)
        else:
            truth[key] = due
        if rng.random() < 0.05:
            now += rng.randrange(1, 300)
            expected = sorted((d, k) for k, d in truth.items() if d <= now)
            got = list(index.pop_due(now))
            assert sorted(got) == sorted(k for _, k in expected)
            assert [truth[k] for k in got] == sorted(truth[k] for k in got)
            for key_done in got:
                del truth[key_done]
        assert len(index) == len(truth)
