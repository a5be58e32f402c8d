"""The worker's state changelog: a compacted topic, one record per contact state written.

States live in memory, one dict per partition; the changelog is what makes them durable.
A partition assigned to this process is rebuilt by reading its changelog partition to the
end. The end is found by the fetch (partition EOF, see ``kafka.read_to_end``). The topic is
one of ``kafka.topics.topic_specs``, created with the others at start.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from confluent_kafka import Message, TopicPartition

from relance.kafka import clients as kafka
from relance.settings import Settings

log = logging.getLogger(__name__)

Table = dict[bytes, bytes]


class Changelog:
    def __init__(self, settings: Settings, name: str) -> None:
        self.settings = settings
        self.topic = name

    def recover(self, partitions: Iterable[int], timeout: float = 600.0) -> dict[int, Table]:
        """Read each partition's changelog to its end; the last record of a key wins."""
        wanted = sorted(set(partitions))
        tables: dict[int, Table] = {p: {} for p in wanted}
        if not wanted:
            return tables
        reader = kafka.consumer(
            self.settings,
            f"{self.topic}-restore",
            **{
                "enable.partition.eof": True,
                "fetch.max.bytes": 64 * 1024 * 1024,
                "max.partition.fetch.bytes": 16 * 1024 * 1024,
            },
        )
        started = time.monotonic()

        def take(message: Message[bytes, bytes]) -> None:
            key, value, partition = message.key(), message.value(), message.partition()
            if key is None or partition is None:
                return
            if value is None:
                tables[partition].pop(key, None)
            else:
                tables[partition][key] = value

        try:
            reader.assign([TopicPartition(self.topic, p, 0) for p in wanted])
            records = kafka.read_to_end(
                reader,
                [(self.topic, p) for p in wanted],
                take,
                what=f"changelog {self.topic}",
                timeout=timeout,
                strict=True,
            )
        finally:
            reader.close()
        log.info(
            "changelog %s: partitions %s restored, %d records, %d contacts in %.1fs",
            self.topic,
            wanted,
            records,
            sum(len(t) for t in tables.values()),
            time.monotonic() - started,
        )
        return tables
