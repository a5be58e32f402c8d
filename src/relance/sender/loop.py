"""The sender: send commands from the delivery topic to their providers, one at a time.

It consumes with confluent-kafka and commits only the offsets of the commands it handled.
A faust agent is not used: faust acks a message its stream takes while the flow is suspended
(at a stop, in a rebalance) without handing it over, and commits past it; a SIGTERM in the
middle of a burst lost sends that way. ``relance.host`` runs the process around this loop:
the web server (/metrics, /healthz, /readyz), start-up and signals.

On SIGTERM the loop finishes the attempt in hand (a send that completes is in the ledger and
reported), commits, and stops. While a provider is down the loop holds the command in hand
and retries it (``Delivery``); between two attempts it pauses its partitions and keeps
polling, so that it stays in its group and rebalances run. A partition revoked meanwhile,
or a SIGTERM, abandons the command unsettled and uncommitted: whoever reads it next sends it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition

from relance.codec.deadletter import DeadLetter, refuse
from relance.codec.outputs import OutputCodec
from relance.errors import InvalidEventError
from relance.kafka import clients as kafka
from relance.kafka.membership import Membership
from relance.kafka.outputs import Outputs
from relance.metrics import Metrics
from relance.sender.delivery import Abandoned, Delivery
from relance.sender.ledger import Ledger

log = logging.getLogger(__name__)


class ResultSink:
    """The sender's writes besides the ledger; each returns once the broker acknowledged."""

    def __init__(
        self,
        outputs: Outputs,
        codec: OutputCodec,
        *,
        results: str,
        rejected: Callable[[str, str], None],
    ) -> None:
        self.outputs = outputs
        self.codec = codec
        self.results = results
        self.rejected = rejected

    async def dead_letter(self, message: Message[bytes, bytes], error: InvalidEventError) -> None:
        letter = DeadLetter(
            message.topic() or "",
            message.partition() or 0,
            message.offset() or 0,
            message.key(),
            message.value(),
            error,
        )
        self.outputs.dead_letter(refuse(letter, self.rejected, message.key()))
        await asyncio.to_thread(self.outputs.wait)

    async def result(self, record: dict[str, Any]) -> None:
        self.outputs.put(
            self.results, str(record["contact_id"]).encode(), self.codec.encode_result(record)
        )
        await asyncio.to_thread(self.outputs.wait)


