"""The source relay's identity stage: anonymous visitors' events kept by anonymous id, across
partitions, until the visitor is identified (``relance.tracking.identity``).

A source is keyed however its producer keys it, so one visitor's events and the call that
identifies them can be on any partitions, read by any worker. The stage works in two hops:

1. The relay writes each anonymous event, and each link (an anonymous id beside a contact
   id), to the identity topic (``<app>-identities``) keyed by the anonymous id: all that is
   known of one visitor comes together on one partition of it, in the order written.
2. The relay reads the identity topic too. Per partition it holds the visitors in memory
   (``Identities``), each one's state written to a compacted changelog
   (``<app>-identities-changelog``, keyed by anonymous id, on the same partition number) and
   read back when the partition is assigned. A linked visitor's events, and those a link
   releases, are written to the input topics keyed by the contact, like any relayed event.

Released events keep their source event ids, so that a link read again after a crash
releases the same events at the same time, which the contact's duplicate window drops. The
changelog state that says a visitor is released is written only once the released events
are acknowledged: a crash in between leaves the visitor holding them, to release again.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from relance.core.events import Event, EventType
from relance.core.scenarios import InputRules
from relance.kafka.changelog import Changelog
from relance.kafka.outputs import Outputs
from relance.tracking.identity import (
    Identities,
    Taken,
    Visitor,
    anonymous_id,
    event_record,
    link_record,
    read_record,
    visitor_bytes,
    visitor_from,
)
from relance.tracking.mapped import ANONYMOUS, Mapped

log = logging.getLogger(__name__)

Target = tuple[str, Callable[[Event], bytes]]
# Links the relay remembers having written (anonymous id -> contact), so that a site that
# sends both ids on every call after a login costs one identity record, not one per call.
_LINKS_KEPT: Final = 100_000
_MOST_STATE_BYTES: Final = 900_000  # under the broker's default 1 MB record limit


class IdentityStage:
    def __init__(
        self,
        topic: str,
        changelog: Changelog,
        rules: InputRules,
        outputs: Outputs,
        targets: Mapping[EventType, Target],
        observe: Callable[[str, str], None],
    ) -> None:
        self.topic = topic
        self.changelog = changelog
        self.rules = rules
        self.outputs = outputs
        self.targets = targets
        self.observe = observe  # (topic, outcome), as relance_source_events_total counts
        self.tables: dict[int, Identities] = {}
        self.written: OrderedDict[str, str] = OrderedDict()

    # Hop 1: a source message's anonymous events and links, to the identity topic.

    def forward(self, item: Mapped) -> bool:
        """Write what the stage needs of ``item``; True when the stage also writes its own
        events (after those its link releases), so the relay must not."""
        if item.skipped == ANONYMOUS:
            for event in item.events:
                anonymous = anonymous_id(event.contact_id)
                assert anonymous is not None
                self.outputs.put(self.topic, anonymous.encode(), event_record(event))
        if item.link is not None:
            anonymous, contact, at = item.link
            if self.written.get(anonymous) == contact:
                self.written.move_to_end(anonymous)
                return False
            own = item.events if item.skipped is None else ()
            self.outputs.put(self.topic, anonymous.encode(), link_record(contact, at, own))
            self.written[anonymous] = contact
            if len(self.written) > _LINKS_KEPT:
                self.written.popitem(last=False)
            return True
        return False

    # Hop 2: the identity topic's records, per partition of it.

    def take(self, partition: int, key: bytes | None, value: bytes | None) -> None:
        """One identity record: the visitor's state changed, its events written (or kept)."""
        if key is None or value is None:
            return
        table = self.tables.setdefault(partition, Identities(self.rules))
        anonymous = key.decode()
        kind, found = read_record(value, self.rules)
        if kind == "event":
            taken = table.event(anonymous, found)
        else:
            contact, at, own = found
            taken = table.link(anonymous, contact, at)
            taken = Taken((*taken.events, *own), taken.visitor, taken.outcome)
        self._write(partition, anonymous, taken)

    def _write(self, partition: int, anonymous: str, taken: Taken) -> None:
        for event in taken.events:
            target, encode = self.targets[event.type]
            self.outputs.put(target, event.contact_id.encode(), encode(event))
        if taken.outcome == "released":
            self.outputs.wait()  # the events before the state that says they went
        raw = None if taken.visitor is None else self._fitted(partition, anonymous, taken.visitor)
        self.outputs.put(self.changelog.topic, anonymous.encode(), raw, partition=partition)
        self.observe(self.topic, taken.outcome)

    def _fitted(self, partition: int, anonymous: str, visitor: Visitor) -> bytes:
        """The visitor's changelog record; the oldest events dropped while it is larger than
        a record may be (events near ``max_event_bytes``), which only the worker does."""
        raw = visitor_bytes(visitor)
        while len(raw) > _MOST_STATE_BYTES and visitor.events:
            visitor = Visitor(
                visitor.seen_at, visitor.contact, visitor.events[1:], visitor.linked_at
            )
            self.tables[partition].visitors[anonymous] = visitor
            raw = visitor_bytes(visitor)
            self.observe(self.topic, "dropped")
        return raw

    def expire(self) -> int:
        """Forget the visitors a window older than the latest time this stage has seen
        (a tombstone each in the changelog); how many are still held."""
        now = max((t.now for t in self.tables.values()), default=0)
        for partition, table in self.tables.items():
            for anonymous in table.expire(now):
                self.outputs.put(
                    self.changelog.topic, anonymous.encode(), None, partition=partition
                )
                self.observe(self.topic, "expired")
        return sum(len(t.visitors) for t in self.tables.values())

    def restore(self, partitions: Iterable[int]) -> str:
        wanted = sorted(set(partitions))
        if not wanted:
            return ""
        for partition, records in self.changelog.recover(wanted).items():
            table = self.tables[partition] = Identities(self.rules)
            for key, raw in records.items():
                visitor = visitor_from(raw, self.rules)
                table.visitors[key.decode()] = visitor
                table.now = max(table.now, visitor.seen_at)
        held = sum(len(self.tables[p].visitors) for p in wanted)
        return f"{held} anonymous visitors"

    def release(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self.tables.pop(partition, None)
