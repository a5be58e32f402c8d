"""Topics every worker reads whole, whatever partitions it holds: the catalog (products), and
the orders again (what is bought together, for related products).

They are assigned, never subscribed, read from the start at every start (nothing is
committed), and followed afterwards. While reading up at start nothing is triggered: those
updates happened before and were answered then.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    Message,
    TopicPartition,
)

from relance.kafka.clients import read_to_end
from relance.worker.pipeline import Observer, Pipeline

log = logging.getLogger(__name__)


class SharedReader:
    def __init__(self, pipeline: Pipeline, observer: Observer, new_reader: Callable[[], Consumer],
                 *, catalog: str | None, orders: str | None) -> None:
        self.pipeline = pipeline
        self.observer = observer
        self.new_reader = new_reader
        self.catalog = catalog
        self.orders = orders
        self._reader: Consumer | None = None

    def start(self) -> None:
        """Read every shared topic to its end."""
        topics = [t for t in (self.catalog, self.orders) if t]
        if not topics:
            return
        reader = self._reader = self.new_reader()
        assigned = []
        for topic in topics:
            partitions = reader.list_topics(topic, timeout=10).topics[topic].partitions
            assigned += [TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions]
        reader.assign(assigned)
        started = time.monotonic()
        read = read_to_end(reader, [(tp.topic, tp.partition) for tp in assigned],
                           lambda message: self._take(message, live=False),
                           what="shared topics")
        log.info("shared topics %s: %d messages read in %.1fs (%d products known)", topics,
                 read, time.monotonic() - started, len(self.pipeline.catalog))

    def poll(self) -> None:
        if self._reader is not None:
            for message in self._reader.consume(1000, 0):
                if message.error() is None:
                    self._take(message, live=True)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()

    def _take(self, message: Message[bytes, bytes], *, live: bool) -> None:
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        assert topic is not None and partition is not None and offset is not None
        if topic == self.catalog:
            self.pipeline.catalog_update(topic, partition, offset, message.key(),
                                         message.value(), live=live)
            self.observer.consumed(topic, 1)
        else:
            self.pipeline.basket(message.value())
