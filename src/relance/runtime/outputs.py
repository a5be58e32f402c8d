"""The worker's writes to Kafka: send commands, decisions (JSON, one per candidate: sent or
suppressed with its reason), dead letters and changelog records.

``send`` returns only once the broker acknowledged every record, and raises if one was
refused: the consume loop commits input offsets only after that, so nothing decided is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson
from confluent_kafka import KafkaError, Producer

from relance.broker import BrokerError
from relance.codec.deadletter import dead_letter
from relance.codec.outputs import OutputCodec
from relance.commands import decision_record
from relance.runtime.pipeline import Outbox


class Outputs:
    def __init__(self, producer: Producer, codec: OutputCodec, *, deliveries: str, dlq: str,
                 clock: Callable[[], int], decisions: str | None = None,
                 flush_timeout: float = 60.0) -> None:
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
            self._failed.append(f"{message.topic()}[{message.partition()}]: {error}")

    def _produce(self, topic: str, value: bytes | None, key: bytes | None, **extra: Any) -> None:
        try:
            self.producer.produce(topic, value, key, on_delivery=self._report, **extra)
        except BufferError:
            self.producer.poll(0.5)
            self.producer.produce(topic, value, key, on_delivery=self._report, **extra)

    def send(self, outbox: Outbox) -> None:
        for command in outbox.commands:
            self._produce(self.deliveries, self.codec.encode_command(command.to_record()),
                          command.contact_id.encode())
        for letter in outbox.dead_letters:
            key, value, headers = dead_letter(
                letter.key, letter.value, letter.error, topic=letter.topic,
                partition=letter.partition, offset=letter.offset, now_ms=self.clock())
            self._produce(self.dlq, value, key, headers=headers)
        if self.decisions:
            for outcome in outbox.decisions:
                self._produce(self.decisions, orjson.dumps(decision_record(outcome)),
                              outcome.contact_id.encode())
        self.wait()

    def put(self, topic: str, key: bytes | None, value: bytes | None, **extra: Any) -> None:
        """One record (``headers=``, ``partition=`` ...); acknowledged by ``wait``."""
        self._produce(topic, value, key, **extra)

    def write(self, topic: str, partition: int, records: Iterable[tuple[bytes, bytes]]) -> None:
        for key, value in records:
            self._produce(topic, value, key, partition=partition)

    def wait(self) -> None:
        """Block until every record produced so far is acknowledged; raise if one failed."""
        left = self.producer.flush(self.flush_timeout)
        if left:
            raise BrokerError(f"{left} records not acknowledged within {self.flush_timeout:.0f}s")
        if self._failed:
            failed, self._failed = self._failed, []
            raise BrokerError(f"{len(failed)} records refused, first: {failed[0]}")
