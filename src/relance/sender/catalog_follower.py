"""The sender's copy of the catalog: the whole catalog topic, read up before the sender
starts sending, then followed in a thread (``kafka.whole.Follower``: ``start`` and ``stop``,
hosted by whoever runs the process).

The sender re-checks products against it when a message goes out (``sender.recheck``).
Nothing is committed; it is read from the start at every start. An update that cannot be
decoded is skipped here: the worker dead-letters it.
"""

from __future__ import annotations

import contextlib

from confluent_kafka import Consumer, Message

from relance.codec import catalog as catalog_codec
from relance.core.catalog import Catalog
from relance.core.scenarios import InputRules
from relance.errors import InvalidEventError
from relance.kafka import clients as kafka
from relance.kafka.whole import Follower, WholeTopics
from relance.settings import Settings


def catalog_follower(settings: Settings, catalog: Catalog, rules: InputRules) -> Follower:
    """What keeps ``catalog`` up to date with the catalog topic, keeping ``rules`` (the
    scenario file's input limits)."""

    def new_reader() -> Consumer:
        return kafka.consumer(
            settings, f"{settings.app_id}-sender-catalog", **{"enable.partition.eof": True}
        )

    def take(message: Message[bytes, bytes], live: bool) -> None:
        value = message.value()
        if value is not None:
            with contextlib.suppress(InvalidEventError):
                catalog.update(catalog_codec.decode(value, rules=rules))

    return Follower(
        WholeTopics(
            new_reader,
            [settings.topic_catalog],
            take,
            what="catalog",
            describe=lambda: f"{len(catalog)} products",
        )
    )
