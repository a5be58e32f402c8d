"""The event ids a contact had applied lately, to tell a duplicate from a new event.

Site tracking and its Kafka producers deliver at least once, so the same event (the same
``event_id``) may arrive twice. A contact's state remembers the ids of the events applied to
it within ``window`` (event time) of the latest one, at most ``MAX_IDS`` of them; an event
whose id it remembers is a duplicate and is skipped. A duplicate of an event older than that
is not recognised and is applied again.

The memory is one ``bytes`` value, as small as the state it sits in must stay: per id an
8-byte fingerprint (blake2b of the id: stable across processes and runs, unlike ``hash()``,
whose seed differs per process) then the event's time in whole seconds (4 bytes, up to the
year 2106: a window is hours, and milliseconds would cost 2 bytes more an id), entries in
event-time order so the oldest are the first to go.
"""

from __future__ import annotations

import struct
from hashlib import blake2b
from typing import Final

MAX_IDS: Final = 64  # a hard cap whatever the window: a flood of events stays bounded
_MARK: Final = 8
_SECONDS: Final = struct.Struct("<I")
ENTRY: Final = _MARK + _SECONDS.size
_CAP: Final = MAX_IDS * ENTRY
_LATEST: Final = (1 << 32) - 1
_pack = _SECONDS.pack
_unpack = _SECONDS.unpack_from


# Copied for each id: a third cheaper than building one (its keyword arguments are parsed).
_EMPTY: Final = blake2b(digest_size=_MARK)


def fingerprint(event_id: str) -> bytes:
    digest = _EMPTY.copy()
    digest.update(event_id.encode())
    return digest.digest()


def known(memory: bytes, mark: bytes) -> bool:
    """Whether ``memory`` holds ``mark`` (at an entry's start, not across two entries)."""
    found = memory.find(mark)
    while found >= 0:
        if found % ENTRY == 0:
            return True
        found = memory.find(mark, found + 1)
    return False


def remember(memory: bytes, mark: bytes, at_ms: int, window_ms: int) -> bytes:
    """``memory`` with ``mark`` at time ``at_ms``, less the ids that fall out of the cap or
    out of the window: more than ``window_ms`` (in whole seconds) before the latest."""
    at = at_ms // 1000
    if not 0 <= at <= _LATEST:
        at = min(max(at, 0), _LATEST)
    size = len(memory)
    if not size:
        return mark + _pack(at)
    latest = _unpack(memory, size - _SECONDS.size)[0]
    if at >= latest:  # in order: the common case
        memory += mark + _pack(at)
        latest = at
    else:
        place = size - ENTRY
        while place > 0 and _unpack(memory, place - _SECONDS.size)[0] > at:
            place -= ENTRY
        memory = memory[:place] + mark + _pack(at) + memory[place:]
    size += ENTRY
    start = size - _CAP if size > _CAP else 0
    horizon = latest - window_ms // 1000
    while start < size and _unpack(memory, start + _MARK)[0] < horizon:
        start += ENTRY
    return memory[start:] if start else memory


def times(memory: bytes) -> list[int]:
    """The times (seconds) of the remembered ids, oldest first (for tests and reports)."""
    return [_unpack(memory, entry + _MARK)[0] for entry in range(0, len(memory), ENTRY)]
