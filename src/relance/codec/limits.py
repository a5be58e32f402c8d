"""How large an inbound event may be (the scenario file's ``inputs``): its encoded bytes, and
each string field's UTF-8 bytes by kind (ids, names, URLs, search queries). What exceeds a
limit is refused as ``too_large``, naming the field. And how far ahead of the clock its time
may be (``too_far_ahead``), which the worker and ``relance simulate`` decide outside the core.

Every decode path checks here, the live worker's and ``relance simulate``'s alike. The check
is cheap for the events that pass: a string field never has more UTF-8 bytes than its
message (a JSON escape only shortens a string once decoded, an Avro string is its UTF-8
bytes), so a message no longer than the smallest field limit needs no field check; and a
field of at most a quarter of its limit in characters cannot be over it (a character is at
most 4 bytes), so only longer ones are encoded to be measured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

from relance.core.events import (
    CartChange,
    CatalogUpdate,
    ContactProfile,
    Engagement,
    Event,
    Order,
    PageView,
    Product,
)
from relance.core.scenarios import InputRules
from relance.core.timestamps import DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS, to_iso
from relance.errors import InvalidEventError

Screen = tuple[int, int, int, int]  # characters that cannot be over: ids, names, URLs, queries

_KEY: Final = {
    "id": "max_id_bytes",
    "name": "max_name_bytes",
    "url": "max_url_bytes",
    "query": "max_query_bytes",
}
_PRODUCT: Final = (
    ("id", "id"),
    ("name", "name"),
    ("currency", "id"),
    ("category_id", "id"),
    ("url", "url"),
    ("image_url", "url"),
)
_FIELDS: Final[dict[type, tuple[tuple[str, str], ...]]] = {
    PageView: (
        ("event_id", "id"),
        ("contact_id", "id"),
        ("category_id", "id"),
        ("search_query", "query"),
        ("url", "url"),
    ),
    CartChange: (("event_id", "id"), ("contact_id", "id"), ("cart_id", "id")),
    Order: (
        ("event_id", "id"),
        ("contact_id", "id"),
        ("order_id", "id"),
        ("currency", "id"),
        ("cart_id", "id"),
    ),
    ContactProfile: (
        ("event_id", "id"),
        ("contact_id", "id"),
        ("locale", "id"),
        ("first_name", "name"),
    ),
    Engagement: (("event_id", "id"), ("contact_id", "id"), ("command_id", "id")),
    CatalogUpdate: (("event_id", "id"),),
}


def too_large_event(size: int, rules: InputRules, record: Callable[[], Any]) -> InvalidEventError:
    """The refusal of a message of ``size`` bytes, over ``max_event_bytes`` (the caller
    compares, which costs nothing for the messages that pass). ``record`` reads the message,
    only now, to name its largest field in the detail."""
    detail = (
        f"the event is {size:,} bytes, more than inputs.max_event_bytes ({rules.max_event_bytes:,})"
    )
    try:
        largest = max(_strings_of(record(), ""), key=lambda found: found[1], default=None)
    except Exception:  # unreadable as well as too large: the size is reason enough
        largest = None
    if largest is not None:
        detail += f"; its largest field is {largest[0]} ({largest[1]:,} bytes)"
    return InvalidEventError("too_large", detail)


def too_far_ahead(occurred_at: int, latest: int, skew_ms: int, clock: str) -> InvalidEventError:
    """The refusal of an event dated after ``latest``, the ``clock``'s time plus the skew
    allowed (the caller compares)."""
    return InvalidEventError(
        "bad_value",
        f"occurred_at {_moment(occurred_at)} is more than {_span(skew_ms)} ahead "
        f"of {clock} ({_moment(latest - skew_ms)})",
    )


def _moment(epoch_ms: int) -> str:
    try:
        return to_iso(epoch_ms)
    except (OverflowError, ValueError, OSError):  # beyond what a datetime holds
        return f"{epoch_ms} ms after the epoch"


def _span(ms: int) -> str:
    for unit, size in (("d", DAY_MS), ("h", HOUR_MS), ("m", MINUTE_MS), ("s", SECOND_MS)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def check_fields(event: Event | CatalogUpdate, rules: InputRules, size: int | None = None) -> None:
    """Refuse an event with a string field over the limit of its kind. ``size`` is the
    bytes of the message it was read from, if known: a decoder may skip the call for a
    message of at most ``rules.smallest_field_bytes``, and in one of at most
    ``rules.smallest_other_bytes`` only ids can be over. (The JSON fast path spells this
    out, to spare the calls.)"""
    rest = size is None or size > rules.smallest_other_bytes
    if SCREENS[type(event)](event, rules.screen, rest):
        measure(event, rules)


def measure(event: Event | CatalogUpdate, rules: InputRules) -> None:
    """Refuse ``event`` if one of its fields is over its limit, measured exactly."""
    for path, text, kind in _fields(event):
        measured = len(text.encode("utf-8", "surrogatepass"))
        limit: int = getattr(rules, _KEY[kind])
        if measured > limit:
            raise InvalidEventError(
                "too_large",
                f"{path} is {measured:,} bytes, more than inputs.{_KEY[kind]} ({limit:,})",
            )
    if type(event) is ContactProfile and event.attributes:
        _measure_attributes(event.attributes, rules)


def _measure_attributes(attributes: dict[str, str], rules: InputRules) -> None:
    """At most ``max_attributes`` entries, each key and value at most ``max_attribute_bytes``
    (a value is named by its key, never shown: it may be personal data)."""
    if len(attributes) > rules.max_attributes:
        raise InvalidEventError(
            "too_large",
            f"attributes has {len(attributes):,} entries, "
            f"more than inputs.max_attributes ({rules.max_attributes:,})",
        )
    limit = rules.max_attribute_bytes
    for key, value in attributes.items():
        for what, text in (("key", key), ("value", value)):
            measured = len(text.encode("utf-8", "surrogatepass"))
            if measured > limit:
                shown = key if what == "value" else f"{key[:40]}..."
                raise InvalidEventError(
                    "too_large",
                    f"attributes {what} {shown!r} is "
                    f"{measured:,} bytes, more than "
                    f"inputs.max_attribute_bytes ({limit:,})",
                )


# Screens: whether some field may be over its limit (never a miss; a hit is measured). Ids
# first; names, URLs and queries only when ``rest`` says the message is large enough. The
# two kinds of events most frequent are written out in full, each call costing ~60 ns.
def _product(product: Product, i: int, n: int, u: int, rest: bool) -> bool:
    return (
        len(product.id) > i
        or len(product.currency or "") > i
        or len(product.category_id or "") > i
        or (
            rest
            and (
                len(product.name or "") > n
                or len(product.url or "") > u
                or len(product.image_url or "") > u
            )
        )
    )


def _page_view(event: Any, screen: Screen, rest: bool) -> bool:
    i, n, u, q = screen
    p = event.product
    return (
        len(event.event_id) > i
        or len(event.contact_id) > i
        or len(event.category_id or "") > i
        or (
            p is not None
            and (len(p.id) > i or len(p.currency or "") > i or len(p.category_id or "") > i)
        )
        or (
            rest
            and (
                len(event.search_query or "") > q
                or len(event.url or "") > u
                or (
                    p is not None
                    and (
                        len(p.name or "") > n or len(p.url or "") > u or len(p.image_url or "") > u
                    )
                )
            )
        )
    )


def _cart(event: Any, screen: Screen, rest: bool) -> bool:
    i, n, u, _ = screen
    p = event.product
    return (
        len(event.event_id) > i
        or len(event.contact_id) > i
        or len(event.cart_id or "") > i
        or (
            p is not None
            and (
                len(p.id) > i
                or len(p.currency or "") > i
                or len(p.category_id or "") > i
                or (
                    rest
                    and (
                        len(p.name or "") > n or len(p.url or "") > u or len(p.image_url or "") > u
                    )
                )
            )
        )
    )


def _order(event: Any, screen: Screen, rest: bool) -> bool:
    i, n, u, _ = screen
    return (
        len(event.event_id) > i
        or len(event.contact_id) > i
        or len(event.order_id) > i
        or len(event.currency) > i
        or len(event.cart_id or "") > i
        or any(_product(item.product, i, n, u, rest) for item in event.items)
    )


def _profile(event: Any, screen: Screen, rest: bool) -> bool:
    i, n = screen[0], screen[1]
    return (
        len(event.event_id) > i
        or len(event.contact_id) > i
        or len(event.locale or "") > i
        or bool(event.attributes)
        or (rest and len(event.first_name or "") > n)
    )


def _engagement(event: Any, screen: Screen, rest: bool) -> bool:
    i = screen[0]
    return len(event.event_id) > i or len(event.contact_id) > i or len(event.command_id or "") > i


def _catalog(event: Any, screen: Screen, rest: bool) -> bool:
    i, n, u, _ = screen
    return len(event.event_id) > i or _product(event.product, i, n, u, rest)


SCREENS: Final[dict[type, Callable[[Any, Screen, bool], bool]]] = {
    PageView: _page_view,
    CartChange: _cart,
    Order: _order,
    ContactProfile: _profile,
    Engagement: _engagement,
    CatalogUpdate: _catalog,
}


def _fields(event: Event | CatalogUpdate) -> Iterator[tuple[str, str, str]]:
    """Every string field of ``event`` with a size limit: (path, text, kind)."""
    for name, kind in _FIELDS[type(event)]:
        text = getattr(event, name)
        if text is not None:
            yield name, text, kind
    product = getattr(event, "product", None)
    if product is not None:
        yield from _product_fields(product, "product")
    for index, item in enumerate(getattr(event, "items", ())):
        yield from _product_fields(item.product, f"items[{index}].product")


def _product_fields(product: Product, where: str) -> Iterator[tuple[str, str, str]]:
    for name, kind in _PRODUCT:
        text = getattr(product, name)
        if text is not None:
            yield f"{where}.{name}", text, kind


def _strings_of(value: Any, where: str) -> Iterator[tuple[str, int]]:
    """Every string in a decoded record, with its path and UTF-8 bytes."""
    if isinstance(value, str):
        yield where or "(the value)", len(value.encode("utf-8", "surrogatepass"))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings_of(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings_of(item, f"{where}[{index}]")
