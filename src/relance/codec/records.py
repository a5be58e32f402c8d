"""Plain records (decoded JSON or Avro dicts) to canonical events and back, with validation.

Both wire formats decode to the same record shape, so validation lives here once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from relance.codec.addresses import email_problem, is_phone
from relance.codec.limits import check_fields
from relance.core.events import (
    CART_ACTIONS,
    CHANNELS,
    ENGAGEMENT_KINDS,
    MAX_QUANTITY,
    ORDER_STATUSES,
    OTHER,
    PAGE_TYPES,
    SCOPES,
    CartChange,
    CatalogUpdate,
    ContactProfile,
    Engagement,
    Event,
    EventType,
    Order,
    OrderItem,
    PageView,
    Product,
)
from relance.core.scenarios import InputRules
from relance.core.timestamps import from_datetime, parse_iso
from relance.errors import InvalidEventError

Record = Mapping[str, Any]
_MISSING: Any = object()


def _required(record: Record, key: str, where: str) -> Any:
    value = record.get(key, _MISSING)
    if value is _MISSING or value is None:
        raise InvalidEventError("missing_field", f"{where}{key} is required")
    return value


def _string(record: Record, key: str, where: str = "", *, required: bool = False) -> Any:
    value = _required(record, key, where) if required else record.get(key)
    if value is None or type(value) is str:
        if required and not value:
            raise InvalidEventError("bad_value", f"{where}{key} must not be empty")
        return value
    raise InvalidEventError("bad_type", f"{where}{key} must be a string, not {kind_of(value)}")


def _number(record: Record, key: str, where: str = "", *, required: bool = False) -> Any:
    value = _required(record, key, where) if required else record.get(key)
    if value is None or type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    raise InvalidEventError("bad_type", f"{where}{key} must be a number, not {kind_of(value)}")


def _integer(record: Record, key: str, default: int) -> int:
    value = record.get(key)
    if value is None:
        return default
    if type(value) is int:
        return value
    raise InvalidEventError("bad_type", f"{key} must be an integer, not {kind_of(value)}")


def _boolean(record: Record, key: str) -> bool | None:
    value = record.get(key)
    if value is None or type(value) is bool:
        return value
    raise InvalidEventError("bad_type", f"{key} must be true or false, not {kind_of(value)}")


def _choice(record: Record, key: str, allowed: frozenset[str]) -> Any:
    value = _required(record, key, "")
    if type(value) is str and value in allowed:
        return value
    raise InvalidEventError(
        "bad_value", f"{key} must be one of {', '.join(sorted(allowed))}, not {value!r}"
    )


def kind_of(value: object) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _occurred_at(record: Record) -> int:
    value = _required(record, "occurred_at", "")
    kind = type(value)
    if kind is int:
        return int(value)
    try:
        if kind is str:
            return parse_iso(value)
        if isinstance(value, datetime):
            return from_datetime(value)
    except ValueError as exc:
        raise InvalidEventError("bad_value", f"occurred_at: {exc}") from None
    raise InvalidEventError(
        "bad_type", f"occurred_at must be epoch milliseconds or ISO-8601, not {kind_of(value)}"
    )


def _product(value: Any, where: str) -> Product:
    if not isinstance(value, Mapping):
        raise InvalidEventError("bad_type", f"{where} must be an object, not {kind_of(value)}")
    prefix = f"{where}."
    in_stock = value.get("in_stock")
    if in_stock is not None and type(in_stock) is not bool:
        raise InvalidEventError("bad_type", f"{prefix}in_stock must be true or false")
    return Product(
        id=_string(value, "id", prefix, required=True),
        name=_string(value, "name", prefix),
        price=_number(value, "price", prefix),
        currency=_string(value, "currency", prefix),
        category_id=_string(value, "category_id", prefix),
        url=_string(value, "url", prefix),
        image_url=_string(value, "image_url", prefix),
        in_stock=in_stock,
    )


def _optional_product(record: Record) -> Product | None:
    value = record.get("product")
    return None if value is None else _product(value, "product")


def _envelope(record: Record) -> tuple[str, str, int]:
    """The fields every event has, checked first so their errors come first."""
    return (
        _string(record, "event_id", required=True),
        _string(record, "contact_id", required=True),
        _occurred_at(record),
    )


def page_view(record: Record) -> PageView:
    return PageView(
        *_envelope(record),
        page_type=_choice(record, "page_type", PAGE_TYPES),
        product=_optional_product(record),
        category_id=_string(record, "category_id"),
        search_query=_string(record, "search_query"),
        url=_string(record, "url"),
    )


def cart_change(record: Record) -> CartChange:
    event_id, contact_id, occurred_at = _envelope(record)
    action = _choice(record, "action", CART_ACTIONS)
    product = _optional_product(record)
    if product is None and action not in ("clear", OTHER):
        raise InvalidEventError("missing_field", f"product is required for a cart {action}")
    quantity = _integer(record, "quantity", 1)
    if quantity < 0 or (quantity == 0 and action in ("add", "remove")):
        raise InvalidEventError("bad_value", f"quantity {quantity} is not valid for {action}")
    if quantity > MAX_QUANTITY:
        raise InvalidEventError("bad_value", f"quantity must be at most {MAX_QUANTITY}")
    return CartChange(
        event_id, contact_id, occurred_at, action, product, quantity, _string(record, "cart_id")
    )


def _order_items(record: Record) -> tuple[OrderItem, ...]:
    raw = _required(record, "items", "")
    if not isinstance(raw, list):
        raise InvalidEventError("bad_type", f"items must be a list, not {kind_of(raw)}")
    items = []
    for index, item in enumerate(raw):
        where = f"items[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidEventError("bad_type", f"{where} must be an object")
        quantity = _integer(item, "quantity", 1)
        if not 0 < quantity <= MAX_QUANTITY:
            raise InvalidEventError(
                "bad_value", f"{where}.quantity must be from 1 to {MAX_QUANTITY}"
            )
        items.append(
            OrderItem(
                _product(_required(item, "product", f"{where}."), f"{where}.product"), quantity
            )
        )
    return tuple(items)


def order(record: Record) -> Order:
    return Order(
        *_envelope(record),
        order_id=_string(record, "order_id", required=True),
        status=_choice(record, "status", ORDER_STATUSES),
        items=_order_items(record),
        total=_number(record, "total", required=True),
        currency=_string(record, "currency", required=True),
        cart_id=_string(record, "cart_id"),
    )


def _date(record: Record, key: str) -> date | None:
    value = record.get(key)
    if value is None or type(value) is date:
        return value
    if type(value) is str:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidEventError("bad_value", f"{key} must be a date like 1990-04-21, not {value!r}")


def _timezone(record: Record) -> str | None:
    value: str | None = _string(record, "timezone")
    if value is not None and not _known_zone(value):
        raise InvalidEventError("bad_value", f"timezone {value!r} is not an IANA time zone")
    return value


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _known_zone(name: str) -> bool:
    return name in _known_zones()


def _email(record: Record) -> str | None:
    value: str | None = _string(record, "email")
    if value is not None:
        problem = email_problem(value)
        if problem is not None:  # the value itself is not repeated: it is personal data
            raise InvalidEventError("bad_value", f"email is not an email address: {problem}")
    return value


def _phone(record: Record) -> str | None:
    value: str | None = _string(record, "phone")
    if value is not None and not is_phone(value):
        raise InvalidEventError(
            "bad_value",
            "phone is not an E.164 number: '+' and up to 15 digits, without spaces or punctuation",
        )
    return value


def _attributes(record: Record) -> dict[str, str] | None:
    value = record.get("attributes")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidEventError("bad_type", f"attributes must be an object, not {kind_of(value)}")
    for key, text in value.items():
        if type(key) is not str or not key:
            raise InvalidEventError("bad_value", "attributes keys must be non-empty strings")
        if type(text) is not str:  # the key is the shop's name, not personal data
            raise InvalidEventError(
                "bad_type", f"attributes.{key} must be a string, not {kind_of(text)}"
            )
    return dict(value)


def contact_profile(record: Record) -> ContactProfile:
    return ContactProfile(
        *_envelope(record),
        email=_email(record),
        phone=_phone(record),
        locale=_string(record, "locale"),
        timezone=_timezone(record),
        marketing_opt_in=_boolean(record, "marketing_opt_in"),
        birthday=_date(record, "birthday"),
        subscription_ends_on=_date(record, "subscription_ends_on"),
        sms_opt_in=_boolean(record, "sms_opt_in"),
        first_name=_string(record, "first_name"),
        attributes=_attributes(record),
    )


def catalog_update(record: Any, *, rules: InputRules, size: int | None = None) -> CatalogUpdate:
    if not isinstance(record, Mapping):
        raise InvalidEventError(
            "not_an_object", f"a catalog update must be an object, not {kind_of(record)}"
        )
    update = CatalogUpdate(
        _string(record, "event_id", required=True),
        _occurred_at(record),
        _product(_required(record, "product", ""), "product"),
    )
    if size is None or size > rules.smallest_field_bytes:
        check_fields(update, rules, size)
    return update


def engagement(record: Record) -> Engagement:
    return Engagement(
        *_envelope(record),
        kind=_choice(record, "kind", ENGAGEMENT_KINDS),
        channel=_choice(record, "channel", CHANNELS)
        if record.get("channel") is not None
        else "email",
        command_id=_string(record, "command_id"),
        scope=_choice(record, "scope", SCOPES) if record.get("scope") is not None else "all",
    )


DECODERS: dict[str, Callable[[Record], Event]] = {
    "page_view": page_view,
    "cart": cart_change,
    "order": order,
    "contact": contact_profile,
    "engagement": engagement,
}


def event_from_record(
    record: Any, event_type: EventType | None = None, *, rules: InputRules, size: int | None = None
) -> Event:
    """Validate a record into an event; ``event_type`` defaults to the record's ``type``;
    ``rules`` bound its fields' sizes. ``size`` is the bytes of the message it was read
    from, if known: no field of a message that small can be too large."""
    if not isinstance(record, Mapping):
        raise InvalidEventError(
            "not_an_object", f"an event must be an object, not {kind_of(record)}"
        )
    kind = record.get("type")
    if event_type is not None:
        if kind is not None and kind != event_type:
            raise InvalidEventError(
                "unknown_type", f"type {kind!r} does not belong here (expected {event_type!r})"
            )
        kind = event_type
    decoder = DECODERS.get(kind) if type(kind) is str else None
    if decoder is None:
        raise InvalidEventError(
            "unknown_type", f"type must be one of {', '.join(sorted(DECODERS))}, not {kind!r}"
        )
    event = decoder(record)
    check_sizes(event, rules, size)
    return event


def check_sizes(event: Event, rules: InputRules, size: int | None) -> None:
    """Refuse ``event`` if a field is over its limit (``limits.check_fields``). ``size``, the
    bytes of its message if known, spares the check in a message too small for any field
    to be over, but not a profile's attributes, which are counted whatever the message's
    size: many tiny entries fit in a small message."""
    if (
        size is None
        or size > rules.smallest_field_bytes
        or (type(event) is ContactProfile and event.attributes)
    ):
        check_fields(event, rules, size)


# The types a fast path (``codec.json``, ``codec.avro``) decodes by their types alone and
# ``fits_rules``: engagements are few, and taken by the checking path.
FAST_TYPES: dict[EventType, type[Event]] = {
    "page_view": PageView,
    "cart": CartChange,
    "order": Order,
    "contact": ContactProfile,
}


def fits_rules(event: Event, *, typed_attributes: bool = False) -> bool:
    """Whether an event decoded by a type-checking fast path also keeps the rules above that
    types cannot express; if not, the caller decodes it again here to learn why.
    ``typed_attributes``: the path has read a profile's attributes as strings to strings, as
    Avro's map of strings is read, and counts and measures them as the checking path does
    (``check_sizes``); only an empty key is then left."""
    if not (event.event_id and event.contact_id):
        return False
    if isinstance(event, PageView):
        return event.product is None or bool(event.product.id)
    if isinstance(event, CartChange):
        if (
            event.quantity < 0
            or event.quantity > MAX_QUANTITY
            or (event.quantity == 0 and event.action in ("add", "remove"))
        ):
            return False
        if event.product is None:
            return event.action in ("clear", OTHER)
        return bool(event.product.id)
    if isinstance(event, Order):
        return bool(event.order_id and event.currency) and all(
            0 < item.quantity <= MAX_QUANTITY and item.product.id for item in event.items
        )
    if isinstance(event, ContactProfile):
        # Attributes are left to the checking path, which checks their types, unless the
        # path read them typed (``typed_attributes``); profile upserts are few.
        attributes = event.attributes
        return (
            (not attributes or (typed_attributes and "" not in attributes))
            and (event.timezone is None or _known_zone(event.timezone))
            and (event.email is None or email_problem(event.email) is None)
            and (event.phone is None or is_phone(event.phone))
        )
    return True
