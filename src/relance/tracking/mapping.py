"""A declarative mapping, for a source no adapter knows: which field names the event, which
canonical type each event name is, and where each canonical field comes from (a path in
the source's JSON object, or a constant). ``mapping_file`` reads one from YAML.

Values are converted by the canonical field they fill, as the adapters convert them: ids
may be whole numbers, prices and totals decimal strings, quantities ``"2"``, consent
``"yes"``; ``occurred_at`` is epoch ms or ISO-8601 with an offset, or a number of seconds,
milliseconds or microseconds with ``unit``. An event without an ``event_id`` gets the stable
hash of the source object (``values.stable_id``); one without a ``contact_id`` but with the
mapping's ``anonymous_id`` is an anonymous visitor's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from relance.core.events import (
    CART_ACTIONS,
    CHANNELS,
    ENGAGEMENT_KINDS,
    ORDER_STATUSES,
    PAGE_TYPES,
)
from relance.core.scenarios import InputRules, InputSource
from relance.errors import InvalidEventError
from relance.tracking.mapped import ANONYMOUS_PREFIX, Mapped, build, refused, skip, unknown
from relance.tracking.sources import Headers, load
from relance.tracking.values import (
    currency,
    flag,
    ident,
    money,
    path,
    quantity,
    stable_id,
)

PRODUCT: Final = tuple(
    f"product.{name}"
    for name in ("id", "name", "price", "currency", "category_id", "url", "image_url", "in_stock")
)
COMMON: Final = ("event_id", "contact_id", "occurred_at")
FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "page_view": ("page_type", "category_id", "search_query", "url", *PRODUCT),
    "cart": ("action", "quantity", "cart_id", *PRODUCT),
    "order": ("order_id", "status", "total", "currency", "cart_id"),
    "contact": (
        "email",
        "phone",
        "locale",
        "timezone",
        "marketing_opt_in",
        "birthday",
        "subscription_ends_on",
        "sms_opt_in",
        "first_name",
    ),
    "engagement": ("kind", "channel", "command_id", "scope"),
}
ITEM_FIELDS: Final = ("quantity", *PRODUCT)
# Fields a mapping must fill for every event of a type (currency may be the source's option).
REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "page_view": ("page_type",),
    "cart": ("action",),
    "order": ("order_id", "status", "total"),
    "contact": (),
    "engagement": ("kind",),
}
CHOICES: Final[dict[str, frozenset[str]]] = {
    "page_type": PAGE_TYPES,
    "action": CART_ACTIONS,
    "status": ORDER_STATUSES,
    "kind": ENGAGEMENT_KINDS,
    "channel": CHANNELS,
}
UNITS: Final = {"s": 1000, "ms": 1, "us": 0.001}
_IDS: Final = frozenset(
    {
        "event_id",
        "contact_id",
        "order_id",
        "cart_id",
        "category_id",
        "command_id",
        "product.id",
        "product.category_id",
    }
)
_FLAGS: Final = frozenset({"marketing_opt_in", "sms_opt_in", "product.in_stock"})


@dataclass(frozen=True)
class Value:
    """Where a field comes from: the source's ``path`` (with a ``default`` when absent), or
    a ``constant``; ``unit`` scales a numeric ``occurred_at`` to milliseconds."""

    path: str | None = None
    constant: Any = None
    default: Any = None
    unit: str | None = None

    def read(self, record: Any) -> Any:
        if self.path is None:
            return self.constant
        found = path(record, self.path) if self.path else record
        return self.default if found is None else found

    @property
    def where(self) -> str:
        return self.path if self.path is not None else "(a constant)"


Fields = tuple[tuple[str, Value], ...]


@dataclass(frozen=True)
class EventMapping:
    """One event name: its canonical type (``skip``: known, not used), its fields, and for
    an order its lines (``each``: the path of the list; ``items``: each line's fields)."""

    type: str
    fields: Fields = ()
    each: str | None = None
    items: Fields = ()


@dataclass(frozen=True)
class Mapping:
    file: str
    event: Value
    events: tuple[tuple[str, EventMapping], ...]
    fields: Fields = ()  # every event's, under its own
    anonymous_id: Value | None = None
    by_name: dict[str, EventMapping] = field(init=False, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", dict(self.events))


def _converter(name: str, default_currency: str | None) -> Callable[[Any, str], Any]:
    if name in _IDS:
        return ident
    if name in ("total", "product.price"):
        return money
    if name == "quantity":
        return quantity
    if name in _FLAGS:
        return flag
    if name in ("currency", "product.currency"):
        return lambda value, where: currency(value, where, default_currency)
    return lambda value, where: value


def _set(record: dict[str, Any], name: str, value: Any) -> None:
    if value is None:
        return
    if name.startswith("product."):
        record.setdefault("product", {})[name[8:]] = value
    else:
        record[name] = value


class MappedSource:
    def __init__(self, source: InputSource, rules: InputRules) -> None:
        if not isinstance(source.mapping, Mapping):
            raise TypeError(f"source {source.name} has no mapping file read")
        self.mapping = source.mapping
        self.rules = rules
        self.currency = source.option("currency", "") or None
        self.unknown_events = source.option("unknown_events", "dead_letter")

    def read(self, raw: bytes, headers: Headers | None = None) -> list[Mapped]:
        record = load(raw, self.rules, "mapping")
        event = self.mapping.event.read(record)
        if type(event) is int:  # YAML names it as text
            event = str(event)
        name = f"mapped event {event!r}"
        found = self.mapping.by_name.get(event) if isinstance(event, str) else None
        if found is None:
            return [unknown(name, self.unknown_events)]
        if found.type == "skip":
            return [skip(name, "not_used")]
        try:
            canonical, anonymous, visitor = self._record(record, found)
        except InvalidEventError as error:
            raise refused(name, error) from None
        return [build([canonical], name, self.rules, anonymous=anonymous, link=visitor)]

    def _fill(self, target: dict[str, Any], source: Any, fields: Fields) -> None:
        for name, value in fields:
            found = value.read(source)
            if name == "occurred_at" and value.unit is not None and found is not None:
                found = _scaled(found, value)
            elif found is not None or name.endswith("currency"):
                found = _converter(name, self.currency)(found, value.where)
            _set(target, name, found)

    def _record(self, record: Any, event: EventMapping) -> tuple[dict[str, Any], bool, str | None]:
        """The canonical record, whether it is an anonymous visitor's, and the anonymous id
        it names beside a contact id (who that visitor is)."""
        canonical: dict[str, Any] = {"type": event.type}
        own = {name for name, _ in event.fields}
        self._fill(
            canonical,
            record,
            tuple(
                (name, value)
                for name, value in self.mapping.fields
                if (name in COMMON or name in FIELDS[event.type]) and name not in own
            ),
        )
        self._fill(canonical, record, event.fields)
        if event.each is not None:
            canonical["items"] = self._items(record, event)
        if event.type == "order" and "currency" not in canonical and self.currency:
            canonical["currency"] = self.currency  # the source's option, when not mapped
        anonymous, visitor = False, None
        if self.mapping.anonymous_id is not None:
            visitor = ident(self.mapping.anonymous_id.read(record), self.mapping.anonymous_id.where)
            if visitor and not canonical.get("contact_id"):
                canonical["contact_id"] = ANONYMOUS_PREFIX + visitor
                anonymous = True
        if not canonical.get("event_id"):
            canonical["event_id"] = stable_id("mapping", record)
        return canonical, anonymous, visitor

    def _items(self, record: Any, event: EventMapping) -> list[dict[str, Any]]:
        assert event.each is not None
        lines = path(record, event.each) if event.each else record
        if not isinstance(lines, list):
            raise InvalidEventError(
                "bad_type" if lines is not None else "missing_field",
                f"{event.each} must be a list of the order's lines",
            )
        items = []
        for line in lines:
            item: dict[str, Any] = {}
            self._fill(item, line, event.items)
            items.append(item)
        return items


def _scaled(found: Any, value: Value) -> int:
    """A number of ``value.unit`` (or its digits) as epoch ms, rounded down, exactly for
    whole numbers."""
    if type(found) is str and found.strip().lstrip("-").isdigit():
        found = int(found)
    if type(found) is int:
        return found * 1000 if value.unit == "s" else found // 1000 if value.unit == "us" else found
    if type(found) is float and math.isfinite(found):
        return math.floor(found * UNITS[value.unit or "ms"])
    raise InvalidEventError(
        "bad_type", f"{value.where} must be a number of {value.unit}, not {found!r}"
    )