class SenderLoop:
    def __init__(
        self,
        *,
        topic: str,
        codec: OutputCodec,
        delivery: Delivery,
        sink: ResultSink,
        ledger: Ledger,
        new_consumer: Callable[[], Consumer],
        metrics: Metrics,
        commit_interval: float,
        clock: Callable[[], int],
        sweep_interval: float = 3600.0,
        batch_size: int = 100,
        wait: float = 0.5,
    ) -> None:
        self.topic = topic
        self.codec = codec
        self.delivery = delivery
        self.sink = sink
        self.ledger = ledger
        self.new_consumer = new_consumer
        self.metrics = metrics
        self.clock = clock
        self.batch_size = batch_size
        self.wait = wait
        self.commit_interval = commit_interval
        self.sweep_interval = sweep_interval
        self._last_sweep = time.monotonic()
        self.membership = Membership(
            self, restored="the delivery ledger", held=metrics.partitions_assigned.set
        )
        self._next: dict[int, int] = {}  # partition -> offset after the last command handled
        self._revoked: dict[int, int] = {}  # partition -> times revoked, to tell a hold it was
        self._queue: deque[Message[bytes, bytes]] = deque()  # read, not yet handled
        self._holding = False  # between two attempts: the assigned partitions are paused

    def problems(self) -> list[str]:
        return self.membership.problems()

    @property
    def assigned(self) -> set[int]:
        return self.membership.partitions()

    async def run(self, stopping: threading.Event) -> None:
        consumer = self.new_consumer()
        self.membership.subscribe(consumer, [self.topic])
        try:
            while not stopping.is_set():
                if not self._queue:
                    read = await asyncio.to_thread(consumer.consume, self.batch_size, self.wait)
                    self._queue.extend(read)
                while self._queue and not stopping.is_set():
                    # Not handled at a stop, not committed: the next owner sends it.
                    await self._handle(consumer, self._queue.popleft(), stopping)
                self._housekeeping(consumer)
            self._commit(consumer, sync=True)
        finally:
            await asyncio.to_thread(consumer.close)
            self.membership.joined = False

    async def _handle(
        self, consumer: Consumer, message: Message[bytes, bytes], stopping: threading.Event
    ) -> None:
        if not kafka.readable(message):
            return
        partition, offset = message.partition(), message.offset()
        assert partition is not None and offset is not None
        if (self.topic, partition) not in self.membership.assigned:
            return  # revoked while the batch waited; its new owner reads it
        try:
            command = self.codec.decode_command(message.value() or b"")
        except InvalidEventError as invalid:
            await self.sink.dead_letter(message, invalid)
        else:
            ledger = self.ledger.partition(partition)
            revoked = self._revoked.get(partition, 0)

            async def wait(seconds: float) -> None:
                await self._hold(consumer, partition, revoked, stopping, seconds)

            where = {"topic": self.topic, "partition": partition, "offset": offset}
            try:
                await self.delivery.handle(command, ledger, where, wait)
            except Abandoned as why:
                log.info(
                    "command %s left for whoever reads it next: %s",
                    command.get("command_id"),
                    why,
                    extra={
                        **where,
                        "contact_id": command.get("contact_id"),
                        "command_id": command.get("command_id"),
                    },
                )
                return  # neither settled nor committed
        self._next[partition] = offset + 1

    async def _hold(
        self,
        consumer: Consumer,
        partition: int,
        revoked: int,
        stopping: threading.Event,
        seconds: float,
    ) -> None:
        """Wait ``seconds`` before the next attempt at a command of ``partition``, the
        assigned partitions paused and the consumer polled, so that the group keeps this
        member and rebalances run; ``Abandoned`` once the partition is revoked or the sender
        stops."""
        until = time.monotonic() + seconds
        self._holding = True
        consumer.pause(self._owned())
        try:
            while True:
                if stopping.is_set():
                    raise Abandoned("the sender stops")
                if self._revoked.get(partition, 0) != revoked:
                    raise Abandoned(f"partition {partition} was revoked")
                left = until - time.monotonic()
                if left <= 0:
                    return
                # Paused partitions return nothing; a partition assigned in a rebalance is
                # paused as it comes (_on_assign), and whatever comes anyway waits its turn.
                read = await asyncio.to_thread(
                    consumer.consume, self.batch_size, min(left, self.wait)
                )
                self._queue.extend(read)
                self._housekeeping(consumer)
        finally:
            self._holding = False
            consumer.resume(self._owned())

    def _owned(self) -> list[TopicPartition]:
        return [TopicPartition(self.topic, p) for p in sorted(self.assigned)]

    def _housekeeping(self, consumer: Consumer) -> None:
        """Between commands and during holds: commit, report the lag, forget old ids."""
        if self.membership.commit_due(self.commit_interval):
            self._commit(consumer, sync=False)
        self._report_lag(consumer)
        if time.monotonic() - self._last_sweep >= self.sweep_interval:
            self._last_sweep = time.monotonic()
            self.ledger.sweep(self.assigned, self.clock())

    def _positions(self, only: set[int] | None = None) -> dict[tuple[str, int], int]:
        return {(self.topic, p): o for p, o in self._next.items() if only is None or p in only}

    def _commit(self, consumer: Consumer, *, sync: bool) -> None:
        self.membership.commit(consumer, self._positions(), sync=sync)

    def _report_lag(self, consumer: Consumer) -> None:
        def position(key: tuple[str, int]) -> int | None:
            (found,) = consumer.position([TopicPartition(*key)])
            return found.offset if found.offset >= 0 else None

        self.membership.refresh_highwater(consumer)
        (behind,) = self.membership.behind([self.topic], position).values()
        self.metrics.consumer_lag.labels(self.topic).set(behind)

    # What the membership asks of the loop at a rebalance (inside ``consume``).

    def restore(self, consumer: Consumer, partitions: list[TopicPartition]) -> str:
        numbers = sorted(tp.partition for tp in partitions)
        self.ledger.restore(numbers, self.clock())
        if partitions:
            # Assigned here (the client does not assign them again once the callback did)
            # so that they are paused during a hold, before any fetch, and resumed otherwise:
            # a partition paused when it was revoked comes back paused.
            consumer.assign(partitions)
            (consumer.pause if self._holding else consumer.resume)(partitions)
        return f"{sum(len(self.ledger.tables[n]) for n in numbers)} ids in the delivery ledger"

    def settle(self, revoked: set[tuple[str, int]]) -> dict[tuple[str, int], int]:
        return self._positions({partition for _, partition in revoked})

    def release(self, consumer: Consumer, gone: set[tuple[str, int]], partitions: set[int]) -> None:
        for partition in partitions:
            self._next.pop(partition, None)
            self._revoked[partition] = self._revoked.get(partition, 0) + 1
        # Read before the revocation: the new owner (this process again, maybe) reads them
        # anew from the committed offset.
        kept = [m for m in self._queue if m.partition() not in partitions]
        self._queue.clear()
        self._queue.extend(kept)
        self.ledger.drop(partitions)
        self.metrics.partitions_assigned.set(len(self.assigned))
