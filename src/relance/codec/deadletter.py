"""A refused message as a dead-letter record: the original bytes, and why, in headers.

The value is never re-encoded, so the record can be replayed as it was once the cause is
fixed; the headers say where it came from and what was wrong.
"""

from __future__ import annotations

from relance.errors import InvalidEventError
from relance.timestamps import to_iso

Headers = list[tuple[str, bytes]]


def dead_letter(raw_key: bytes | None, raw_value: bytes | None, error: InvalidEventError, *,
                topic: str, partition: int, offset: int,
                now_ms: int) -> tuple[bytes | None, bytes | None, Headers]:
    """``(key, value, headers)`` for the dead-letter topic; key and value are unchanged."""
    headers: Headers = [
        ("relance.reason", error.reason.encode()),
        ("relance.detail", error.detail.encode("utf-8", "replace")),
        ("relance.source.topic", topic.encode()),
        ("relance.source.partition", str(partition).encode()),
        ("relance.source.offset", str(offset).encode()),
        ("relance.rejected_at", to_iso(now_ms).encode()),
    ]
    return raw_key, raw_value, headers
