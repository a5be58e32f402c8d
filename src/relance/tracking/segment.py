"""Segment-spec calls (Segment, RudderStack, Jitsu) as canonical events.

Following Segment's public specification: the common fields (``messageId``, ``userId``,
``anonymousId``, ``timestamp``), ``track`` with the E-commerce Events V2 (and the Email
events an ESP sends back), ``identify`` with its traits, ``page`` and ``screen``.

- ``messageId`` is the event id (the stable hash of the call when it has none), so a call
  delivered twice is applied once; several events made of one call add ``:1``, ``:2``...
- ``userId`` is the contact; a call with only an ``anonymousId`` is an anonymous visitor's
  (``anon:<anonymousId>``); a call with both, and an ``alias`` (``previousId`` to
  ``userId``), say whose the anonymous id is (``Mapped.link``, ``identity``).
- ``timestamp`` (``originalTimestamp`` when absent) is when it happened, ISO-8601 with its
  offset.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any, Final

import orjson

from relance.core.scenarios import InputRules, InputSource
from relance.errors import InvalidEventError
from relance.tracking.mapped import (
    NOT_USED,
    Mapped,
    build,
    clean,
    refused,
    require,
    skip,
    unknown,
    who,
)
from relance.tracking.sources import Headers, load
from relance.tracking.values import (
    currency,
    flag,
    ident,
    iso_ms,
    money,
    path,
    quantity,
    stable_id,
    text,
)

Record = dict[str, Any]
Track = Callable[["Call"], list[Record]]

# Spec events relance has no use for: skipped and counted, not dead-lettered.
NOT_USED_TRACKS: Final = frozenset(
    {
        "Product List Filtered",
        "Promotion Viewed",
        "Promotion Clicked",
        "Product Clicked",
        "Checkout Step Viewed",
        "Checkout Step Completed",
        "Payment Info Entered",
        "Order Updated",
        "Coupon Entered",
        "Coupon Applied",
        "Coupon Denied",
        "Coupon Removed",
        "Product Added to Wishlist",
        "Product Removed from Wishlist",
        "Product Shared",
        "Cart Shared",
        "Product Reviewed",
        # A bounce may be soft: it is no reason to stop writing to an address.
        "Email Bounced",
        "Email Delivered",
    }
)
# The E-commerce V1 names the V2 ones are aliased to.
ALIASES: Final = {
    "Viewed Product": "Product Viewed",
    "Added Product": "Product Added",
    "Removed Product": "Product Removed",
    "Viewed Product Category": "Product List Viewed",
    "Completed Order": "Order Completed",
}
ENGAGEMENTS: Final = {
    "Unsubscribed": "unsubscribe",
    "Email Marked as Spam": "spam_complaint",
    "Email Opened": "open",
    "Email Link Clicked": "click",
}


class Call:
    """One call's common fields, read once."""

    def __init__(self, raw: Record, name: str, default_currency: str | None) -> None:
        self.raw = raw
        self.name = name
        self.anonymous_id = ident(raw.get("anonymousId"), "anonymousId")
        contact, self.anonymous = who(
            ident(raw.get("userId"), "userId"), self.anonymous_id, "userId (or anonymousId)"
        )
        moment = raw.get("timestamp")
        where = "timestamp"
        if moment is None and raw.get("originalTimestamp") is not None:
            moment, where = raw.get("originalTimestamp"), "originalTimestamp"
        self.occurred_at = iso_ms(moment, where)
        self.contact_id = contact
        self.base = {"contact_id": contact, "occurred_at": self.occurred_at}
        self.event_id = ident(raw.get("messageId"), "messageId") or _stable(raw)
        properties = raw.get("properties")
        self.properties: Record = properties if isinstance(properties, dict) else {}
        self.currency = currency(
            self.properties.get("currency"), "properties.currency", default_currency
        )

    def record(self, event_type: str, index: int = 0, **fields: Any) -> Record:
        event_id = self.event_id if index == 0 else f"{self.event_id}:{index}"
        return {"type": event_type, "event_id": event_id, **self.base, **fields}

    def product(self, item: Record, where: str) -> Record:
        product_id = ident(item.get("product_id"), f"{where}product_id") or ident(
            item.get("sku"), f"{where}sku"
        )
        require(product_id, f"{where}product_id (or {where}sku)")
        return {
            "id": product_id,
            "name": text(item.get("name"), f"{where}name"),
            "price": money(item.get("price"), f"{where}price"),
            "currency": self.currency,
            "category_id": ident(item.get("category"), f"{where}category"),
            "url": text(item.get("url"), f"{where}url"),
            "image_url": text(item.get("image_url"), f"{where}image_url"),
        }


