"""Shopify webhooks as canonical events.

A webhook's topic travels beside its body (the ``X-Shopify-Topic`` header), so a message is
one of: the Amazon EventBridge event Shopify delivers (``detail.metadata`` and
``detail.payload``), its ``detail`` alone (``{"metadata": ..., "payload": ...}``), or the
body alone with the topic in a Kafka header ``X-Shopify-Topic`` (as an HTTP bridge
forwards the request).

Following Shopify's webhook reference: ``checkouts/create`` and ``checkouts/update`` (the
checkout's lines, as they are now), ``orders/create``, ``orders/paid``,
``orders/fulfilled``, ``orders/cancelled``, ``customers/create`` and ``customers/update``.

- The contact is the customer's id (``customer.id``; the option ``contact_id: email``
  takes the address, lower-cased, instead). A checkout or an order without one is an
  anonymous visitor's, ``anon:<cart_token>``; a checkout with one names the visitor of
  its cart token (``Mapped.link``, ``identity``).
- A checkout is a cart of that checkout's token (``cart_id``), which the order made of it
  names (``checkout_token``), so the order closes that cart. Its lines become a ``clear``
  then an ``update`` to each line's quantity, at its ``updated_at``.
- Event ids are made of the topic, the resource's id and its time, so a webhook delivered
  twice (Shopify delivers at least once) is applied once.
- Prices are Shopify's decimal strings, kept exactly; times its ISO-8601 with offset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from relance.core.scenarios import InputRules, InputSource
from relance.errors import InvalidEventError
from relance.tracking.mapped import NOT_USED, Mapped, build, clean, refused, require, skip, unknown
from relance.tracking.sources import Headers, load
from relance.tracking.values import currency, ident, iso_ms, money, quantity, text

Record = dict[str, Any]
TOPIC_HEADER: Final = "x-shopify-topic"
# Topics of the reference relance has no use for: skipped and counted.
NOT_USED_TOPICS: Final = frozenset(
    {
        "checkouts/delete",
        "orders/updated",
        "orders/edited",
        "orders/delete",
        "orders/partially_fulfilled",
        "customers/delete",
        "customers/enable",
        "customers/disable",
        "customers/merge",
        "refunds/create",
        "carts/create",
        "carts/update",
    }
)
# An order's topic: its status, and the time that says when it took it.
ORDERS: Final = {
    "orders/create": ("placed", "created_at"),
    "orders/paid": ("paid", "updated_at"),
    "orders/fulfilled": ("shipped", "updated_at"),
    "orders/cancelled": ("cancelled", "cancelled_at"),
}
# Consent states: only ``subscribed`` is consent (``pending`` awaits confirmation).
_CONSENT: Final = {
    "subscribed": True,
    "not_subscribed": False,
    "unsubscribed": False,
    "pending": False,
    "redacted": False,
    "invalid": False,
}


def _topic_of(record: Record, headers: Headers | None) -> tuple[str | None, Record]:
    """The webhook's topic and its body, from whichever envelope the message has."""
    wrapped = record.get("detail")
    detail: Record = wrapped if isinstance(wrapped, dict) else record
    metadata, payload = detail.get("metadata"), detail.get("payload")
    if isinstance(metadata, Mapping) and isinstance(payload, dict):
        found = {str(k).lower(): v for k, v in metadata.items()}.get(TOPIC_HEADER)
        return (found if isinstance(found, str) else None), payload
    for key, value in headers or ():
        if key.lower() == TOPIC_HEADER and value is not None:
            return (value.decode() if isinstance(value, bytes) else value), record
    return None, record


