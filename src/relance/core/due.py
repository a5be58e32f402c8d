"""The due-index: which contacts have a deadline, earliest first, without scanning them all."""

from __future__ import annotations

import heapq
from collections.abc import Iterator


class DueIndex:
    """A heap of ``(due_at, key)`` kept lazily.

    Most reschedules move a deadline later (every product view does), so a key keeps the
    heap entry it has while that entry is not later than its deadline; when the entry comes
    up early, it is pushed again at the live deadline. ``_due`` holds each key's live
    deadline and ``_entry`` the heap entry that stands for it; other entries are stale and
    skipped. The heap is rebuilt when stale entries outnumber live ones.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []
        self._due: dict[str, int] = {}
        self._entry: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._due)

    def __contains__(self, key: object) -> bool:
        return key in self._due

    def get(self, key: str) -> int | None:
        return self._due.get(key)

    def schedule(self, key: str, due_at: int | None) -> None:
        if due_at is None:
            self._due.pop(key, None)
            return
        self._due[key] = due_at
        entry = self._entry.get(key)
        if entry is None or entry > due_at:
            self._entry[key] = due_at
            heapq.heappush(self._heap, (due_at, key))
            if len(self._heap) > 2 * len(self._entry) + 1024:
                self._heap = [(due, k) for k, due in self._entry.items()]
                heapq.heapify(self._heap)

    def any_due(self, now: int) -> bool:
        """Cheap pre-check: may anything be due? (A stale or early entry can say yes.)"""
        return bool(self._heap) and self._heap[0][0] <= now

    def next_due(self) -> int | None:
        while self._heap:
            due_at, key = self._heap[0]
            if self._entry.get(key) == due_at and self._due.get(key) == due_at:
                return due_at
            self._settle(heapq.heappop(self._heap))
        return None

    def pop_due(self, now: int) -> Iterator[str]:
        """Yield and unschedule every key due at or before ``now``, earliest first."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            popped = heapq.heappop(heap)
            if self._settle(popped):
                key = popped[1]
                del self._due[key], self._entry[key]
                yield key

    def _settle(self, popped: tuple[int, str]) -> bool:
        """Whether a popped entry is its key's live deadline; re-push it if that moved on."""
        due_at, key = popped
        if self._entry.get(key) != due_at:
            return False
        live = self._due.get(key)
        if live == due_at:
            return True
        if live is None:
            del self._entry[key]
        else:
            self._entry[key] = live
            heapq.heappush(self._heap, (live, key))
        return False
