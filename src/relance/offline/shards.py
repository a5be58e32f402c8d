"""Splitting a replay across processes: which shard owns each line, and the time it carries.

Each line's contact, time and type are read once, by all processes in parallel over byte
ranges of the file. Every shard then replays the whole file: it decodes and decides only
its own contacts' lines, and moves its clock with the others' times without reading them.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from relance.codec.json import Envelope, envelope
from relance.core.scenarios import InputRules, InputSource
from relance.errors import InvalidEventError
from relance.offline.eventfile import read_lines
from relance.tracking.sources import adapter_for

# No readable contact and time, or a catalog record: every shard reads it, shard 0 reports it.
NO_OWNER = 255
# Type codes of the index; 0 is any other type (or none), which the decoder reads itself.
TYPES: tuple[str | None, ...] = (None, "page_view", "cart", "order", "contact", "engagement")
_CODES: dict[str | None, int] = {name: code for code, name in enumerate(TYPES)}


def shard_of(contact_id: str, shards: int) -> int:
    return zlib.crc32(contact_id.encode()) % shards


@dataclass(frozen=True)
class LineIndex:
    """Per line of a file, in order: its owner shard (or ``NO_OWNER``), its time (0 when it
    has no owner) and its type code in ``TYPES``.

    Times are packed 64-bit integers, ten times cheaper to hand between processes than a
    list; a time out of that range (JSON allows it) keeps them a list."""

    owners: bytes
    times: Sequence[int]
    types: bytes

    @classmethod
    def join(cls, parts: list[LineIndex]) -> LineIndex:
        return cls(
            b"".join(p.owners for p in parts),
            _packed([p.times for p in parts]),
            b"".join(p.types for p in parts),
        )


def _packed(parts: list[Sequence[int]]) -> Sequence[int]:
    """The times of ``parts`` one after the other, packed unless one does not fit."""
    packed = array("q")
    try:
        for part in parts:
            packed.extend(part)
    except OverflowError:
        return [time for part in parts for time in part]
    return packed


def index_range(
    path: str,
    start: int,
    end: int | None,
    shards: int,
    tracking: InputSource | None = None,
    rules: InputRules | None = None,
) -> LineIndex:
    """Read the contact, time and type of every line in ``[start, end)``; with
    ``tracking``, of the events each line of that source maps to (``rules``: the file's)."""
    owners, times, types = bytearray(), [], bytearray()
    shard_by_contact: dict[str, int] = {}
    read = envelope if tracking is None else _mapped_envelope(tracking, rules or InputRules())
    for line in read_lines(path, start, end):
        found = read(line)
        if found is None or found.type == "product":  # a catalog record is every shard's
            owners.append(NO_OWNER)
            times.append(0)
            types.append(0)
            continue
        owner = shard_by_contact.get(found.contact_id)
        if owner is None:
            owner = shard_by_contact[found.contact_id] = shard_of(found.contact_id, shards)
        owners.append(owner)
        times.append(found.occurred_at)
        types.append(_CODES.get(found.type, 0))
    return LineIndex(bytes(owners), _packed([times]), bytes(types))


def _mapped_envelope(
    tracking: InputSource, rules: InputRules
) -> Callable[[bytes], Envelope | None]:
    """The envelope of a source line: the contact of its events, the latest of their times,
    ``order`` if one is an order (what every shard learns from). None for a line of no
    contact's events (skipped or refused): shard 0 reports it."""
    adapter = adapter_for(tracking, rules)

    def read(line: bytes) -> Envelope | None:
        try:
            events = [e for m in adapter.read(line) if not m.skipped for e in m.events]
        except InvalidEventError:
            return None
        if not events:
            return None
        kind = "order" if any(e.type == "order" for e in events) else None
        return Envelope(events[0].contact_id, max(e.occurred_at for e in events), kind)

    return read
