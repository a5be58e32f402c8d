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
