"""A contact state as the worker stores it: in its partition's table and changelog.

The table holds each state encoded (compact: a few hundred bytes a contact), with its
partition and, per input topic, the offset of the last event applied to it, so that an event
replayed after a crash is recognised and not applied twice. Writes go through a
``transaction.PartitionTransaction``.
"""

from __future__ import annotations

from typing import NamedTuple

import msgspec

from relance.core.state import ContactState


class Stored(NamedTuple):
    partition: int
    offsets: tuple[int, ...]
    state: ContactState


_ENCODE = msgspec.msgpack.Encoder().encode
_DECODE = msgspec.msgpack.Decoder(Stored).decode


def encode_stored(stored: Stored) -> bytes:
    state = stored.state
    if state.seen:
        return _ENCODE(stored)
    # Without remembered event ids the state is written as before it had them, field for
    # field (msgspec's omit_defaults leaves array_like structs whole): its bytes do not change.
    return _ENCODE((stored.partition, stored.offsets, msgspec.structs.astuple(state)[:-1]))


def decode_stored(raw: bytes) -> Stored:
    return _DECODE(raw)
