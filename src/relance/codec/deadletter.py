"""A refused message as a dead-letter record: the original bytes, and why, in headers.

The value is never re-encoded, so the record can be replayed as it was once the cause is
fixed; the headers say where it came from and what was wrong.

A dead letter must itself be writable, and a refused message may be larger than what a
producer and a broker take by default (1,000,000 and 1,048,588 bytes a record). A value of
up to ``VALUE_KEPT`` bytes is kept whole; a longer one keeps its first ``VALUE_KEPT`` bytes,
with ``relance.truncated`` and ``relance.original_bytes`` saying so (the whole message is
still at its source offset, for the source topic's retention). A key is cut the same way
past ``KEY_KEPT`` bytes, and the detail past ``DETAIL_KEPT``, so key, value and headers stay
under the defaults together.

Both processes refuse a message the same way (``refuse``): counted by topic and reason,
logged with where it was read, and kept as a ``DeadLetter`` for ``Outputs.dead_letter``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from relance.core.timestamps import to_iso
from relance.errors import InvalidEventError
from relance.logs import about

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]

VALUE_KEPT: Final = 900_000
KEY_KEPT: Final = 16 * 1024
DETAIL_KEPT: Final = 1024


def dead_letter(
    raw_key: bytes | None,
    raw_value: bytes | None,
    error: InvalidEventError,
    *,
    topic: str,
    partition: int,
    offset: int,
    now_ms: int,
) -> tuple[bytes | None, bytes | None, Headers]:
    """``(key, value, headers)`` for the dead-letter topic; key and value are unchanged up to
    their limits."""
    detail = error.detail.encode("utf-8", "replace")
    if len(detail) > DETAIL_KEPT:
        detail = detail[:DETAIL_KEPT].decode("utf-8", "ignore").encode() + " …".encode()
    headers: Headers = [
        ("relance.reason", error.reason.encode()),
        ("relance.detail", detail),
        ("relance.source.topic", topic.encode()),
        ("relance.source.partition", str(partition).encode()),
        ("relance.source.offset", str(offset).encode()),
        ("relance.rejected_at", to_iso(now_ms).encode()),
    ]
    truncated = []
    if raw_key is not None and len(raw_key) > KEY_KEPT:
        truncated.append("key")
        headers.append(("relance.original_key_bytes", str(len(raw_key)).encode()))
        raw_key = raw_key[:KEY_KEPT]
    if raw_value is not None and len(raw_value) > VALUE_KEPT:
        truncated.append("value")
        headers.append(("relance.original_bytes", str(len(raw_value)).encode()))
        raw_value = raw_value[:VALUE_KEPT]
    if truncated:
        headers.append(("relance.truncated", ",".join(truncated).encode()))
    return raw_key, raw_value, headers


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A refused message: where it was read, its bytes as they were, and why."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    error: InvalidEventError

    def record(self, now_ms: int) -> tuple[bytes | None, bytes | None, Headers]:
        return dead_letter(
            self.key,
            self.value,
            self.error,
            topic=self.topic,
            partition=self.partition,
            offset=self.offset,
            now_ms=now_ms,
        )


def refuse(
    letter: DeadLetter, rejected: Callable[[str, str], None], contact: str | bytes | None
) -> DeadLetter:
    """Count ``letter`` (``rejected(topic, reason)``) and log it, naming ``contact`` when the
    message has one; the letter, for the dead-letter topic."""
    topic, partition, offset = letter.topic, letter.partition, letter.offset
    rejected(topic, letter.error.reason)
    log.warning(
        "%s[%d]@%d rejected: %s",
        topic,
        partition,
        offset,
        letter.error,
        extra=about(topic, partition, offset, contact),
    )
    return letter