class Shopify:
    def __init__(self, source: InputSource, rules: InputRules) -> None:
        self.rules = rules
        self.currency = source.option("currency", "") or None
        self.unknown_events = source.option("unknown_events", "dead_letter")
        self.by_email = source.option("contact_id", "customer_id") == "email"
        self.product_key = source.option("product_id", "product_id")
        self.handlers: dict[str, Callable[[Record, str, str], list[Record]]] = {
            "checkouts/create": self._checkout,
            "checkouts/update": self._checkout,
            **dict.fromkeys(ORDERS, self._order),
            "customers/create": self._customer,
            "customers/update": self._customer,
        }

    def read(self, raw: bytes, headers: Headers | None = None) -> list[Mapped]:
        topic, body = _topic_of(load(raw, self.rules, "Shopify"), headers)
        if topic is None:
            raise InvalidEventError(
                "missing_field",
                "Shopify: the webhook's topic is "
                "required (detail.metadata X-Shopify-Topic, or a Kafka "
                "header X-Shopify-Topic)",
            )
        name = f"Shopify {topic}"
        try:
            return [self._webhook(topic, body, name)]
        except InvalidEventError as error:
            raise refused(name, error) from None

    def _webhook(self, topic: str, body: Record, name: str) -> Mapped:
        make = self.handlers.get(topic)
        if make is None:
            if topic in NOT_USED_TOPICS:
                return skip(name, NOT_USED)
            return unknown(name, self.unknown_events)
        if body.get("completed_at") and topic.startswith("checkouts/"):
            return skip(name, NOT_USED)  # completed: its order closes the cart
        contact, anonymous = self._contact(topic, body)
        # A checkout of a known customer names whose its cart (the visitor's, until then) is.
        link = (
            (ident(body.get("cart_token"), "cart_token") or ident(body.get("token"), "token"))
            if topic.startswith("checkouts/")
            else None
        )
        return build(make(body, contact, topic), name, self.rules, anonymous=anonymous, link=link)

    def _contact(self, topic: str, body: Record) -> tuple[str, bool]:
        customer = body if topic.startswith("customers/") else body.get("customer")
        customer = customer if isinstance(customer, dict) else {}
        if self.by_email:
            email = text(body.get("email") or customer.get("email"), "email")
            found = email.strip().lower() if email else None
        else:
            found = ident(customer.get("id"), "customer.id")
        if found:
            return found, False
        anonymous = ident(body.get("cart_token"), "cart_token") or ident(body.get("token"), "token")
        return "anon:" + require(anonymous, "customer.id (or cart_token)"), True

    def _product(self, line: Record, where: str, money_in: str | None) -> Record:
        key = self.product_key
        return clean(
            {
                "id": require(ident(line.get(key), f"{where}.{key}"), f"{where}.{key}"),
                "name": text(line.get("title"), f"{where}.title"),
                "price": money(line.get("price"), f"{where}.price"),
                "currency": money_in,
            }
        )

    def _lines(self, body: Record) -> list[Record]:
        lines = body.get("line_items") or []
        if not isinstance(lines, list) or not all(isinstance(x, dict) for x in lines):
            raise InvalidEventError("bad_type", "line_items must be a list of objects")
        return lines

    def _checkout(self, body: Record, contact: str, topic: str) -> list[Record]:
        token = require(ident(body.get("token"), "token"), "token")
        moment = body.get("updated_at") or body.get("created_at")
        at = iso_ms(moment, "updated_at")
        money_in = currency(body.get("currency"), "currency", self.currency)
        base = {"type": "cart", "contact_id": contact, "occurred_at": at, "cart_id": token}
        changes = [{**base, "event_id": f"shopify:checkout:{token}:{at}:clear", "action": "clear"}]
        for n, line in enumerate(self._lines(body)):
            where = f"line_items[{n}]"
            changes.append(
                {
                    **base,
                    "event_id": f"shopify:checkout:{token}:{at}:{n}",
                    "action": "update",
                    "product": self._product(line, where, money_in),
                    "quantity": quantity(line.get("quantity"), f"{where}.quantity"),
                }
            )
        return changes

    def _order(self, body: Record, contact: str, topic: str) -> list[Record]:
        status, moment_key = ORDERS[topic]
        order_id = require(ident(body.get("id"), "id"), "id")
        moment = body.get(moment_key) or body.get("updated_at")
        money_in = require(currency(body.get("currency"), "currency", self.currency), "currency")
        items = [
            {
                "product": self._product(line, f"line_items[{n}]", money_in),
                "quantity": quantity(line.get("quantity"), f"line_items[{n}].quantity"),
            }
            for n, line in enumerate(self._lines(body))
        ]
        return [
            clean(
                {
                    "type": "order",
                    "event_id": f"shopify:{topic}:{order_id}",
                    "contact_id": contact,
                    "occurred_at": iso_ms(moment, moment_key),
                    "order_id": order_id,
                    "status": status,
                    "items": items,
                    "total": require(money(body.get("total_price"), "total_price"), "total_price"),
                    "currency": money_in,
                    "cart_id": ident(body.get("checkout_token"), "checkout_token"),
                }
            )
        ]

    def _customer(self, body: Record, contact: str, topic: str) -> list[Record]:
        moment = body.get("updated_at") or body.get("created_at")
        at = iso_ms(moment, "updated_at")
        email = text(body.get("email"), "email")
        customer = require(ident(body.get("id"), "id"), "id")
        return [
            clean(
                {
                    "type": "contact",
                    "event_id": f"shopify:customer:{customer}:{at}",
                    "contact_id": contact,
                    "occurred_at": at,
                    "email": email.strip() if email else None,
                    "phone": body.get("phone"),
                    "locale": body.get("locale"),
                    "first_name": text(body.get("first_name"), "first_name"),
                    "marketing_opt_in": _consent(
                        body, "email_marketing_consent", "accepts_marketing"
                    ),
                    "sms_opt_in": _consent(body, "sms_marketing_consent", None),
                }
            )
        ]


def _consent(body: Record, key: str, legacy: str | None) -> bool | None:
    """``subscribed`` is consent; another known state is none; the deprecated boolean is
    read when the consent object is absent."""
    found = body.get(key)
    if isinstance(found, dict) and found.get("state") is not None:
        state = found["state"]
        if state not in _CONSENT:
            raise InvalidEventError(
                "bad_value",
                f"{key}.state must be one of {', '.join(sorted(_CONSENT))}, not {state!r}",
            )
        return _CONSENT[state]
    value = body.get(legacy) if legacy else None
    if value is None or type(value) is bool:
        return value
    raise InvalidEventError("bad_type", f"{legacy} must be true or false")
