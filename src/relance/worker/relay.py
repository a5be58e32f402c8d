"""The source relay: other trackings' topics into relance's own input topics, keyed by
contact id.

The worker's inputs carry one canonical type each and are co-partitioned by contact id, so
that one partition number holds all of a contact's events. A source topic (the scenario
file's ``inputs.sources``) carries every kind of event at once, keyed however its producer
keys it (a Segment destination by message id, a webhook bridge by shop). The relay reads
each source message, maps it with its adapter (``relance.tracking``, as ``relance
simulate`` does), and writes each canonical event to the input topic of its type, keyed by
its contact id and encoded as that topic's events are (``RELANCE_INPUT_FORMAT``), with a
``relance.source`` header naming the message it came from; the worker reads it there like
any other, in event-time order with the rest.

Anonymous visitors' events and links go through the identity stage (``identities``) when the
scenario file keeps them (``inputs.anonymous_window``), on a topic of its own that this
relay reads too.

A message that cannot be mapped goes to the dead-letter topic with its reason (the source
event in the detail); a source event skipped (``not_used``, ``unknown``, ``anonymous``) is
counted. A source offset is committed only once everything its message became (events, or
a dead letter) was acknowledged; after a crash the messages since the last commit are read
and written again, with the same event ids, which the contacts' duplicate window drops.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from confluent_kafka import Consumer, Message, TopicPartition

from relance.codec.deadletter import DeadLetter, refuse
from relance.core.events import Event, EventType
from relance.errors import InvalidEventError
from relance.kafka import clients as kafka
from relance.kafka.membership import Membership, TopicPartitionKey
from relance.kafka.outputs import Outputs
from relance.tracking.sources import Adapter, Headers
from relance.worker.identities import IdentityStage

log = logging.getLogger(__name__)

SOURCE_HEADER = "relance.source"
Target = tuple[str, Callable[[Event], bytes]]  # an input topic, and how its events are written


class RelayObserver(Protocol):
    """What the relay reports (metrics); labels stay bounded."""

    def consumed(self, topic: str, count: int) -> None: ...
    def rejected(self, topic: str, reason: str) -> None: ...
    def source_event(self, topic: str, outcome: str) -> None: ...
    def lag(self, topic: str, messages: int) -> None: ...
    def visitors(self, count: int) -> None: ...


class SourceRelay:
    def __init__(
        self,
        adapters: Mapping[str, Adapter],
        targets: Mapping[EventType, Target],
        outputs: Outputs,
        new_consumer: Callable[[], Consumer],
        observer: RelayObserver,
        *,
        batch_size: int,
        wait: float,
        commit_interval: float,
        identity: IdentityStage | None = None,
    ) -> None:
        """``adapters``: per source topic; ``targets``: per canonical event type;
        ``identity``: the stage of anonymous visitors, when the scenario file keeps them."""
        self.adapters = adapters
        self.identity = identity
        self.topics = [*adapters, *([identity.topic] if identity is not None else [])]
        self.targets = targets
        self.outputs = outputs
        self.new_consumer = new_consumer
        self.observer = observer
        self.batch_size = batch_size
        self.wait = wait
        self.commit_interval = commit_interval
        self.membership = Membership(self, restored="nothing", held=lambda held: None)
        self.read: dict[TopicPartitionKey, int] = {}
        self._consumer: Consumer | None = None

    def run(self, stopping: threading.Event) -> None:
        for topic in self.topics:
            self.observer.consumed(topic, 0)
        consumer = self._consumer = self.new_consumer()
        self.membership.subscribe(consumer, self.topics)
        try:
            while not stopping.is_set():
                self.step(consumer.consume(self.batch_size, self.wait))
            self._settle(sync=True)
        except BaseException as exc:
            if self.membership.failure is None:
                self.membership.failure = exc
                log.error("source relay stopping without committing: %s", str(exc) or repr(exc))
            raise
        finally:
            consumer.close()
            self.membership.joined = False

    def problems(self) -> list[str]:
        return [f"source relay: {problem}" for problem in self.membership.problems()]

    def step(self, messages: Sequence[Message[bytes, bytes]]) -> None:
        counts: Counter[str] = Counter()
        for message in messages:
            if not kafka.readable(message):
                continue
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            assert topic is not None and partition is not None and offset is not None
            if self.identity is not None and topic == self.identity.topic:
                self.identify(topic, partition, offset, message.key(), message.value())
                counts[topic] += 1
                continue
            headers = message.headers()
            self.relay(
                topic,
                partition,
                offset,
                message.key(),
                message.value(),
                headers if isinstance(headers, list) else None,
            )
            counts[topic] += 1
        for topic, count in counts.items():
            self.observer.consumed(topic, count)
        assert self._consumer is not None
        self.membership.refresh_highwater(self._consumer)
        for topic, behind in self.membership.behind(self.topics, self._next).items():
            self.observer.lag(topic, behind)
        if self.identity is not None:
            self.observer.visitors(self.identity.expire())
        self._settle(sync=False)

    def relay(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        headers: Headers | None,
    ) -> None:
        """One source message: its events written to their input topics, or its dead
        letter; acknowledged by the next ``_settle``."""
        self.read[topic, partition] = offset
        try:
            if value is None:
                raise InvalidEventError("missing_field", "the message has no value")
            mapped = self.adapters[topic].read(value, headers)
        except InvalidEventError as error:
            letter = DeadLetter(topic, partition, offset, key, value, error)
            self.outputs.dead_letter(refuse(letter, self.observer.rejected, None))
            return
        origin = [(SOURCE_HEADER, f"{topic}/{partition}/{offset}".encode())]
        for item in mapped:
            self.observer.source_event(topic, item.skipped or "relayed")
            if self.identity is not None and self.identity.forward(item):
                continue  # its events go after what its link releases
            if item.skipped:
                continue
            for event in item.events:
                target, encode = self.targets[event.type]
                self.outputs.put(target, event.contact_id.encode(), encode(event), headers=origin)

    def identify(
        self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None
    ) -> None:
        """A record of the identity topic, taken by the identity stage."""
        assert self.identity is not None
        self.read[topic, partition] = offset
        try:
            self.identity.take(partition, key, value)
        except InvalidEventError as error:  # not written by a relay: kept, not applied
            letter = DeadLetter(topic, partition, offset, key, value, error)
            self.outputs.dead_letter(refuse(letter, self.observer.rejected, None))

    def _next(self, key: TopicPartitionKey) -> int | None:
        last = self.read.get(key)
        return None if last is None else last + 1

    def _settle(self, *, sync: bool) -> None:
        """Wait until everything written was acknowledged, then commit what it came from."""
        self.outputs.wait()
        if sync or self.membership.commit_due(self.commit_interval):
            assert self._consumer is not None
            self.membership.commit(
                self._consumer, self.positions(self.membership.assigned), sync=sync
            )

    def positions(self, keys: set[TopicPartitionKey]) -> dict[TopicPartitionKey, int]:
        return {key: self.read[key] + 1 for key in keys if key in self.read}

    # What the membership asks of the relay at a rebalance (inside ``consume``).

    def restore(self, consumer: Consumer, partitions: list[TopicPartition]) -> str:
        if self.identity is None:
            return ""  # nothing is kept per partition
        return self.identity.restore(
            tp.partition for tp in partitions if tp.topic == self.identity.topic
        )

    def settle(self, revoked: set[TopicPartitionKey]) -> Mapping[TopicPartitionKey, int]:
        self.outputs.wait()
        return self.positions(revoked)

    def release(
        self, consumer: Consumer, gone: set[TopicPartitionKey], partitions: set[int]
    ) -> None:
        for key in gone:
            self.read.pop(key, None)
        if self.identity is not None:
            self.identity.release(p for t, p in gone if t == self.identity.topic)
