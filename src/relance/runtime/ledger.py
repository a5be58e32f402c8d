"""The sender's ledger: the ids of the commands it handled, with their outcome.

One table per partition of the delivery topic, in memory, made durable in a compacted
changelog topic partitioned the same way: a sender given a partition reads that partition of
the changelog to its end first, so a command redelivered after a crash or a rebalance is
found there and not sent again.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

from relance.runtime.changelog import Changelog, Table
from relance.runtime.outputs import Outputs


class Ledger(MutableMapping[bytes, bytes]):
    """The table of the partition being handled (``handling``); writes go to the changelog
    at once and are acknowledged by ``Outputs.wait``."""

    def __init__(self, changelog: Changelog, outputs: Outputs) -> None:
        self.changelog = changelog
        self.outputs = outputs
        self.tables: dict[int, Table] = {}
        self.handling = 0

    def restore(self, partitions: list[int]) -> None:
        self.tables.update(self.changelog.recover(partitions))

    def drop(self, partitions: set[int]) -> None:
        for partition in partitions:
            self.tables.pop(partition, None)

    def __getitem__(self, key: bytes) -> bytes:
        return self.tables[self.handling][key]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.tables[self.handling][key] = value
        self.outputs.write(self.changelog.topic, self.handling, [(key, value)])

    def __delitem__(self, key: bytes) -> None:
        raise TypeError("the ledger forgets nothing")

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.tables[self.handling])

    def __len__(self) -> int:
        return len(self.tables[self.handling])