def _stable(raw: Record) -> str:
    return stable_id("segment", raw)


def _viewed(call: Call) -> list[Record]:
    product = call.product(call.properties, "properties.")
    return [call.record("page_view", page_type="product", product=product, url=product.get("url"))]


def _list_viewed(call: Call) -> list[Record]:
    props = call.properties
    category = ident(props.get("category"), "properties.category") or ident(
        props.get("list_id"), "properties.list_id"
    )
    require(category, "properties.category (or properties.list_id)")
    return [call.record("page_view", page_type="category", category_id=category)]


def _searched(call: Call) -> list[Record]:
    query = require(call.properties.get("query"), "properties.query")
    if not isinstance(query, str):  # the spec allows an object: kept as its JSON text
        query = orjson.dumps(query, option=orjson.OPT_SORT_KEYS).decode()
    return [call.record("page_view", page_type="search", search_query=query)]


def _page(page_type: str) -> Track:
    return lambda call: [call.record("page_view", page_type=page_type)]


def _cart(action: str) -> Track:
    def change(call: Call) -> list[Record]:
        props = call.properties
        return [
            call.record(
                "cart",
                action=action,
                product=call.product(props, "properties."),
                quantity=quantity(props.get("quantity"), "properties.quantity"),
                cart_id=ident(props.get("cart_id"), "properties.cart_id"),
            )
        ]

    return change


def _order(status: str) -> Track:
    def order(call: Call) -> list[Record]:
        props = call.properties
        order_id = require(
            ident(props.get("order_id"), "properties.order_id"), "properties.order_id"
        )
        products = props.get("products") or []
        if not isinstance(products, list):
            raise InvalidEventError("bad_type", f"{call.name}: properties.products must be a list")
        items = [
            {
                "product": call.product(
                    p if isinstance(p, dict) else {}, f"properties.products[{n}]."
                ),
                "quantity": quantity(
                    p.get("quantity") if isinstance(p, dict) else None,
                    f"properties.products[{n}].quantity",
                ),
            }
            for n, p in enumerate(products)
        ]
        total = _total(props, items)
        require(call.currency, "properties.currency (or the source's currency option)")
        return [
            call.record(
                "order",
                order_id=order_id,
                status=status,
                items=items,
                total=total,
                currency=call.currency,
                cart_id=ident(props.get("cart_id"), "properties.cart_id"),
            )
        ]

    return order


def _total(props: Record, items: list[Record]) -> float:
    """``total`` (revenue with discounts and coupons), else ``revenue``, else ``value``, else
    the products' prices times their quantities."""
    for key in ("total", "revenue", "value"):
        found = money(props.get(key), f"properties.{key}")
        if found is not None:
            return found
    prices: list[float | None] = [item["product"].get("price") for item in items]
    if not items or None in prices:
        raise InvalidEventError(
            "missing_field",
            "properties.total (or revenue, value, or every product's price) is required",
        )
    return float(
        sum(
            price * item["quantity"]
            for price, item in zip(prices, items, strict=True)
            if price is not None
        )
    )


def _engagement(kind: str) -> Track:
    return lambda call: [call.record("engagement", kind=kind, channel="email")]


TRACKS: Final[dict[str, Track]] = {
    "Product Viewed": _viewed,
    "Product List Viewed": _list_viewed,
    "Products Searched": _searched,
    "Cart Viewed": _page("cart"),
    "Checkout Started": _page("checkout"),
    "Product Added": _cart("add"),
    "Wishlist Product Added to Cart": _cart("add"),
    "Product Removed": _cart("remove"),
    "Order Completed": _order("placed"),
    "Order Refunded": _order("refunded"),
    "Order Cancelled": _order("cancelled"),
    **{name: _engagement(kind) for name, kind in ENGAGEMENTS.items()},
}


