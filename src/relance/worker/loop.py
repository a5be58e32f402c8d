"""The worker's hot path: consume input in batches, apply, send, then commit.

One thread owns the consumer, the pipeline and every contact state, so rebalance callbacks
(which confluent-kafka runs inside ``consume``) see states between two batches, never in
the middle of one. Each round:

1. consume up to ``batch_size`` messages and hand them to the pipeline, which decodes them
   and applies them in event-time order per partition;
2. fire the deadlines each partition's event time has reached;
3. send the commands and dead letters, and wait for the broker's acknowledgement;
4. write the states that changed to the changelog, once per contact however many events
   touched it, and wait again;
5. commit the input offsets of what was applied (waiting messages are not committed).

A crash anywhere replays from the last commit: states carry the offsets they applied, so an
event is not applied twice, and a command decided again has the same id.

A failure in a round (a record refused, a flush that times out, any exception in applying or
settling) makes the loop *failed*: from then on nothing is committed, not even by the revoke
that ``consumer.close()`` runs on the way out, which then only forgets the partitions. The
loop raises, the process exits non-zero, and the next start reads again from the last commit,
which covers only rounds whose states and outputs were acknowledged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Protocol

from confluent_kafka import (
    OFFSET_INVALID,
    Consumer,
    Message,
    TopicPartition,
)

from relance.gc_tuning import rare_collections
from relance.kafka import clients as kafka
from relance.kafka.changelog import Changelog
from relance.kafka.outputs import Outputs
from relance.worker.backpressure import Backpressure
from relance.worker.pipeline import Observer, Pipeline
from relance.worker.shared import SharedReader

log = logging.getLogger(__name__)

TopicPartitionKey = tuple[str, int]


class LoopObserver(Observer, Protocol):
    def assigned(self, partitions: int) -> None: ...
    def recovered(self, seconds: float) -> None: ...
    def lag(self, topic: str, messages: int) -> None: ...


class BatchLoop:
    def __init__(self, pipeline: Pipeline, changelog: Changelog, outputs: Outputs,
                 new_consumer: Callable[[], Consumer], observer: LoopObserver, *,
                 clock: Callable[[], int], batch_size: int, wait: float,
                 commit_interval: float, merge_max_waiting: int = 20_000,
                 shared: SharedReader | None = None) -> None:
        self.pipeline = pipeline
        self.changelog = changelog
        self.outputs = outputs
        self.new_consumer = new_consumer
        self.observer = observer
        self.clock = clock
        self.batch_size = batch_size
        self.wait = wait
        self.commit_interval = commit_interval
        self.assigned: set[TopicPartitionKey] = set()
        self.joined = False  # a first assignment came, even an empty one
        self.restoring: list[int] = []
        self._start: dict[TopicPartitionKey, int] = {}
        self._highwater: dict[TopicPartitionKey, int] = {}
        self._committed: dict[TopicPartitionKey, int] = {}
        self._last_commit = 0.0
        self._consumer: Consumer | None = None
        self.shared = shared
        self.backpressure = Backpressure(merge_max_waiting)
        # Set by the first failure; no offset is committed after it.
        self.failure: BaseException | None = None

    def run(self, stopping: threading.Event) -> None:
        if self.shared is not None:
            self.shared.start()
        for topic in self.pipeline.inputs.names:
            # Series from the start, so that rate() counts the very first event.
            self.observer.consumed(topic, 0)
            self.observer.duplicate(topic, 0)
        consumer = self._consumer = self.new_consumer()
        consumer.subscribe(list(self.pipeline.inputs.names), on_assign=self._on_assign,
                           on_revoke=self._on_revoke, on_lost=self._on_lost)
        try:
            with rare_collections():
                while not stopping.is_set():
                    self.step(consumer.consume(self.batch_size, self.wait))
                self._settle(sync=True)
        except BaseException as exc:
            self._fail(exc)
            raise
        finally:
            consumer.close()  # runs _on_revoke, which after a failure only forgets
            if self.shared is not None:
                self.shared.close()
            self.joined = False

    def problems(self) -> list[str]:
        """What keeps the loop from being ready (read from the web thread)."""
        return kafka.group_problems(self.joined, self.restoring, "the states")

    def step(self, messages: Sequence[Message[bytes, bytes]]) -> None:
        pipeline = self.pipeline
        if self.shared is not None:
            self.shared.poll()
        counts: Counter[str] = Counter()
        for message in messages:
            if not kafka.readable(message):
                continue
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            assert topic is not None and partition is not None and offset is not None
            pipeline.handle(topic, partition, offset, message.key(), message.value())
            counts[topic] += 1
        for topic, count in counts.items():
            self.observer.consumed(topic, count)
        self._refresh_highwater()
        self._report_lag()
        now = self.clock()
        for partition in list(pipeline.engines):
            pipeline.drain(partition, self.caught_up)
            pipeline.fire(partition, self.caught_up, now)
            self._throttle(partition)
        self._settle(sync=False)

    def _throttle(self, partition: int) -> None:
        """Pause or resume this partition's inputs by how much waits in its merge (once per
        batch, not per message)."""
        assert self._consumer is not None
        waiting = self.pipeline.merge.sizes(partition)
        pause, resume = self.backpressure.adjust(partition, waiting)
        if pause:
            self._consumer.pause([TopicPartition(t, p) for t, p in pause])
            log.info("partition %d: %d messages wait in the event-time merge; pausing %s "
                     "until fewer than %d wait", partition, sum(waiting.values()),
                     sorted(t for t, _ in pause), self.backpressure.low)
        if resume:
            self._consumer.resume([TopicPartition(t, p) for t, p in resume])
            log.info("partition %d: resuming %s (%d messages wait)", partition,
                     sorted(t for t, _ in resume), sum(waiting.values()))

    def caught_up(self, topic: str, partition: int) -> bool:
        """Whether everything in the topic-partition so far has been read."""
        key = (topic, partition)
        highwater = self._highwater.get(key, -1)
        if highwater < 0:
            return False
        last = self.pipeline.received.get(key)
        return (self._start.get(key, 0) if last is None else last + 1) >= highwater

    def _refresh_highwater(self) -> None:
        # Cached: the end offset the last fetch response reported, no request per call.
        assert self._consumer is not None
        for topic, partition in self.assigned:
            _, high = self._consumer.get_watermark_offsets(TopicPartition(topic, partition),
                                                           cached=True)
            self._highwater[topic, partition] = high

    def _report_lag(self) -> None:
        behind: Counter[str] = Counter({topic: 0 for topic in self.pipeline.inputs.names})
        for topic, partition in self.assigned:
            high = self._highwater.get((topic, partition), -1)
            if high >= 0:
                last = self.pipeline.received.get((topic, partition))
                position = self._start.get((topic, partition), 0) if last is None else last + 1
                behind[topic] += max(0, high - position)
        for topic, messages in behind.items():
            self.observer.lag(topic, messages)

    def _settle(self, *, sync: bool) -> None:
        """Send what was decided, then the changed states, then commit input offsets."""
        try:
            outbox = self.pipeline.take_outbox()
            if outbox:
                outbox.send(self.outputs)
            # The table is now ahead of the changelog until ``wait`` returns: a failure in
            # between must stop the loop before anything is committed.
            changes = self.pipeline.commit_states()
            if changes:
                for partition, records in changes.items():
                    self.outputs.write(self.changelog.topic, partition, records)
                self.outputs.wait()
            if sync or time.monotonic() - self._last_commit >= self.commit_interval:
                self._commit(sync=sync)
        except BaseException as exc:
            # Also when called by a revoke inside ``consume``: mark the loop failed at once.
            self._fail(exc)
            raise

    def _fail(self, exc: BaseException) -> None:
        if self.failure is not None:
            return
        self.failure = exc
        log.error("worker stopping without committing: %s; the next start reads again from "
                  "the last commit, which covers only what was stored", str(exc) or repr(exc))

    def _commit(self, *, sync: bool, only: set[TopicPartitionKey] | None = None) -> None:
        assert self._consumer is not None
        if self.failure is not None:
            return  # what was read since the last commit may not be stored
        positions = self.pipeline.positions(self.assigned if only is None else only)
        offsets = [TopicPartition(topic, partition, offset)
                   for (topic, partition), offset in positions.items()
                   if self._committed.get((topic, partition)) != offset]
        self._last_commit = time.monotonic()
        kafka.commit(self._consumer, offsets, sync=sync)
        for tp in offsets:
            self._committed[tp.topic, tp.partition] = tp.offset

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        numbers = sorted({tp.partition for tp in partitions})
        log.info("assigned partitions %s; restoring their states", numbers)
        self.joined = True
        self.restoring = numbers
        started = time.monotonic()
        tables = self.changelog.recover(numbers)
        if numbers:
            self.observer.recovered(time.monotonic() - started)
        for number in numbers:
            self.pipeline.assign(number, tables[number])
        for tp in consumer.committed(partitions, timeout=30):
            start = tp.offset
            if start == OFFSET_INVALID or start < 0:
                start, _ = consumer.get_watermark_offsets(tp, timeout=10)
            self._start[tp.topic, tp.partition] = start
            self._committed[tp.topic, tp.partition] = tp.offset
            self.assigned.add((tp.topic, tp.partition))
        self.restoring = []
        self.observer.assigned(len({partition for _, partition in self.assigned}))
        log.info("ready: partitions %s, %d deadlines pending", numbers, self.pipeline.pending())

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        numbers = sorted({p for _, p in revoked})
        if self.failure is None:
            log.info("revoking partitions %s", numbers)
            self._settle(sync=False)
            self._commit(sync=True, only=revoked & self.assigned)
        else:
            log.info("revoking partitions %s after a failure: nothing committed", numbers)
        self._forget(revoked)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        lost = {(tp.topic, tp.partition) for tp in partitions}
        log.warning("partitions lost %s: dropped without commit", sorted({p for _, p in lost}))
        self._forget(lost)

    def _forget(self, revoked: set[TopicPartitionKey]) -> None:
        paused = self.backpressure.forget(revoked)
        if paused and self._consumer is not None and self.failure is None:
            # The client keeps a partition paused across a rebalance; its merge is dropped.
            self._consumer.resume([TopicPartition(t, p) for t, p in paused])
        self.assigned -= revoked
        for key in revoked:
            self._start.pop(key, None)
            self._highwater.pop(key, None)
            self._committed.pop(key, None)
        held = {partition for _, partition in self.assigned}
        for number in {partition for _, partition in revoked} - held:
            self.pipeline.revoke(number)
        self.observer.assigned(len(held))
