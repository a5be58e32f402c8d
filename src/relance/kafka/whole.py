"""Topics read whole, whatever partitions a process holds: the worker reads the catalog and
the orders this way, the sender the catalog. Each process says what it does with a record.

Every partition is assigned (never subscribed) and read from its start at every start;
nothing is committed. ``start`` reads each topic to its end, handing records over as not
``live`` (they happened before and were answered then), and ``poll`` hands over what came
since, ``live``. The worker polls in its own loop, between two batches; ``Follower`` polls in
a thread of its own for a process whose loop does not.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from relance.kafka.clients import read_to_end

log = logging.getLogger(__name__)

# A record, and whether it is live (quoted: the stubs make Message generic, the class is not).
Take = Callable[["Message[bytes, bytes]", bool], None]


class WholeTopics:
    def __init__(
        self,
        new_reader: Callable[[], Consumer],
        topics: Sequence[str],
        take: Take,
        *,
        what: str,
        describe: Callable[[], str] | None = None,
    ) -> None:
        """``new_reader``: a consumer with ``enable.partition.eof``; ``describe`` adds what
        was learnt to the line logged once the topics are read up."""
        self.new_reader = new_reader
        self.topics = tuple(topics)
        self.take = take
        self.what = what
        self.describe = describe
        self.found: list[str] = []
        self._reader: Consumer | None = None

    def start(self) -> int:
        """Read every topic to its end; the records read. A missing topic is skipped (and
        missing from ``found``)."""
        if not self.topics:
            return 0
        reader = self._reader = self.new_reader()
        assigned = []
        for topic in self.topics:
            metadata = reader.list_topics(topic, timeout=10).topics.get(topic)
            if metadata is None or metadata.error is not None:
                log.warning("%s: topic %s not found, not read", self.what, topic)
                continue
            self.found.append(topic)
            assigned += [TopicPartition(topic, p, OFFSET_BEGINNING) for p in metadata.partitions]
        if not assigned:
            self.close()
            return 0
        reader.assign(assigned)
        started = time.monotonic()
        read = read_to_end(
            reader,
            [(tp.topic, tp.partition) for tp in assigned],
            lambda message: self.take(message, False),
            what=self.what,
        )
        log.info(
            "%s %s: %d messages read in %.1fs%s",
            self.what,
            self.found,
            read,
            time.monotonic() - started,
            f" ({self.describe()})" if self.describe else "",
        )
        return read

    def poll(self, timeout: float = 0.0) -> int:
        """Hand over what arrived since (waiting up to ``timeout`` for it); how many."""
        if self._reader is None:
            return 0
        taken = 0
        for message in self._reader.consume(1000, timeout):
            if message.error() is None:  # else mostly the end of a partition: skipped
                self.take(message, True)
                taken += 1
        return taken

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


class Follower:
    """``topics`` read up by ``start`` (in the caller's thread, so that the caller goes on
    only once they are), then followed in a thread until ``stop``."""

    def __init__(self, topics: WholeTopics, *, wait: float = 0.2) -> None:
        self.topics = topics
        self.wait = wait
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.topics.start()
        if not self.topics.found:
            return
        self._thread = threading.Thread(
            target=self._follow, name=f"follow {self.topics.what}", daemon=True
        )
        self._thread.start()

    def _follow(self) -> None:
        try:
            while not self._stopping.is_set():
                self.topics.poll(self.wait)
        finally:
            self.topics.close()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