class Segment:
    def __init__(self, source: InputSource, rules: InputRules) -> None:
        self.rules = rules
        self.currency = source.option("currency", "") or None
        self.unknown_events = source.option("unknown_events", "dead_letter")

    def read(self, raw: bytes, headers: Headers | None = None) -> list[Mapped]:
        call = load(raw, self.rules, "Segment")
        kind = call.get("type")
        event = call.get("event")
        name = f"Segment track {event!r}" if kind == "track" else f"Segment {kind}"
        try:
            return [self._call(call, kind, event, name)]
        except InvalidEventError as error:
            raise refused(name, error) from None

    def _call(self, raw: Record, kind: Any, event: Any, name: str) -> Mapped:
        if kind == "track":
            event = ALIASES.get(event, event)
            track = TRACKS.get(event) if isinstance(event, str) else None
            if track is None:
                if event in NOT_USED_TRACKS:
                    return skip(name, NOT_USED)
                return unknown(name, self.unknown_events)
            call = Call(raw, name, self.currency)
            return build(
                track(call), name, self.rules, anonymous=call.anonymous, link=call.anonymous_id
            )
        if kind in ("page", "screen"):
            call = Call(raw, name, self.currency)
            url = text(
                path(raw, "properties.url") or path(raw, "context.page.url"), "properties.url"
            )
            page_type = "home" if path(raw, "properties.path") == "/" else "other"
            return build(
                [call.record("page_view", page_type=page_type, url=url)],
                name,
                self.rules,
                anonymous=call.anonymous,
                link=call.anonymous_id,
            )
        if kind == "identify":
            return self._identify(raw, name)
        if kind == "alias":
            return self._alias(raw, name)
        if kind == "group":
            return skip(name, NOT_USED)
        raise InvalidEventError(
            "unknown_type",
            f"the call type must be track, identify, page, screen, group or alias, not {kind!r}",
        )

    def _identify(self, raw: Record, name: str) -> Mapped:
        call = Call(raw, name, self.currency)
        traits = raw.get("traits")
        if not isinstance(traits, dict):  # RudderStack also writes them in the context
            traits = path(raw, "context.traits")
        traits = traits if isinstance(traits, dict) else {}
        fields = clean(
            {
                "email": traits.get("email"),
                "phone": _phone(traits.get("phone")),
                "locale": path(raw, "context.locale"),
                "timezone": path(raw, "context.timezone"),
                "birthday": _birthday(traits.get("birthday")),
                "marketing_opt_in": _trait_flag(traits, "marketing_opt_in", "marketingOptIn"),
                "sms_opt_in": _trait_flag(traits, "sms_opt_in", "smsOptIn"),
                "first_name": text(
                    traits.get("firstName", traits.get("first_name")), "traits.firstName"
                ),
            }
        )
        if not fields:  # nothing relance keeps of a profile, but maybe who the visitor is
            link = (
                None
                if call.anonymous or not call.anonymous_id
                else (call.anonymous_id, call.contact_id, call.occurred_at)
            )
            return Mapped(name, (), NOT_USED, link)
        return build(
            [call.record("contact", **fields)],
            name,
            self.rules,
            anonymous=call.anonymous,
            link=call.anonymous_id,
        )

    def _alias(self, raw: Record, name: str) -> Mapped:
        """``alias``: ``previousId`` (an anonymous id, as a site calls it at sign-up) is the
        visitor ``userId`` is."""
        user = ident(raw.get("userId"), "userId")
        previous = ident(raw.get("previousId"), "previousId")
        if not user or not previous or previous == user:
            return skip(name, NOT_USED)
        moment = raw.get("timestamp", raw.get("originalTimestamp"))
        return Mapped(name, (), NOT_USED, (previous, user, iso_ms(moment, "timestamp")))


def _trait_flag(traits: Record, snake: str, camel: str) -> bool | None:
    """A consent trait, snake_case or camelCase as Segment allows reserved traits."""
    key = snake if snake in traits else camel
    return flag(traits.get(key), f"traits.{key}")


def _phone(value: Any) -> Any:
    """``+33 6 12-34.56 78`` as ``+33612345678``: punctuation of an international number is
    dropped; anything else is left for the profile's E.164 check to refuse."""
    if isinstance(value, str) and value.startswith("+"):
        return "+" + "".join(c for c in value[1:] if c not in " -.()")
    return value


def _birthday(value: Any) -> str | None:
    """A ``Date`` trait: ``1990-04-21``, or that day at midnight UTC as analytics.js writes a
    date; another time of day would be a day guessed, so it is refused."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and (
            len(value) == 10 or (moment.utcoffset() == timedelta(0) and moment.time() == time(0))
        ):
            return moment.date().isoformat()
    raise InvalidEventError(
        "bad_value", f"traits.birthday must be a date like 1990-04-21, not {value!r}"
    )
