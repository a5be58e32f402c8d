"""GA4 events as canonical events, in the two shapes they leave Google Analytics in.

- A Measurement Protocol request body (``client_id``, ``user_id``, ``timestamp_micros``,
  ``user_properties``, ``events``: up to 25 ``{name, params}``), as a server or a tag
  manager sends it: each of its events is one source event.
- A BigQuery export row (``event_name``, ``event_timestamp``, ``event_params`` and
  ``user_properties`` as key/value records, ``items``, ``ecommerce``, ``user_id``,
  ``user_pseudo_id``), as the streaming or daily export writes it.

Following GA4's recommended events for ecommerce: ``view_item``, ``view_item_list``,
``add_to_cart``, ``remove_from_cart``, ``view_cart``, ``begin_checkout``, ``purchase``,
``refund``, ``search``, and ``login``/``sign_up`` with the user properties relance keeps.
Times are epoch microseconds, rounded down to milliseconds. The event id is the event's
``event_id`` parameter when the site sets one, ``ga4:purchase:<transaction_id>`` (or
``refund``) for a transaction, as GA4 itself counts one purchase per transaction id, and
otherwise the stable hash of the event (a request's n-th event hashed with the request's
user and time). ``user_id`` is the contact; an event with only a ``client_id`` (or
``user_pseudo_id``) is an anonymous visitor's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

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
    micros_ms,
    money,
    quantity,
    stable_id,
    text,
)

Record = dict[str, Any]
# Automatically collected, enhanced-measurement and recommended events relance does not use.
NOT_USED_EVENTS: Final = frozenset(
    {
        "session_start",
        "first_visit",
        "user_engagement",
        "scroll",
        "click",
        "file_download",
        "form_start",
        "form_submit",
        "video_start",
        "video_progress",
        "video_complete",
        "first_open",
        "app_remove",
        "app_update",
        "os_update",
        "notification_open",
        "notification_receive",
        "select_item",
        "select_promotion",
        "view_promotion",
        "add_payment_info",
        "add_shipping_info",
        "add_to_wishlist",
        "generate_lead",
        "share",
        "select_content",
        "earn_virtual_currency",
        "spend_virtual_currency",
        "tutorial_begin",
        "tutorial_complete",
        "join_group",
        "level_up",
        "post_score",
        "unlock_achievement",
        "ad_impression",
        "in_app_purchase",
        "close_convert_lead",
        "close_unconvert_lead",
        "disqualify_lead",
        "qualify_lead",
        "working_lead",
    }
)
_NOT_SET: Final = "(not set)"  # what the export writes for a parameter it has no value of


@dataclass(frozen=True, slots=True)
class Ga4Event:
    """One GA4 event, whichever shape it came in."""

    name: str
    params: Record
    items: list[Any]
    user_id: str | None
    client_id: str | None
    occurred_at: int
    user_properties: Record
    stable: Callable[[], str]  # the event's hashed id, computed only when needed


class Ga4:
    def __init__(self, source: InputSource, rules: InputRules) -> None:
        self.rules = rules
        self.currency = source.option("currency", "") or None
        self.unknown_events = source.option("unknown_events", "dead_letter")

    def read(self, raw: bytes, headers: Headers | None = None) -> list[Mapped]:
        record = load(raw, self.rules, "GA4")
        if "events" in record:
            return self._request(record)
        if "event_name" in record:
            name = text(record.get("event_name"), "event_name") or ""
            return [self._mapped(f"GA4 {name}", lambda: _row(record), name)]
        raise InvalidEventError(
            "unknown_type",
            "GA4: neither a Measurement Protocol request "
            "(events) nor a BigQuery export row (event_name)",
        )

    def _request(self, body: Record) -> list[Mapped]:
        events = body.get("events")
        if not isinstance(events, list) or not events:
            raise InvalidEventError("bad_type", "GA4: events must be a list of events")
        found = []
        for index, event in enumerate(events):
            if not isinstance(event, dict):
                raise InvalidEventError("bad_type", f"GA4: events[{index}] must be an object")
            name = text(event.get("name"), f"events[{index}].name") or ""
            found.append(
                self._mapped(
                    f"GA4 {name} (events[{index}])",
                    _later(_request_event, body, event, index),
                    name,
                )
            )
        return found

    def _mapped(self, label: str, event: Callable[[], Ga4Event], name: str) -> Mapped:
        make = EVENTS.get(name)
        if make is None:
            if name in NOT_USED_EVENTS:
                return skip(label, NOT_USED)
            return unknown(label, self.unknown_events)
        try:
            found = event()
            contact, anonymous = who(
                found.user_id, found.client_id, "user_id (or client_id, user_pseudo_id)"
            )
            records = make(_Maker(found, contact, self.currency, label))
        except InvalidEventError as error:
            raise refused(label, error) from None
        link = None if anonymous else found.client_id  # a client_id beside a user_id
        if not records:  # a login without user properties still says who the visitor is
            return Mapped(label, (), NOT_USED, (link, contact, found.occurred_at) if link else None)
        return build(records, label, self.rules, anonymous=anonymous, link=link)


def _later(
    make: Callable[[Record, Record, int], Ga4Event], body: Record, event: Record, index: int
) -> Callable[[], Ga4Event]:
    return lambda: make(body, event, index)


def _request_event(body: Record, event: Record, index: int) -> Ga4Event:
    params = event.get("params")
    params = params if isinstance(params, dict) else {}
    items = params.get("items")
    moment = event.get("timestamp_micros", body.get("timestamp_micros"))
    properties = body.get("user_properties")
    user_properties = {
        key: value.get("value") if isinstance(value, dict) else value
        for key, value in (properties or {}).items()
    }
    return Ga4Event(
        str(event.get("name")),
        params,
        items if isinstance(items, list) else [],
        ident(body.get("user_id"), "user_id"),
        ident(body.get("client_id") or body.get("app_instance_id"), "client_id"),
        micros_ms(moment, "timestamp_micros"),
        user_properties,
        lambda: stable_id(
            "ga4",
            {**{k: v for k, v in body.items() if k != "events"}, "event": event, "index": index},
        ),
    )


def _value(entry: Any) -> Any:
    """The value of an exported parameter: whichever of its typed fields is set."""
    if not isinstance(entry, dict):
        return None
    for key in ("string_value", "int_value", "double_value", "float_value"):
        if entry.get(key) is not None:
            return entry[key]
    return None


def _pairs(entries: Any) -> Record:
    if not isinstance(entries, list):
        return {}
    return {
        entry["key"]: _value(entry.get("value"))
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("key"), str)
    }


def _row(row: Record) -> Ga4Event:
    params = _pairs(row.get("event_params"))
    found = row.get("ecommerce")
    ecommerce: Record = found if isinstance(found, dict) else {}
    if params.get("transaction_id") in (None, _NOT_SET):
        params["transaction_id"] = ecommerce.get("transaction_id")
    if params.get("value") is None:
        params["value"] = ecommerce.get(
            "purchase_revenue" if row.get("event_name") == "purchase" else "refund_value"
        )
    items = row.get("items")
    return Ga4Event(
        str(row.get("event_name")),
        params,
        items if isinstance(items, list) else [],
        ident(row.get("user_id"), "user_id"),
        ident(row.get("user_pseudo_id"), "user_pseudo_id"),
        micros_ms(row.get("event_timestamp"), "event_timestamp"),
        _pairs(row.get("user_properties")),
        lambda: stable_id("ga4", row),
    )


class _Maker:
    """Canonical records of one GA4 event."""

    def __init__(
        self, event: Ga4Event, contact: str, default_currency: str | None, name: str
    ) -> None:
        self.event = event
        self.name = name
        self.params = event.params
        self.currency = currency(self.params.get("currency"), "currency", default_currency)
        self.base = {"contact_id": contact, "occurred_at": event.occurred_at}
        own = ident(self.params.get("event_id"), "event_id")
        transaction = self.transaction() if event.name in ("purchase", "refund") else None
        self.event_id = own or (
            f"ga4:{event.name}:{transaction}" if transaction else event.stable()
        )

    def transaction(self) -> str:
        found = ident(self.params.get("transaction_id"), "transaction_id")
        return str(require(None if found == _NOT_SET else found, "transaction_id"))

    def record(self, event_type: str, index: int = 0, **fields: Any) -> Record:
        event_id = self.event_id if index == 0 else f"{self.event_id}:{index}"
        return {"type": event_type, "event_id": event_id, **self.base, **fields}

    def items(self) -> list[tuple[Record, int]]:
        """Each item as a product, with its quantity."""
        found = []
        for n, item in enumerate(self.event.items):
            where = f"items[{n}]."
            if not isinstance(item, dict):
                raise InvalidEventError("bad_type", f"{where[:-1]} must be an object")
            product = clean(
                {
                    "id": require(ident(item.get("item_id"), f"{where}item_id"), f"{where}item_id"),
                    "name": text(item.get("item_name"), f"{where}item_name"),
                    "price": money(item.get("price"), f"{where}price"),
                    "currency": self.currency,
                    "category_id": ident(item.get("item_category"), f"{where}item_category"),
                }
            )
            found.append((product, quantity(item.get("quantity"), f"{where}quantity")))
        return found


def _view_item(m: _Maker) -> list[Record]:
    items = m.items()
    require(items, "items")
    return [
        m.record(
            "page_view",
            page_type="product",
            product=items[0][0],
            url=text(m.params.get("page_location"), "page_location"),
        )
    ]


def _view_item_list(m: _Maker) -> list[Record]:
    category = ident(m.params.get("item_list_id"), "item_list_id") or ident(
        m.params.get("item_list_name"), "item_list_name"
    )
    if not category and m.event.items:
        category = m.items()[0][0].get("category_id")
    require(category, "item_list_id (or item_list_name, or items[0].item_category)")
    return [m.record("page_view", page_type="category", category_id=category)]


def _search(m: _Maker) -> list[Record]:
    term = require(text(m.params.get("search_term"), "search_term"), "search_term")
    return [m.record("page_view", page_type="search", search_query=term)]


def _page(page_type: str) -> Callable[[_Maker], list[Record]]:
    return lambda m: [
        m.record(
            "page_view",
            page_type=page_type,
            url=text(m.params.get("page_location"), "page_location"),
        )
    ]


def _cart(action: str) -> Callable[[_Maker], list[Record]]:
    def change(m: _Maker) -> list[Record]:
        items = m.items()
        require(items, "items")
        return [
            m.record("cart", n, action=action, product=product, quantity=count)
            for n, (product, count) in enumerate(items)
        ]

    return change


def _order(status: str) -> Callable[[_Maker], list[Record]]:
    def order(m: _Maker) -> list[Record]:
        items = m.items()
        total = money(m.params.get("value"), "value")
        if total is None:
            prices: list[float | None] = [product.get("price") for product, _ in items]
            if not items or None in prices:
                raise InvalidEventError(
                    "missing_field", "value (or every item's price) is required"
                )
            total = float(
                sum(p * count for p, (_, count) in zip(prices, items, strict=True) if p is not None)
            )
        require(m.currency, "currency (or the source's currency option)")
        return [
            m.record(
                "order",
                order_id=m.transaction(),
                status=status,
                items=[{"product": p, "quantity": count} for p, count in items],
                total=total,
                currency=m.currency,
            )
        ]

    return order


def _profile(m: _Maker) -> list[Record]:
    """``login``/``sign_up``: what the user properties say of the contact (GA4 itself takes
    no personal data: an address comes from a request of your own, or another source)."""
    props = m.event.user_properties
    fields = clean(
        {
            "email": props.get("email"),
            "phone": props.get("phone"),
            "locale": props.get("locale") or props.get("language"),
            "timezone": props.get("timezone"),
            "birthday": props.get("birthday"),
            "marketing_opt_in": flag(
                props.get("marketing_opt_in"), "user_properties.marketing_opt_in"
            ),
            "sms_opt_in": flag(props.get("sms_opt_in"), "user_properties.sms_opt_in"),
            "first_name": text(props.get("first_name"), "user_properties.first_name"),
        }
    )
    return [m.record("contact", **fields)] if fields else []


EVENTS: Final[dict[str, Callable[[_Maker], list[Record]]]] = {
    "page_view": _page("other"),
    "screen_view": _page("other"),
    "view_item": _view_item,
    "view_item_list": _view_item_list,
    "search": _search,
    "view_search_results": _search,
    "view_cart": _page("cart"),
    "begin_checkout": _page("checkout"),
    "add_to_cart": _cart("add"),
    "remove_from_cart": _cart("remove"),
    "purchase": _order("placed"),
    "refund": _order("refunded"),
    "login": _profile,
    "sign_up": _profile,
}
