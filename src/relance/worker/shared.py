"""Topics every worker reads whole, whatever partitions it holds: the catalog (products), and
the orders again (what is bought together, for related products).

Read up at every start, then polled by the loop between two batches (``kafka.whole``). While
reading up nothing is triggered: those updates happened before and were answered then.
"""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import Consumer, Message

from relance.kafka.whole import WholeTopics
from relance.worker.pipeline import Observer, Pipeline


def shared_topics(
    pipeline: Pipeline,
    observer: Observer,
    new_reader: Callable[[], Consumer],
    *,
    catalog: str | None,
    orders: str | None,
) -> WholeTopics:
    def take(message: Message[bytes, bytes], live: bool) -> None:
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        assert topic is not None and partition is not None and offset is not None
        if topic == catalog:
            pipeline.catalog_update(
                topic, partition, offset, message.key(), message.value(), live=live
            )
            observer.consumed(topic, 1)
        else:
            pipeline.basket(message.value())

    return WholeTopics(
        new_reader,
        [t for t in (catalog, orders) if t],
        take,
        what="shared topics",
        describe=lambda: f"{len(pipeline.catalog)} products known",
    )
