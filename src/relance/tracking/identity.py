"""Anonymous visitors: their events held by anonymous id until the visitor is identified.

A source event with only an anonymous id (a Segment ``anonymousId``, a GA4 ``client_id``)
is mapped to events of the contact ``anon:<id>``, which no message can reach. The identity
stage keeps them, per anonymous id, until a link says whose they are (a Segment call with a
``userId`` beside the ``anonymousId``, an ``alias``; a GA4 ``user_id`` beside the
``client_id``): then the events of the last ``inputs.anonymous_window`` count for that
contact, and later events of the anonymous id are that contact's too.

Released events keep their event ids, so that releasing them again (a link read twice after
a crash) is a duplicate the contact drops; they are dated at the link, the moment they
became a reachable contact's, so a reminder's delay counts from when relance can answer it
(their own times would have made the reminder due before the consent that came with the
link, and suppressed it). An anonymous id holds at most ``inputs.anonymous_max_events``
events (the latest), and is forgotten ``anonymous_window`` after the last thing seen of it.

Pure: the same ``Identities`` run in the worker's source relay (one per partition of the
identity topic, kept in a compacted changelog) and in ``relance simulate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import msgspec
import orjson

from relance.codec.records import event_from_record
from relance.core.events import Event, event_to_record
from relance.core.scenarios import InputRules
from relance.errors import InvalidEventError
from relance.tracking.mapped import ANONYMOUS, ANONYMOUS_PREFIX, Mapped


@dataclass(frozen=True, slots=True)
class Visitor:
    """What is kept of one anonymous id: whose it is, once linked, else its events."""

    seen_at: int  # the latest time of its events and links: it expires a window after
    contact: str | None = None
    events: tuple[Event, ...] = ()
    linked_at: int = 0  # when it became the contact's


@dataclass(frozen=True, slots=True)
class Taken:
    """What one event or link did: the events to write (the contact's), the visitor's new
    state (None: nothing kept), and its outcome (``buffered``, ``mapped``, ``released``,
    ``linked``, ``dropped``)."""

    events: tuple[Event, ...]
    visitor: Visitor | None
    outcome: str


def anonymous_id(contact_id: str) -> str | None:
    """The anonymous id of an ``anon:`` contact id, else None."""
    return contact_id[len(ANONYMOUS_PREFIX) :] if contact_id.startswith(ANONYMOUS_PREFIX) else None


def rekeyed(event: Event, contact: str, at: int | None = None) -> Event:
    if at is None or at <= event.occurred_at:
        return msgspec.structs.replace(event, contact_id=contact)
    return msgspec.structs.replace(event, contact_id=contact, occurred_at=at)


def take_event(visitor: Visitor | None, event: Event, rules: InputRules) -> Taken:
    """An anonymous visitor's event: the contact's if linked, else kept (bounded)."""
    if visitor is not None and expired(visitor, event.occurred_at, rules):
        visitor = None  # as if already forgotten, whenever ``expire`` runs
    seen = max(event.occurred_at, visitor.seen_at if visitor else event.occurred_at)
    if visitor is not None and visitor.contact is not None:
        after = Visitor(seen, visitor.contact, (), visitor.linked_at)
        if event.occurred_at >= visitor.linked_at:
            return Taken((rekeyed(event, visitor.contact),), after, "mapped")
        # Older than the link, read after it (from a partition read later): released as
        # the link would have released it.
        if event.occurred_at < visitor.linked_at - rules.anonymous_window_ms:
            return Taken((), after, "dropped")
        return Taken((rekeyed(event, visitor.contact, visitor.linked_at),), after, "released")
    kept = () if visitor is None else visitor.events
    if any(e.event_id == event.event_id for e in kept):  # read again after a crash
        return Taken((), visitor, "buffered")
    oldest = seen - rules.anonymous_window_ms
    # In time order whatever order they came in: a source's partitions are read in any.
    kept = tuple(sorted((e for e in (*kept, event) if e.occurred_at >= oldest), key=_chronological))
    kept = kept[-rules.anonymous_max_events :]
    return Taken((), Visitor(seen, None, kept), "buffered" if event in kept else "dropped")


def _chronological(event: Event) -> int:
    # Stable: the events of one message (a checkout's clear, then its lines) keep their order.
    return event.occurred_at


def take_link(visitor: Visitor | None, contact: str, at: int, rules: InputRules) -> Taken:
    """The anonymous id is ``contact``'s from ``at``: its events of the window before
    ``at`` are released to the contact, dated ``at`` (once: a linked visitor has none)."""
    if visitor is not None and expired(visitor, at, rules):
        visitor = None
    seen = at if visitor is None else max(at, visitor.seen_at)
    if visitor is None or visitor.contact is not None:
        since = visitor.linked_at if visitor is not None and visitor.contact == contact else at
        return Taken((), Visitor(seen, contact, (), since), "linked")
    oldest = at - rules.anonymous_window_ms
    released = tuple(rekeyed(e, contact, at) for e in visitor.events if e.occurred_at >= oldest)
    return Taken(released, Visitor(seen, contact, (), at), "released" if released else "linked")


def expired(visitor: Visitor, now: int, rules: InputRules) -> bool:
    return visitor.seen_at < now - rules.anonymous_window_ms


class Identities:
    """The visitors of one table (a partition of the identity topic, or a whole replay)."""

    def __init__(self, rules: InputRules) -> None:
        self.rules = rules
        self.visitors: dict[str, Visitor] = {}
        self.now = 0  # the latest time seen: visitors a window older expire

    def event(self, anonymous: str, event: Event) -> Taken:
        return self._keep(anonymous, take_event(self.visitors.get(anonymous), event, self.rules))

    def link(self, anonymous: str, contact: str, at: int) -> Taken:
        return self._keep(
            anonymous, take_link(self.visitors.get(anonymous), contact, at, self.rules)
        )

    def _keep(self, anonymous: str, taken: Taken) -> Taken:
        if taken.visitor is None:
            self.visitors.pop(anonymous, None)
        else:
            self.visitors[anonymous] = taken.visitor
            self.now = max(self.now, taken.visitor.seen_at)
        return taken

    def expire(self, now: int | None = None) -> list[str]:
        """Forget the visitors seen last a window before the latest time seen (or ``now``,
        if later). Memory only: a visitor a window old is taken as new either way."""
        self.now = max(self.now, now or 0)
        gone = [
            key for key, visitor in self.visitors.items() if expired(visitor, self.now, self.rules)
        ]
        for key in gone:
            del self.visitors[key]
        return gone


# The identity topic's records and the changelog's states, as JSON.

EVENT: Final = "event"
LINK: Final = "link"


def event_record(event: Event) -> bytes:
    return orjson.dumps({"kind": EVENT, "event": event_to_record(event)})


def link_record(contact: str, at: int, events: tuple[Event, ...] = ()) -> bytes:
    """A link, with the events of the source event that made it (written after what it
    releases, which is older)."""
    return orjson.dumps(
        {"kind": LINK, "contact": contact, "at": at, "events": [event_to_record(e) for e in events]}
    )


def read_record(raw: bytes, rules: InputRules) -> tuple[str, Any]:
    """An identity record: (``event``, the event) or (``link``, (contact, at, events)); one
    the relay did not write is refused as ``not_json`` or ``bad_value``."""
    try:
        record = orjson.loads(raw)
        if record["kind"] == EVENT:
            return EVENT, event_from_record(record["event"], rules=rules)
        if record["kind"] == LINK:
            events = tuple(event_from_record(e, rules=rules) for e in record.get("events", ()))
            return LINK, (str(record["contact"]), int(record["at"]), events)
    except orjson.JSONDecodeError as exc:
        raise InvalidEventError("not_json", f"identity record: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidEventError("bad_value", f"identity record: {exc!r}") from None
    raise InvalidEventError("bad_value", "identity record: kind must be event or link")


def visitor_bytes(visitor: Visitor) -> bytes:
    return orjson.dumps(
        {
            "seen_at": visitor.seen_at,
            "contact": visitor.contact,
            "events": [event_to_record(e) for e in visitor.events],
            "linked_at": visitor.linked_at,
        }
    )


def visitor_from(raw: bytes, rules: InputRules) -> Visitor:
    record = orjson.loads(raw)
    return Visitor(
        int(record["seen_at"]),
        record["contact"],
        tuple(event_from_record(e, rules=rules) for e in record["events"]),
        int(record.get("linked_at", 0)),
    )


def resolve(items: list[Mapped], identities: Identities) -> tuple[list[Event], list[str]]:
    """The events of one source message once the identity stage has taken it (offline, in
    one table; the relay does the same in two hops): an anonymous visitor's kept or mapped;
    what a link releases, then the linking event's own (a Shopify checkout's cart, newer
    than the visitor's earlier snapshot of it, must come last); and the outcomes."""
    events: list[Event] = []
    outcomes: list[str] = []
    for item in items:
        if item.skipped == ANONYMOUS:
            for event in item.events:
                anonymous = anonymous_id(event.contact_id)
                assert anonymous is not None
                taken = identities.event(anonymous, event)
                events.extend(taken.events)
                outcomes.append(taken.outcome)
        if item.link is not None:  # what it releases is older than the event's own
            anonymous, contact, at = item.link
            taken = identities.link(anonymous, contact, at)
            events.extend(taken.events)
            outcomes.append(taken.outcome)
        if item.skipped is None:
            events.extend(item.events)
    return events, outcomes
