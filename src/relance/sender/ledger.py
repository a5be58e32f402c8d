"""The sender's ledger: the ids of the commands it handled, with their outcome.

One table per partition of the delivery topic, in memory, made durable in a compacted
changelog topic partitioned the same way: a sender given a partition reads that partition of
the changelog to its end first, so a command redelivered after a crash or a rebalance is
found there and not sent again.

It is bounded: an id settled longer than ``retention_ms`` ago is forgotten, with a tombstone
in the changelog (compaction then removes it there too), when its partition is restored and
at every ``sweep``. A forgotten id cannot be sent again: the retention is longer than the
delivery horizon, past which a command is recorded ``expired`` and never attempted; and it is
longer than the delivery topic keeps a command, so a redelivered one is still a ``duplicate``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, MutableMapping

from relance.core.timestamps import to_iso
from relance.kafka.changelog import Changelog, Table
from relance.kafka.outputs import Outputs

log = logging.getLogger(__name__)


def forgettable(table: Mapping[bytes, bytes], cutoff_ms: int) -> list[bytes]:
    """The ids of ``table`` settled before ``cutoff_ms``. A value is ``outcome@<time>``, the
    time in ``to_iso``'s one format, which sorts as text: no value is parsed. A value without
    a time is never forgotten."""
    cutoff = to_iso(cutoff_ms).encode()
    forget = []
    for key, value in table.items():
        _, at, settled = value.rpartition(b"@")
        if at and settled < cutoff:
            forget.append(key)
    return forget


class Ledger:
    """Per partition of the delivery topic, the ids handled; ``partition`` is the one the
    command in hand belongs to."""

    def __init__(self, changelog: Changelog, outputs: Outputs, *, retention_ms: int) -> None:
        self.changelog = changelog
        self.outputs = outputs
        self.retention_ms = retention_ms
        self.tables: dict[int, Table] = {}

    def partition(self, number: int) -> LedgerPartition:
        return LedgerPartition(self.tables[number], number, self.changelog.topic, self.outputs)

    def restore(self, partitions: list[int], now_ms: int) -> None:
        self.tables.update(self.changelog.recover(partitions))
        self.sweep(partitions, now_ms)

    def sweep(self, partitions: Iterable[int], now_ms: int) -> int:
        """Forget the ids of ``partitions`` settled more than the retention before
        ``now_ms``: a tombstone each in the changelog (acknowledged), then out of memory."""
        forgotten = 0
        for partition in sorted(partitions):
            table = self.tables.get(partition)
            if not table:
                continue
            old = forgettable(table, now_ms - self.retention_ms)
            for key in old:
                self.outputs.put(self.changelog.topic, key, None, partition=partition)
            if old:
                self.outputs.wait()
            for key in old:
                del table[key]
            forgotten += len(old)
        if forgotten:
            log.info(
                "delivery ledger: %d ids settled before %s forgotten",
                forgotten,
                to_iso(now_ms - self.retention_ms),
            )
        return forgotten

    def drop(self, partitions: set[int]) -> None:
        for partition in partitions:
            self.tables.pop(partition, None)


class LedgerPartition(MutableMapping[bytes, bytes]):
    """One partition's ids; a write goes to the same partition of the changelog at once and
    is acknowledged by ``Outputs.wait``."""

    def __init__(self, table: Table, partition: int, topic: str, outputs: Outputs) -> None:
        self.table = table
        self.partition = partition
        self.topic = topic
        self.outputs = outputs

    def __getitem__(self, key: bytes) -> bytes:
        return self.table[key]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.table[key] = value
        self.outputs.write(self.topic, self.partition, [(key, value)])

    def __delitem__(self, key: bytes) -> None:
        raise TypeError("the ledger forgets an id only by its age (Ledger.sweep)")

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)
