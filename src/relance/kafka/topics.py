"""The topics relance reads and writes: their specs, and creating the missing ones."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from relance.errors import BrokerError


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    compacted: bool = False


def create_topics(bootstrap: str, topics: Iterable[TopicSpec]) -> None:
    """Create topics that do not exist yet; existing ones are left as they are."""
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap},
                        logger=logging.getLogger("relance.kafka"))
    existing = set(admin.list_topics(timeout=10).topics)
    wanted = [NewTopic(t.name, t.partitions, 1,
                       config={"cleanup.policy": "compact"} if t.compacted else {})
              for t in topics if t.name not in existing]
    if not wanted:
        return
    for name, future in admin.create_topics(wanted).items():
        try:
            future.result(timeout=30)
        except Exception as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise BrokerError(f"cannot create topic {name}: {exc}") from exc
