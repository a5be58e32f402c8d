"""The due-index: which contacts have a deadline, earliest first, without scanning them all."""

from __future__ import annotations

import heapq
from collections.abc import Iterator


class DueIndex:
    """A heap of ``(due_at, key)`` with lazy deletion; ``_due`` holds each key's live entry.

    Rescheduling pushes a new entry and leaves the old one to be skipped when popped; the heap
    is rebuilt when stale entries outnumber live ones, so memory stays proportional to keys.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []
        self._due: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._due)

    def __contains__(self, key: object) -> bool:
        return key in self._due

    def get(self, key: str) -> int | None:
        return self._due.get(key)

    def schedule(self, key: str, due_at: int | None) -> None:
        if self._due.get(key) == due_at:
            return
        if due_at is None:
            del self._due[key]
            return
        self._due[key] = due_at
        heapq.heappush(self._heap, (due_at, key))
        if len(self._heap) > 2 * len(self._due) + 1024:
            self._heap = [(due, k) for k, due in self._due.items()]
            heapq.heapify(self._heap)

    def next_due(self) -> int | None:
        heap = self._heap
        while heap and self._due.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def any_due(self, now: int) -> bool:
        """Cheap pre-check: may anything be due? (A stale entry can make it say yes.)"""
        return bool(self._heap) and self._heap[0][0] <= now

    def pop_due(self, now: int) -> Iterator[str]:
        """Yield and unschedule every key due at or before ``now``, earliest first."""
        heap, live = self._heap, self._due
        while heap and heap[0][0] <= now:
            due_at, key = heapq.heappop(heap)
            if live.get(key) == due_at:
                del live[key]
                yield key
