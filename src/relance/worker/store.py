"""A contact state as the worker stores it: in its partition's table and changelog.

The table holds each state encoded (compact: a few hundred bytes a contact), with its
partition and, per input topic, the offset of the last event applied to it, so that an event
replayed after a crash is recognised and not applied twice. Writes go through a
``transaction.PartitionTransaction``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, get_type_hints

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


class _Indexed(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """What indexing a restored state reads of it: the fields named, the others skipped."""

    next_due = ContactState.next_due  # over ``journeys``, as the state's own


_INDEX_DECODERS: dict[tuple[str, ...], Callable[[bytes], Any]] = {}


def index_decoder(fields: Iterable[str]) -> Callable[[bytes], Any]:
    """Decode of a stored state only ``fields`` (and ``journeys``, for ``next_due``), the
    others left as raw bytes: restoring a partition indexes every state it holds (1M in a
    few seconds), and a full decode costs three times this. A state is decoded whole when
    an event or deadline first touches it."""
    wanted = {"journeys", *fields}
    key = tuple(sorted(wanted))
    found = _INDEX_DECODERS.get(key)
    if found is None:
        hints = get_type_hints(ContactState)
        declared = msgspec.structs.fields(ContactState)
        last = max(n for n, field in enumerate(declared) if field.name in wanted)
        view = msgspec.defstruct(
            "StateIndex",
            [
                (f.name, hints[f.name], f.default)
                if f.name in wanted
                else (f.name, msgspec.Raw, None)
                for f in declared[: last + 1]
            ],
            bases=(_Indexed,),
            frozen=True,
            array_like=True,
            gc=False,
        )
        stored = msgspec.defstruct(
            "StoredIndex",
            [("partition", msgspec.Raw), ("offsets", msgspec.Raw), ("state", view)],
            array_like=True,
            gc=False,
        )
        decode: Callable[[bytes], Any] = msgspec.msgpack.Decoder(stored).decode
        found = _INDEX_DECODERS[key] = lambda raw: decode(raw).state
    return found
