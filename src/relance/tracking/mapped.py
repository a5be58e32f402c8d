"""What an adapter makes of one source message, and the one way it builds canonical events.

A message holds one source event (a Segment call, a GA4 export row, a Shopify webhook) or
several (a Measurement Protocol request); each becomes a ``Mapped``: the canonical events it
stands for, or why it stands for none:

- ``not_used``: an event of the source's specification relance has no use for (a Segment
  ``Product Shared``, a GA4 ``scroll``), skipped and counted;
- ``unknown``: an event outside it (a custom event name), skipped and counted when the
  source's ``unknown_events`` option is ``skip`` (by default it is dead-lettered as
  ``unknown_type``);
- ``anonymous``: mapped, but only an anonymous id says who did it. Its events carry the
  contact id ``anon:<anonymous id>``: with ``inputs.anonymous_window`` the identity stage
  (``identity``) keeps them until the visitor is identified, else they are skipped and
  counted.

An event that names both a contact and an anonymous id carries the anonymous id as its
``link``: the visitor is that contact.

A message any of whose events cannot be mapped is refused whole (``InvalidEventError``,
the detail naming the source event), so that its dead letter can be replayed once fixed.
Canonical events are built as records and validated by ``codec.records``, exactly as a
canonical event on the wire, limits of the scenario file's ``inputs`` included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from relance.codec.limits import check_fields
from relance.codec.records import event_from_record, fits_rules
from relance.core.events import CartChange, ContactProfile, Engagement, Event, Order, PageView
from relance.core.scenarios import InputRules
from relance.errors import InvalidEventError

NOT_USED: Final = "not_used"
UNKNOWN: Final = "unknown"
ANONYMOUS: Final = "anonymous"
SKIPS: Final = (NOT_USED, UNKNOWN, ANONYMOUS)
ANONYMOUS_PREFIX: Final = "anon:"


@dataclass(frozen=True, slots=True)
class Mapped:
    """One source event: ``name`` as its source calls it (``track "Product Added"``,
    ``purchase``, ``orders/create``), its canonical events, and why it is skipped, if it
    is (then ``events`` are those of an anonymous visitor, or none)."""

    name: str
    events: tuple[Event, ...] = ()
    skipped: str | None = None
    # (anonymous id, contact id, time): the source gave both ids, so the visitor is that
    # contact from then on (``relance.tracking.identity``).
    link: tuple[str, str, int] | None = None


def skip(name: str, reason: str) -> Mapped:
    return Mapped(name, (), reason)


def unknown(name: str, unknown_events: str) -> Mapped:
    """An event outside the source's specification: skipped, or refused (the default)."""
    if unknown_events == "skip":
        return skip(name, UNKNOWN)
    raise InvalidEventError(
        "unknown_type",
        f"{name}: not an event relance maps (the "
        "source's unknown_events: skip counts such events instead)",
    )


# Canonical records become events as JSON does (``codec.json``): msgspec builds and
# type-checks them in C, ``fits_rules`` checks what types cannot say, and a record either
# refuses is validated again by ``records``, which accepts the same and explains the rest.
_TYPES: Final[dict[Any, type[Event]]] = {
    "page_view": PageView,
    "cart": CartChange,
    "order": Order,
    "contact": ContactProfile,
    "engagement": Engagement,
}


def _event(record: dict[str, Any], rules: InputRules) -> Event:
    kind = _TYPES.get(record.get("type"))
    if kind is not None:
        try:
            event = msgspec.convert(record, kind)
        except msgspec.ValidationError:
            event = None
        if event is not None and fits_rules(event):
            check_fields(event, rules)
            return event
    return event_from_record(record, rules=rules)


def build(
    records: list[dict[str, Any]],
    name: str,
    rules: InputRules,
    *,
    anonymous: bool = False,
    link: str | None = None,
) -> Mapped:
    """Validate canonical ``records`` (each with its ``type``) into events."""
    events = []
    for record in records:
        try:
            events.append(_event(record, rules))
        except InvalidEventError as error:
            raise InvalidEventError(
                error.reason, f"{name}: as an event of type {record.get('type')}, {error.detail}"
            ) from None
    if anonymous or not link or not events:
        return Mapped(name, tuple(events), ANONYMOUS if anonymous else None)
    return Mapped(
        name, tuple(events), None, (link, events[0].contact_id, max(e.occurred_at for e in events))
    )


def refused(name: str, error: InvalidEventError) -> InvalidEventError:
    """``error`` with the source event it is about in its detail (once)."""
    if error.detail.startswith(f"{name}:"):
        return error
    return InvalidEventError(error.reason, f"{name}: {error.detail}")


def who(user_id: str | None, anonymous_id: str | None, fields: str) -> tuple[str, bool]:
    """The contact id and whether it is an anonymous visitor's."""
    if user_id:
        return user_id, False
    if anonymous_id:
        return ANONYMOUS_PREFIX + anonymous_id, True
    raise InvalidEventError("missing_field", f"{fields} is required")


def require(value: Any, where: str) -> Any:
    if value is None or value == "" or value == []:
        raise InvalidEventError("missing_field", f"{where} is required")
    return value


def clean(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` without its absent fields (a profile field left out keeps its value)."""
    return {key: value for key, value in record.items() if value is not None}
