"""The worker's hot path: consume input in batches, apply, send, then commit.

One thread owns the consumer, the pipeline and every contact state, so rebalance callbacks
(which confluent-kafka runs inside ``consume``) see states between two batches, never in
the middle of one. Each round:

1. consume up to ``batch_size`` messages and hand them to the pipeline, which decodes them
   and applies them in event-time order per partition;
2. fire the deadlines each partition's event time has reached;
3. send the commands and dead letters (produce them, without waiting);
4. commit the states that changed to the partitions' tables;
5. once per commit interval (and before partitions are revoked, and on the way out): wait
   for the broker to acknowledge every output produced so far, write the states committed
   since the last time to the changelog, once per contact however many events and rounds
   touched it, wait again, then commit the input offsets of what was applied (waiting
   messages are not committed). Waiting once per interval rather than twice a round spares
   the round trips (and the producer's linger) that a round would otherwise sit out.

A crash anywhere replays from the last commit: states carry the offsets they applied, so an
event is not applied twice, and a command decided again has the same id.

A failure in a round (a record refused, a flush that times out, any exception in applying or
settling) makes the loop *failed*: from then on nothing is committed, not even by the revoke
that ``consumer.close()`` runs on the way out, which then only forgets the partitions. The
loop raises, the process exits non-zero, and the next start reads again from the last commit,
which covers only rounds whose states and outputs were acknowledged. The group bookkeeping
(assignment, start offsets, commits, readiness) is ``kafka.membership``'s, as the sender's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from confluent_kafka import Consumer, Message, TopicPartition

from relance.gc_tuning import rare_collections
from relance.kafka import clients as kafka
from relance.kafka.changelog import Changelog, ReadAhead
from relance.kafka.membership import Membership, TopicPartitionKey
from relance.kafka.outputs import Outputs
from relance.kafka.whole import WholeTopics
from relance.worker.backpressure import Backpressure
from relance.worker.holdings import Holdings
from relance.worker.pipeline import Observer, Pipeline

log = logging.getLogger(__name__)


class LoopObserver(Observer, Protocol):
    def assigned(self, partitions: int) -> None: ...
    def recovered(self, seconds: float) -> None: ...
    def lag(self, topic: str, messages: int) -> None: ...


class BatchLoop:
    def __init__(
        self,
        pipeline: Pipeline,
        changelog: Changelog,
        outputs: Outputs,
        new_consumer: Callable[[], Consumer],
        observer: LoopObserver,
        *,
        clock: Callable[[], int],
        batch_size: int,
        wait: float,
        commit_interval: float,
        merge_max_waiting: int = 20_000,
        shared: WholeTopics | None = None,
        holdings: Holdings | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.changelog = changelog
        self.outputs = outputs
        self.new_consumer = new_consumer
        self.observer = observer
        self.clock = clock
        self.batch_size = batch_size
        self.wait = wait
        self.commit_interval = commit_interval
        self.membership = Membership(self, restored="the states", held=observer.assigned)
        self._consumer: Consumer | None = None
        self.shared = shared
        self.backpressure = Backpressure(merge_max_waiting)
        self.holdings = holdings
        self._ahead: ReadAhead | None = None

    @property
    def failure(self) -> BaseException | None:
        """The first failure; no offset is committed after it."""
        return self.membership.failure

    def run(self, stopping: threading.Event) -> None:
        for topic in self.pipeline.inputs.names:
            # Series from the start, so that rate() counts the very first event.
            self.observer.consumed(topic, 0)
            self.observer.duplicate(topic, 0)
        held = self.holdings.read() if self.holdings is not None else []
        if held:
            self._ahead = ReadAhead(self.changelog, held)
        consumer = self._consumer = self.new_consumer()
        # Subscribed first: the client joins the group in its own threads while the shared
        # topics are read (a join waits on the broker for seconds); the partitions come, and
        # are restored, in the first ``consume``, once those topics are read up.
        self.membership.subscribe(consumer, self.pipeline.inputs.names)
        try:
            if self.shared is not None:
                self.shared.start()
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
            self.membership.joined = False

    def problems(self) -> list[str]:
        """What keeps the loop from being ready (read from the web thread)."""
        return self.membership.problems()

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
        assert self._consumer is not None
        self.membership.refresh_highwater(self._consumer)
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
            log.info(
                "partition %d: %d messages wait in the event-time merge; pausing %s "
                "until fewer than %d wait",
                partition,
                sum(waiting.values()),
                sorted(t for t, _ in pause),
                self.backpressure.low,
            )
        if resume:
            self._consumer.resume([TopicPartition(t, p) for t, p in resume])
            log.info(
                "partition %d: resuming %s (%d messages wait)",
                partition,
                sorted(t for t, _ in resume),
                sum(waiting.values()),
            )

    def _read(self, key: TopicPartitionKey) -> int | None:
        """The offset after the last message handed to the pipeline, if any."""
        last = self.pipeline.received.get(key)
        return None if last is None else last + 1

    def caught_up(self, topic: str, partition: int) -> bool:
        """Whether everything in the topic-partition so far has been read."""
        key = (topic, partition)
        highwater = self.membership.highwater.get(key, -1)
        if highwater < 0:
            return False
        return self.membership.position(key, self._read(key)) >= highwater

    def _report_lag(self) -> None:
        for topic, messages in self.membership.behind(
            self.pipeline.inputs.names, self._read
        ).items():
            self.observer.lag(topic, messages)

    def _settle(self, *, sync: bool, save: bool = False) -> None:
        """Send what was decided, then commit the states that changed to the table; when
        the commit interval is up (or ``sync``, ``save``), wait for the outputs to be
        acknowledged, write the states to the changelog, then commit input offsets."""
        try:
            save = save or sync or self.membership.commit_due(self.commit_interval)
            outbox = self.pipeline.take_outbox()
            if outbox:
                outbox.send(self.outputs)
            if save:
                # Every output produced so far, this round's and the earlier ones': a state
                # reaches the changelog only after the outputs of its events were
                # acknowledged (a failed one raises here, before anything is stored).
                self.outputs.wait()
            else:
                self.outputs.poll()  # delivery reports, so the producer's queue drains
            # The table is now ahead of the changelog until ``wait`` returns: a failure in
            # between must stop the loop before anything is committed.
            changes = self.pipeline.commit_states(save=save)
            if changes:
                for partition, records in changes.items():
                    self.outputs.write(self.changelog.topic, partition, records)
                self.outputs.wait()
            if save:
                self._commit(sync=sync)
        except BaseException as exc:
            # Also when called by a revoke inside ``consume``: mark the loop failed at once.
            self._fail(exc)
            raise

    def _fail(self, exc: BaseException) -> None:
        if self.membership.failure is not None:
            return
        self.membership.failure = exc
        log.error(
            "worker stopping without committing: %s; the next start reads again from "
            "the last commit, which covers only what was stored",
            str(exc) or repr(exc),
        )

    def _commit(self, *, sync: bool) -> None:
        assert self._consumer is not None
        self.membership.commit(
            self._consumer, self.pipeline.positions(self.membership.assigned), sync=sync
        )

    # What the membership asks of the loop at a rebalance (inside ``consume``).

    def restore(self, consumer: Consumer, partitions: list[TopicPartition]) -> str:
        numbers = sorted({tp.partition for tp in partitions})
        started = time.monotonic()
        ahead, self._ahead = self._ahead, None  # only the first assignment follows a restart
        tables = self.changelog.recover(numbers, ahead=ahead)
        if numbers:
            self.observer.recovered(time.monotonic() - started)
        for number in numbers:
            self.pipeline.assign(number, tables[number])
        if self.holdings is not None:
            self.holdings.note(self.pipeline.engines)
        return f"{self.pipeline.pending()} deadlines pending"

    def settle(self, revoked: set[TopicPartitionKey]) -> Mapping[TopicPartitionKey, int]:
        self._settle(sync=False, save=True)  # a revoked partition's states go with it
        return self.pipeline.positions(revoked)

    def release(
        self, consumer: Consumer, gone: set[TopicPartitionKey], partitions: set[int]
    ) -> None:
        paused = self.backpressure.forget(gone)
        if paused and self.failure is None:
            # The client keeps a partition paused across a rebalance; its merge is dropped.
            consumer.resume([TopicPartition(t, p) for t, p in paused])
        for number in partitions:
            self.pipeline.revoke(number)
        if partitions and self.holdings is not None:
            self.holdings.note(self.pipeline.engines)
