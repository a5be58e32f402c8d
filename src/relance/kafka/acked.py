"""One record at a time from asyncio, acknowledged: ``write`` returns once the broker has
the record (``acks=all``, as every relance producer), or raises ``BrokerError``. For the
gateway, which answers a contact only once what they asked for is durable.

The producer's delivery reports are served by ``serve(stopping)`` in a thread of its own
(the process's loop), which hands each to the event loop that waits for it; at the stop it
flushes what is still in flight.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from relance.errors import BrokerError
from relance.kafka.outputs import refusal


class AckedWriter:
    def __init__(self, producer: Producer, *, flush_timeout: float = 30.0) -> None:
        self.producer = producer
        self.flush_timeout = flush_timeout
        self.stopped = False

    async def write(self, topic: str, key: bytes, value: bytes, timeout: float) -> None:
        """Produce one record and wait up to ``timeout`` seconds for its acknowledgement."""
        if self.stopped:
            raise BrokerError("the process is stopping")
        loop = asyncio.get_running_loop()
        acked: asyncio.Future[None] = loop.create_future()

        def report(error: KafkaError | None, message: Any) -> None:
            loop.call_soon_threadsafe(_settle, acked, error, topic, message)

        try:
            self.producer.produce(topic, value, key, on_delivery=report)
        except (BufferError, KafkaException) as exc:
            raise BrokerError(f"{topic}: the record was not taken: {exc}") from exc
        try:
            await asyncio.wait_for(acked, timeout)
        except TimeoutError:
            raise BrokerError(f"{topic}: not acknowledged within {timeout:g} s") from None

    def serve(self, stopping: threading.Event) -> None:
        """Deliver the producer's reports until ``stopping``, then flush what is left."""
        while not stopping.is_set():
            self.producer.poll(0.1)
        self.stopped = True
        left = self.producer.flush(self.flush_timeout)
        if left:
            raise BrokerError(
                f"{left} records not acknowledged within {self.flush_timeout:.0f}s at the stop"
            )


def _settle(
    acked: asyncio.Future[None], error: KafkaError | None, topic: str, message: Any
) -> None:
    if acked.done():  # the writer stopped waiting (a timeout)
        return
    if error is None:
        acked.set_result(None)
    else:
        size = len(message.value() or b"") + len(message.key() or b"")
        acked.set_exception(BrokerError(refusal(error, topic, message.partition(), size)))
