"""Contact states of one partition, shaped as the mapping the core ``Engine`` reads and writes.

The table holds each state encoded (compact: a few hundred bytes a contact). Writes are
staged and reach the table (and the changelog) only on ``commit``, after the commands they
produced were acknowledged: a crash in between replays the event and decides the same
command id again, which the sender drops; it never loses the command.
Each stored state remembers the offset of the last event applied per input topic, so an
event replayed after a crash is recognised and not applied twice.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, NamedTuple

import msgspec

from relance.core.state import ContactState


class Stored(NamedTuple):
    partition: int
    offsets: tuple[int, ...]
    state: ContactState


_ENCODE = msgspec.msgpack.Encoder().encode
_DECODE = msgspec.msgpack.Decoder(Stored).decode


_PROFILE_ADDED = 2  # first_name, attributes: the profile's fields added last


def encode_stored(stored: Stored) -> bytes:
    state = stored.state
    profile = state.profile
    if profile.first_name is not None or profile.attributes:
        if state.seen:
            return _ENCODE(stored)
        return _ENCODE((stored.partition, stored.offsets, msgspec.structs.astuple(state)[:-1]))
    # Fields a state does not use are written as before they existed, field for field
    # (msgspec's omit_defaults leaves array_like structs whole), so its bytes do not change:
    # the profile without its last fields, the state without ``seen`` while it is empty.
    fields = msgspec.structs.astuple(state)
    short = msgspec.structs.astuple(profile)[:-_PROFILE_ADDED]
    return _ENCODE((stored.partition, stored.offsets,
                    (fields[0], short, *(fields[2:] if state.seen else fields[2:-1]))))


def decode_stored(raw: bytes) -> Stored:
    return _DECODE(raw)


class PartitionStates:
    """One partition's states; ``table`` maps contact id bytes to encoded ``Stored``."""

    def __init__(self, table: MutableMapping[bytes, Any], partition: int, inputs: int) -> None:
        self.table = table
        self.partition = partition
        self.inputs = inputs
        self._read: dict[str, Stored] = {}
        self._staged: dict[str, Stored] = {}
        self.applying: tuple[int, int] | None = None  # (input index, offset) of the event

    def stored(self, key: str) -> Stored | None:
        found = self._staged.get(key) or self._read.get(key)
        if found is None:
            raw = self.table.get(key.encode())
            if raw is not None:
                found = decode_stored(raw)
                self._read[key] = found
        return found

    def already_applied(self, key: str, input_index: int, offset: int) -> bool:
        stored = self.stored(key)
        return stored is not None and stored.offsets[input_index] >= offset

    def get(self, key: str) -> ContactState | None:
        stored = self.stored(key)
        return None if stored is None else stored.state

    def __getitem__(self, key: str) -> ContactState:
        stored = self.stored(key)
        if stored is None:
            raise KeyError(key)
        return stored.state

    def __setitem__(self, key: str, state: ContactState) -> None:
        stored = self.stored(key)
        offsets = stored.offsets if stored is not None else (-1,) * self.inputs
        if self.applying is not None:
            index, offset = self.applying
            offsets = (*offsets[:index], offset, *offsets[index + 1:])
        self._staged[key] = Stored(self.partition, offsets, state)

    def commit(self) -> list[tuple[bytes, bytes]]:
        """Write staged states to the table; the changes are what the changelog must get."""
        changes = [(key.encode(), encode_stored(stored)) for key, stored in self._staged.items()]
        self.table.update(changes)
        self._staged.clear()
        self._read.clear()
        return changes
