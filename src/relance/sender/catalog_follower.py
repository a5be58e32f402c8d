"""The sender's copy of the catalog: the whole catalog topic, read up before the sender
starts sending, then followed in a thread.

The sender re-checks products against it when a message goes out (``sender.recheck``).
Nothing is committed; it is read from the start at every start. ``relance.host`` runs the
following thread while the sender runs.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Message, TopicPartition

from relance.codec import catalog as catalog_codec
from relance.core.catalog import Catalog
from relance.core.scenarios import InputRules
from relance.errors import InvalidEventError
from relance.kafka import clients as kafka
from relance.settings import Settings

log = logging.getLogger(__name__)


def _take(catalog: Catalog, message: Message[bytes, bytes], rules: InputRules) -> None:
    value = message.value()
    if value is not None:
        with contextlib.suppress(InvalidEventError):  # the worker dead-letters it
            catalog.update(catalog_codec.decode(value, rules=rules))


def follow_catalog(settings: Settings, catalog: Catalog,
                   rules: InputRules) -> Callable[[threading.Event], None] | None:
    """Read the catalog topic into ``catalog`` now; what keeps it up to date until its
    ``stopping`` is set (None without a catalog topic)."""
    topic = settings.topic_catalog
    reader = kafka.consumer(settings, f"{settings.app_id}-sender-catalog",
                            **{"enable.partition.eof": True})
    metadata = reader.list_topics(topic, timeout=10).topics.get(topic)
    if metadata is None or metadata.error is not None:
        log.warning("catalog topic %s not found: sends are not re-checked", topic)
        reader.close()
        return None
    reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in metadata.partitions])
    kafka.read_to_end(reader, [(topic, p) for p in metadata.partitions],
                      lambda message: _take(catalog, message, rules), what=f"catalog {topic}")
    log.info("catalog %s: %d products read", topic, len(catalog))

    def follow(stopping: threading.Event) -> None:
        try:
            while not stopping.is_set():
                for message in reader.consume(1000, 0.2):
                    if message.error() is None:
                        _take(catalog, message, rules)
        finally:
            reader.close()

    return follow
