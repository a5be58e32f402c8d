"""The worker's per-message path, independent of how messages arrive.

Raw bytes in; decoded here so a poison message goes to the dead-letter topic with its reason
instead of being dropped by the framework. Each partition has its own ``Engine`` (the same
core ``relance simulate`` runs) over the contact states of that partition.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

from relance.commands import Outcome, SendCommand
from relance.engine import Engine
from relance.errors import InvalidEventError
from relance.events import Event, EventType
from relance.runtime.merge import EventTimeMerge, Pending
from relance.runtime.store import PartitionStates, decode_stored
from relance.scenarios import Config
from relance.watermark import Watermarks

log = logging.getLogger(__name__)


class Sink(Protocol):
    """Where the pipeline's output goes; every call returns once the broker acknowledged."""

    async def command(self, command: SendCommand) -> None: ...
    async def dead_letter(self, topic: str, partition: int, offset: int, key: bytes | None,
                          value: bytes | None, error: InvalidEventError) -> None: ...


class Observer(Protocol):
    """What the pipeline reports (metrics); labels stay bounded."""

    def consumed(self, topic: str) -> None: ...
    def rejected(self, topic: str, reason: str) -> None: ...
    def decided(self, outcome: Outcome, wall_now_ms: int) -> None: ...
    def pending(self, deadlines: int) -> None: ...


Decode = Callable[[bytes, EventType], Event]


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
    def __init__(self, config: Config, inputs: Inputs, table: MutableMapping[bytes, Any],
                 decode: Decode, sink: Sink, observer: Observer,
                 clock: Callable[[], int]) -> None:
        self.config = config
        self.inputs = inputs
        self.table = table
        self.decode = decode
        self.sink = sink
        self.observer = observer
        self.clock = clock
        self.engines: dict[int, Engine] = {}
        self.states: dict[int, PartitionStates] = {}
        self.watermarks = Watermarks(inputs.names)
        self.merge = EventTimeMerge(inputs.names)
        self.received: dict[tuple[str, int], int] = {}

    def engine(self, partition: int) -> Engine:
        engine = self.engines.get(partition)
        if engine is None:
            states = PartitionStates(self.table, partition, len(self.inputs.topics))
            engine = self.engines[partition] = Engine(self.config, states)
            self.states[partition] = states
        return engine

    def assign(self, partitions: Iterable[int], items: Iterable[tuple[bytes, bytes]]) -> None:
        """Rebuild the due-indexes of ``partitions`` from the recovered table."""
        wanted = set(partitions)
        for partition in wanted:
            self.engines.pop(partition, None)
            self.engine(partition)
        for key, raw in items:
            stored = decode_stored(raw)
            if stored.partition in wanted:
                self.engines[stored.partition].schedule(key.decode(), stored.state)
        self.observer.pending(self.pending())

    def revoke(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self.engines.pop(partition, None)
            self.states.pop(partition, None)
            self.watermarks.forget(partition)
            self.merge.drop(partition)
            for topic in self.inputs.names:
                self.received.pop((topic, partition), None)

    def pending(self) -> int:
        return sum(len(engine.due) for engine in self.engines.values())

    async def handle(self, topic: str, partition: int, offset: int, key: bytes | None,
                     value: bytes | None, ack: Callable[[], object],
                     caught_up: Callable[[str, int], bool]) -> None:
        """One input message: decode (or dead-letter), queue it in event-time order, and
        apply whatever may go now. A message is acked only once applied."""
        self.observer.consumed(topic)
        self.received[topic, partition] = offset
        try:
            if value is None:
                raise InvalidEventError("missing_field", "the message has no value")
            event = self.decode(value, self.inputs.event_type(topic))
        except InvalidEventError as error:
            self.observer.rejected(topic, error.reason)
            log.warning("%s[%d]@%d rejected: %s", topic, partition, offset, error)
            await self.sink.dead_letter(topic, partition, offset, key, value, error)
            ack()
        else:
            self.watermarks.observe(topic, partition, event.occurred_at)
            self.merge.push(partition, Pending(event, topic, offset, ack))
        await self.drain(partition, caught_up)

    async def drain(self, partition: int, caught_up: Callable[[str, int], bool]) -> None:
        while (item := self.merge.pop_ready(partition, caught_up)) is not None:
            await self._apply(partition, item)
            item.ack()

    async def _apply(self, partition: int, item: Pending) -> None:
        event, topic, offset = item.event, item.topic, item.offset
        engine = self.engine(partition)
        states = self.states[partition]
        index = self.inputs.index(topic)
        if states.already_applied(event.contact_id, index, offset):
            log.info("%s[%d]@%d contact %s: already applied, skipped", topic, partition,
                     offset, event.contact_id)
            return
        states.applying = (index, offset)
        try:
            outcomes = engine.apply(event)
        finally:
            states.applying = None
        await self._emit(outcomes, partition)

    async def fire(self, partition: int, now: int,
                   caught_up: Callable[[str, int], bool]) -> None:
        """A tick: apply what may go now, then fire the deadlines of ``partition`` due at or
        before ``now`` and before every event still waiting."""
        await self.drain(partition, caught_up)
        if partition in self.engines:
            await self._emit(self.engines[partition].advance(self._fire_limit(partition, now)),
                             partition)

    def _fire_limit(self, partition: int, moment: int) -> int:
        """Deadlines fire up to ``moment`` but never past an event still waiting."""
        waiting = self.merge.earliest(partition)
        return moment if waiting is None else min(moment, waiting - 1)

    def due_partitions(self, caught_up: Callable[[str, int], bool],
                       wall_now: int) -> list[tuple[int, int]]:
        """(partition, time) for each partition with a deadline its event time reached, or
        waiting events that may go now (an input caught up without a new message)."""
        due = []
        for partition, engine in self.engines.items():
            moment = self.watermarks.time(partition, caught_up=caught_up, wall_now=wall_now)
            if moment is None:
                continue
            if (engine.due.any_due(self._fire_limit(partition, moment))
                    or self.merge.ready(partition, caught_up)):
                due.append((partition, moment))
        return due

    async def _emit(self, outcomes: list[Outcome], partition: int) -> None:
        for outcome in outcomes:
            if isinstance(outcome, SendCommand):
                await self.sink.command(outcome)
            self.observer.decided(outcome, self.clock())
        self.states[partition].commit()
        self.observer.pending(self.pending())

