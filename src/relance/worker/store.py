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
# The state's fields added last (seen, reach), each left out while it and those after it
# are at their defaults.
_STATE_ADDED = 2


def encode_stored(stored: Stored) -> bytes:
    state = stored.state
    profile = state.profile
    if state.reach is not None and (profile.first_name is not None or profile.attributes):
        return _ENCODE(stored)
    # Fields a state does not use are written as before they existed, field for field
    # (msgspec's omit_defaults leaves array_like structs whole), so its bytes do not change:
    # the profile without its last fields, the state without ``seen`` and ``reach`` while
    # they are empty.
    fields = msgspec.structs.astuple(state)
    kept = len(fields) - _STATE_ADDED
    if state.reach is not None:
        kept = len(fields)
    elif state.seen:
        kept += 1
    if profile.first_name is not None or profile.attributes:
        return _ENCODE((stored.partition, stored.offsets, fields[:kept]))
    short = msgspec.structs.astuple(profile)[:-_PROFILE_ADDED]
    return _ENCODE((stored.partition, stored.offsets, (fields[0], short, *fields[2:kept])))


def decode_stored(raw: bytes) -> Stored:
    return _DECODE(raw)
