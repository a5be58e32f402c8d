"""The worker's per-message path, independent of how messages arrive.

Raw bytes in; decoded here so a poison message goes to the dead-letter topic with its reason
instead of being dropped by the framework. So does an event dated more than the clock skew
allowed ahead of the wall clock: applied, it would move its partition's event time there
and fire every deadline at once. Each partition has its own ``Engine`` (the same
core ``relance simulate`` runs) over the contact states of that partition. Nothing here
talks to Kafka: what a batch produced waits in an ``Outbox`` for the consume loop to send,
and the states it changed in each partition's ``PartitionTransaction`` for the loop to
commit once that was acknowledged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from relance.codec import catalog as catalog_codec
from relance.codec.deadletter import DeadLetter, refuse
from relance.codec.limits import too_far_ahead
from relance.core.catalog import Catalog
from relance.core.commands import Outcome, SendCommand
from relance.core.engine import Engine
from relance.core.events import CatalogUpdate, Event, EventType, Order
from relance.core.scenarios import Config
from relance.errors import InvalidEventError
from relance.logs import about
from relance.worker.merge import EventTimeMerge, Pending
from relance.worker.outbox import Outbox
from relance.worker.store import Stored, index_decoder
from relance.worker.transaction import ChangelogRecords, PartitionTransaction
from relance.worker.transaction import save as save_states
from relance.worker.watermark import Watermarks

log = logging.getLogger(__name__)

CaughtUp = Callable[[str, int], bool]
Decode = Callable[[bytes, EventType], Event]


class Observer(Protocol):
    """What the pipeline reports (metrics); labels stay bounded."""

    def consumed(self, topic: str, count: int) -> None: ...
    def applied(self, count: int = 1) -> None: ...
    def duplicate(self, topic: str, count: int = 1) -> None: ...
    def rejected(self, topic: str, reason: str) -> None: ...
    def decided(self, outcome: Outcome, wall_now_ms: int) -> None: ...
    def pending(self, deadlines: int) -> None: ...


@dataclass(frozen=True, slots=True)
class Inputs:
    """Input topic names and the event type each carries, in a fixed order."""

    topics: tuple[tuple[str, EventType], ...]

    def index(self, topic: str) -> int:
        for position, (name, _) in enumerate(self.topics):
            if name == topic:
                return position
        raise KeyError(topic)

    def event_type(self, topic: str) -> EventType:
        return self.topics[self.index(topic)][1]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.topics)


class Pipeline:
    def __init__(
        self,
        config: Config,
        inputs: Inputs,
        decode: Decode,
        observer: Observer,
        clock: Callable[[], int],
        decode_catalog: Callable[[bytes], CatalogUpdate] | None = None,
        *,
        max_skew_ms: int = 3_600_000,
    ) -> None:
        """``decode`` and ``decode_catalog`` (by default the catalog codec) keep the input
        limits of ``config``; ``max_skew_ms`` is how far ahead of ``clock`` (the wall clock)
        an event's time may be."""
        self.config = config
        self.decode_catalog = decode_catalog or (
            lambda raw: catalog_codec.decode(raw, rules=config.inputs)
        )
        self.max_skew_ms = max_skew_ms
        # The latest event time accepted, as of the last look at the clock: looked at again
        # only for an event beyond it, so the check costs one comparison an event.
        self._horizon = -1
        self.inputs = inputs
        self.decode = decode
        self.observer = observer
        self.clock = clock
        self.engines: dict[int, Engine] = {}
        self.tables: dict[int, dict[bytes, bytes | Stored]] = {}
        # Per partition, the keys committed since the changelog was last written.
        self.unsaved: dict[int, dict[bytes, None]] = {}
        # Per partition, the round in progress; the engine's states are its transaction.
        self.transactions: dict[int, PartitionTransaction] = {}
        self.watermarks = Watermarks(inputs.names)
        self.merge = EventTimeMerge(inputs.names)
        self.received: dict[tuple[str, int], int] = {}
        self.outbox = Outbox()
        self.catalog = Catalog()  # one for every partition: the catalog is not partitioned
        self._index = {name: position for position, (name, _) in enumerate(inputs.topics)}
        self._types = dict(inputs.topics)

    def assign(self, partition: int, table: dict[bytes, bytes]) -> None:
        """Take a partition with its recovered states, and index their deadlines."""
        engine = self.engines[partition] = Engine(self.config, catalog=self.catalog)
        self.tables[partition] = table  # type: ignore[assignment]  # bytes only, as recovered
        self.unsaved[partition] = {}
        self._begin(partition)
        index = index_decoder(engine.indexed)
        for key, raw in table.items():
            engine.schedule(key.decode(), index(raw))
        self.observer.pending(self.pending())

    def _begin(self, partition: int) -> PartitionTransaction:
        """Open the partition's next round: its engine reads and writes through it."""
        transaction = PartitionTransaction(
            self.tables[partition], partition, len(self.inputs.topics)
        )
        self.engines[partition].states = transaction
        self.transactions[partition] = transaction
        return transaction

    def revoke(self, partition: int) -> None:
        self.engines.pop(partition, None)
        self.tables.pop(partition, None)
        self.unsaved.pop(partition, None)  # the loop saved them before a revoke
        self.transactions.pop(partition, None)  # staged, never committed: dropped
        self.watermarks.forget(partition)
        self.merge.drop(partition)
        for topic in self.inputs.names:
            self.received.pop((topic, partition), None)
        self.observer.pending(self.pending())

    def pending(self) -> int:
        return sum(len(engine.due) for engine in self.engines.values())

    def handle(
        self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None
    ) -> None:
        """One input message: decode it (or dead-letter it) and queue it in event-time
        order; ``drain`` applies it once nothing older can still arrive."""
        self.received[topic, partition] = offset
        try:
            if value is None:
                raise InvalidEventError("missing_field", "the message has no value")
            event = self.decode(value, self._types[topic])
            if event.occurred_at > self._horizon:
                self._ahead(event.occurred_at)
        except InvalidEventError as error:
            self._reject(DeadLetter(topic, partition, offset, key, value, error), key)
        else:
            self.watermarks.observe(topic, partition, event.occurred_at)
            self.merge.push(partition, Pending(event, topic, offset))

    def catalog_update(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        *,
        live: bool = True,
    ) -> None:
        """A catalog message: the catalog takes it, and (``live``) contacts who watched the
        product while sold out get back in stock. Reading the catalog up at start is not
        live: those updates happened before and were answered then."""
        try:
            if value is None:
                raise InvalidEventError("missing_field", "the message has no value")
            update = self.decode_catalog(value)
            if update.occurred_at > self._horizon:
                self._ahead(update.occurred_at)
        except InvalidEventError as error:
            # Keyed by product id: no contact to name.
            self._reject(DeadLetter(topic, partition, offset, key, value, error), None)
            return
        if self.catalog.update(update) and live:
            for engine in self.engines.values():
                engine.restock(update)

    def _ahead(self, occurred_at: int) -> None:
        """Refuse a time more than the allowed skew ahead of the wall clock."""
        self._horizon = self.clock() + self.max_skew_ms
        if occurred_at > self._horizon:
            raise too_far_ahead(occurred_at, self._horizon, self.max_skew_ms, "the wall clock")

    def _reject(self, letter: DeadLetter, contact: bytes | None) -> None:
        self.outbox.dead_letters.append(refuse(letter, self.observer.rejected, contact))

    def basket(self, value: bytes | None) -> None:
        """An order from any partition, for related products. One that cannot be decoded is
        skipped here: the partition's owner dead-letters it."""
        if value is None:
            return
        try:
            order = self.decode(value, "order")
            if order.occurred_at > self._horizon:
                self._ahead(order.occurred_at)
        except InvalidEventError:
            return
        if isinstance(order, Order):
            self.catalog.basket(order, related=self.config.relates)

    def drain(self, partition: int, caught_up: CaughtUp) -> None:
        # Nothing is read during a drain: whether an input is caught up stays as it was, so
        # it is asked once per input (the merge asks for each event, of each empty input).
        known: dict[str, bool] = {}

        def read_up(topic: str, number: int) -> bool:
            found = known.get(topic)
            if found is None:
                found = known[topic] = caught_up(topic, number)
            return found

        applied = 0
        for item in self.merge.released(partition, read_up):
            applied += self._apply(partition, item)
        if applied:  # counted once per batch: a counter's increment takes a lock
            self.observer.applied(applied)

    def _apply(self, partition: int, item: Pending) -> bool:
        """Apply one event; whether it was (neither already applied nor a duplicate)."""
        event, topic, offset = item.event, item.topic, item.offset
        applied = self.transactions[partition].apply(
            self.engines[partition], event, self._index[topic], offset
        )
        if applied is None:
            log.info(
                "%s[%d]@%d contact %s: already applied, skipped",
                topic,
                partition,
                offset,
                event.contact_id,
                extra=about(topic, partition, offset, event.contact_id),
            )
            return False
        if applied.outcomes:
            self._emit(applied.outcomes)
        if applied.duplicate:  # normal with at-least-once producers: counted, not logged
            self.observer.duplicate(topic)
            return False
        return True

    def fire(self, partition: int, caught_up: CaughtUp, wall_now: int) -> None:
        """Fire the deadlines of ``partition`` its event time has reached, never past an
        event still waiting."""
        engine = self.engines.get(partition)
        moment = self.watermarks.time(partition, caught_up=caught_up, wall_now=wall_now)
        if engine is None or moment is None:
            return
        waiting = self.merge.earliest(partition)
        limit = moment if waiting is None else min(moment, waiting - 1)
        if engine.due.any_due(limit):
            self._emit(engine.advance(limit))

    def _emit(self, outcomes: Iterable[Outcome]) -> None:
        now = self.clock()
        for outcome in outcomes:
            if isinstance(outcome, SendCommand):
                self.outbox.commands.append(outcome)
            self.outbox.decisions.append(outcome)
            self.observer.decided(outcome, now)

    def take_outbox(self) -> Outbox:
        outbox, self.outbox = self.outbox, Outbox()
        return outbox

    def commit_states(self, *, save: bool = True) -> dict[int, ChangelogRecords]:
        """Commit every partition's round (once its outputs were acknowledged) and open the
        next. With ``save``, per partition, the records the changelog must get: every state
        committed since the last save, encoded once however many rounds wrote it."""
        changes = {}
        for partition, transaction in list(self.transactions.items()):
            unsaved = self.unsaved[partition]
            unsaved.update(dict.fromkeys(transaction.commit()))
            self._begin(partition)
            if save and unsaved:
                changes[partition] = save_states(self.tables[partition], unsaved)
                unsaved.clear()
        self.observer.pending(self.pending())
        return changes

    def positions(self, assigned: Iterable[tuple[str, int]]) -> Mapping[tuple[str, int], int]:
        """Per input topic-partition, the offset to commit: the oldest message still waiting,
        or the one after the last read."""
        found = {}
        for topic, partition in assigned:
            first = self.merge.first_offset(partition, topic)
            if first is not None:
                found[topic, partition] = first
            else:
                last = self.received.get((topic, partition))
                if last is not None:
                    found[topic, partition] = last + 1
        return found
