"""One partition's unit of work: the contact states a round changed, with the offsets of the
events that changed them, until the loop commits them.

The pipeline opens one per assigned partition (``Pipeline.transactions``) and its engine
reads and writes contact states through it: a state is read from the partition's table once,
and a state written is only staged here. ``apply`` takes one event from its input topic and
offset, so a state it writes carries that offset (a replayed event is then recognised and
not applied twice); a state written without an event (a deadline, a restock) keeps the
offsets it had. The loop calls ``commit`` after the round's commands and dead letters were
acknowledged: the staged states go into the table, not yet encoded (``Stored``), and their
keys come back; ``save`` encodes the states committed since the last save, puts the bytes
in the table in their place and returns the records the changelog must get. The loop saves
once per commit interval, so a contact touched in several rounds of it is encoded and
written to the changelog once, and read back without decoding in between. A crash before
that replays from the last commit and decides the same command ids, which the sender drops;
a transaction dropped (partition revoked, loop failed) leaves the table as it was. Like
quix-streams' ``PartitionTransaction``: stage, read your own writes, then commit once, here
after the outputs rather than before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from relance.core.engine import Applied, Engine
from relance.core.events import Event
from relance.core.state import ContactState
from relance.worker.store import Stored, decode_stored, encode_stored

ChangelogRecords = list[tuple[bytes, bytes]]


class PartitionTransaction:
    """The open round of one partition over ``table`` (contact id bytes to encoded
    ``Stored``), with ``inputs`` input topics; ``Engine``'s ``States``."""

    def __init__(self, table: MutableMapping[bytes, Any], partition: int, inputs: int) -> None:
        """``table`` values are encoded ``Stored`` (as recovered, or saved) or ``Stored``
        (committed, not yet saved)."""
        self.table = table
        self.partition = partition
        self.committed = False
        self._none = (-1,) * inputs
        self._read: dict[str, Stored] = {}
        self._states: dict[str, ContactState] = {}  # staged
        self._offsets: dict[str, tuple[int, ...]] = {}  # of staged states an event wrote

    @property
    def staged(self) -> Mapping[str, ContactState]:
        """The states written in this round, not yet in the table."""
        return self._states

    def _load(self, key: str) -> Stored | None:
        found = self._read.get(key)
        if found is None:
            raw = self.table.get(key.encode())
            if raw is not None:
                found = self._read[key] = decode_stored(raw) if type(raw) is bytes else raw
        return found

    def offsets(self, key: str) -> tuple[int, ...] | None:
        """Per input, the offset of the last event applied to ``key``'s state."""
        offsets = self._offsets.get(key)
        if offsets is None:
            stored = self._load(key)
            return None if stored is None else stored.offsets
        return offsets

    def get(self, key: str) -> ContactState | None:
        state = self._states.get(key)
        if state is None:
            stored = self._load(key)
            return None if stored is None else stored.state
        return state

    def __getitem__(self, key: str) -> ContactState:
        state = self.get(key)
        if state is None:
            raise KeyError(key)
        return state

    def __setitem__(self, key: str, state: ContactState) -> None:
        self._states[key] = state

    def apply(self, engine: Engine, event: Event, input_index: int, offset: int) -> Applied | None:
        """``event``, read at ``offset`` of input ``input_index``, through ``engine`` (whose
        states this is); ``None`` when its contact's state already holds that offset."""
        if self.committed:
            raise RuntimeError(f"partition {self.partition}: the transaction is committed")
        key = event.contact_id
        offsets = self.offsets(key)
        if offsets is not None and offsets[input_index] >= offset:
            return None
        before = self._states.get(key)
        applied = engine.apply(event)
        if self._states.get(key) is not before:  # the engine wrote the state: it holds this
            held = self._none if offsets is None else offsets
            self._offsets[key] = (*held[:input_index], offset, *held[input_index + 1 :])
        return applied

    def commit(self) -> list[bytes]:
        """Write the staged states to the table (unencoded: see ``save``); their keys."""
        if self.committed:
            raise RuntimeError(f"partition {self.partition}: the transaction is committed")
        self.committed = True
        changes = {}
        for key, state in self._states.items():
            offsets = self.offsets(key)
            changes[key.encode()] = Stored(
                self.partition, self._none if offsets is None else offsets, state
            )
        self.table.update(changes)
        return list(changes)


def save(table: MutableMapping[bytes, Any], keys: Iterable[bytes]) -> ChangelogRecords:
    """Encode the committed states of ``keys`` in ``table``, in place; the records the
    changelog must get."""
    records = []
    for key in keys:
        raw = encode_stored(table[key])
        table[key] = raw
        records.append((key, raw))
    return records
