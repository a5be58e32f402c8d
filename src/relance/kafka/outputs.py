"""Writes to Kafka, for the worker and the sender: send commands, decisions (JSON, one per
candidate: sent or suppressed with its reason), dead letters, changelog and result records.

Records are produced as they come; ``wait`` returns only once the broker acknowledged every
one, and raises if one was refused: the consume loops commit input offsets only after that,
so nothing decided is lost.
A record refused for good (too large for the client's ``message.max.bytes`` or the topic's
``max.message.bytes``) raises ``RecordRefusedError`` naming the topic, partition and size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson
from confluent_kafka import KafkaError, KafkaException, Producer

from relance.codec.deadletter import DeadLetter
from relance.codec.outputs import OutputCodec
from relance.core.commands import Outcome, SendCommand, decision_record
from relance.errors import BrokerError
from relance.kafka.clients import key_partition


class RecordRefusedError(BrokerError):
    """A record the client or the broker will not take; sending it again cannot help."""


def refusal(error: KafkaError, topic: str, partition: int | None, size: int) -> str:
    """What was refused, where, how large, and (for a size limit) what to change."""
    where = f"{topic}[{partition}]" if partition is not None and partition >= 0 else topic
    text = f"{where}: a record of {size} bytes was refused: {error.str()}"
    if error.code() == KafkaError.MSG_SIZE_TOO_LARGE:
        text += (
            " (the limits are RELANCE_PRODUCER_MESSAGE_MAX_BYTES here and the topic's "
            "max.message.bytes on the broker: raise both, or find why it is so large)"
        )
    return text


# What ``Outputs`` needs of its producer: a report for a failed record only (``wait``
# flushes, then raises what failed). A report per record costs the consume loop's thread a
# Python call and a message object each: 0.9 us a record (bench/delivery_reports.py).
FAILURES_ONLY = {"delivery.report.only.error": True}


class Outputs:
    def __init__(
        self,
        producer: Producer,
        codec: OutputCodec,
        *,
        deliveries: str,
        dlq: str,
        clock: Callable[[], int],
        decisions: str | None = None,
        flush_timeout: float = 60.0,
    ) -> None:
        self.producer = producer
        self.codec = codec
        self.deliveries = deliveries
        self.dlq = dlq
        self.decisions = decisions
        self.clock = clock
        self.flush_timeout = flush_timeout
        self._failed: list[str] = []

    def _report(self, error: KafkaError | None, message: Any) -> None:
        if error is not None:
            size = len(message.value() or b"") + len(message.key() or b"")
            self._failed.append(refusal(error, message.topic(), message.partition(), size))

    def _produce(self, topic: str, value: bytes | None, key: bytes | None, **extra: Any) -> None:
        try:
            try:
                self.producer.produce(topic, value, key, on_delivery=self._report, **extra)
            except BufferError:
                self.producer.poll(0.5)  # the local queue is full: let it drain once
                self.producer.produce(topic, value, key, on_delivery=self._report, **extra)
        except BufferError as exc:
            raise BrokerError(
                f"{topic}: the producer's queue is still full after 0.5 s ({exc})"
            ) from exc
        except KafkaException as exc:
            error = exc.args[0]
            partition = extra.get("partition")
            if partition is None and key is not None:
                partition = self._partition_of(topic, key)
            size = len(value or b"") + len(key or b"")
            raise RecordRefusedError(refusal(error, topic, partition, size)) from exc

    def _partition_of(self, topic: str, key: bytes) -> int | None:
        """The partition the producer's murmur2 partitioner gives ``key`` (for the error)."""
        try:
            found = self.producer.list_topics(topic, timeout=5).topics[topic].partitions
        except KafkaException:
            return None
        return key_partition(key, len(found)) if found else None

    def command(self, command: SendCommand) -> None:
        self._produce(self.deliveries, self.codec.encode_send(command), command.contact_id.encode())

    def decision(self, outcome: Outcome) -> None:
        """On the decisions topic, if there is one."""
        if self.decisions:
            self._produce(
                self.decisions, orjson.dumps(decision_record(outcome)), outcome.contact_id.encode()
            )

    def dead_letter(self, letter: DeadLetter) -> None:
        key, value, headers = letter.record(self.clock())
        self._produce(self.dlq, value, key, headers=headers)

    def put(self, topic: str, key: bytes | None, value: bytes | None, **extra: Any) -> None:
        """One record (``headers=``, ``partition=`` ...); acknowledged by ``wait``."""
        self._produce(topic, value, key, **extra)

    def write(self, topic: str, partition: int, records: Iterable[tuple[bytes, bytes]]) -> None:
        for key, value in records:
            self._produce(topic, value, key, partition=partition)

    def poll(self) -> None:
        """Serve the delivery reports that arrived, without waiting (a failure is raised by
        the next ``wait``)."""
        self.producer.poll(0)

    def wait(self) -> None:
        """Block until every record produced so far is acknowledged; raise if one failed."""
        left = self.producer.flush(self.flush_timeout)
        if left:
            raise BrokerError(f"{left} records not acknowledged within {self.flush_timeout:.0f}s")
        if self._failed:
            failed, self._failed = self._failed, []
            raise RecordRefusedError(f"{len(failed)} records refused, first: {failed[0]}")
