"""Canonical inbound events: what a shop's tracking tells relance about a contact.

Times are epoch milliseconds (UTC) so the core compares integers and never touches a clock.
The Avro schemas in ``schemas/`` describe the same records field for field.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Final, Literal, get_args

import msgspec

PageType = Literal["product", "category", "search", "cart", "checkout", "home", "other"]
CartAction = Literal["add", "remove", "update", "clear", "other"]
OrderStatus = Literal["placed", "paid", "shipped", "delivered", "cancelled", "refunded", "other"]
EventType = Literal["page_view", "cart", "order", "contact", "engagement"]
EngagementKind = Literal["unsubscribe", "hard_bounce", "spam_complaint", "open", "click", "other"]
Channel = Literal["email", "sms"]
# The families a contact may leave on its own (every marketing scenario is in one, see
# ``scenarios.Scenario.family``), in the order the preference page lists them.
Family = Literal["reminders", "recommendations", "digests"]

PAGE_TYPES: Final[frozenset[str]] = frozenset(get_args(PageType))
CART_ACTIONS: Final[frozenset[str]] = frozenset(get_args(CartAction))
ORDER_STATUSES: Final[frozenset[str]] = frozenset(get_args(OrderStatus))
EVENT_TYPES: Final[frozenset[str]] = frozenset(get_args(EventType))
ENGAGEMENT_KINDS: Final[frozenset[str]] = frozenset(get_args(EngagementKind))
CHANNELS: Final[frozenset[str]] = frozenset(get_args(Channel))
FAMILIES: Final[tuple[Family, ...]] = get_args(Family)
# What an unsubscribe covers: all of the channel's marketing, or one family of it.
SCOPES: Final = frozenset({"all", *FAMILIES})
# A quantity's largest value: Avro's int, which JSON keeps too, so that a cart line's sum
# stays an integer a stored state can hold.
MAX_QUANTITY: Final = 2**31 - 1
# The default symbol of every enum of the schemas: what a symbol added by a newer schema
# reads as (schemas/README.md). A page view of type ``other`` is still a visit; a cart
# change, an order or an engagement of kind ``other`` means nothing relance knows of.
OTHER: Final = "other"


class _Record(msgspec.Struct, frozen=True, gc=False):
    """Immutable, and a struct rather than a dataclass: decoded for every message, and
    msgspec builds a struct in about half the time (a frozen dataclass's fields are set one
    ``object.__setattr__`` at a time). Never in a reference cycle, so not tracked by the
    cycle collector."""


class Product(_Record, frozen=True):
    """A product as the shop describes it at the time of the event."""

    id: str
    name: str | None = None
    price: float | None = None
    currency: str | None = None
    category_id: str | None = None
    url: str | None = None
    image_url: str | None = None
    in_stock: bool | None = None

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "price": self.price,
            "currency": self.currency,
            "category_id": self.category_id,
            "url": self.url,
            "image_url": self.image_url,
            "in_stock": self.in_stock,
        }


class PageView(_Record, frozen=True):
    event_id: str
    contact_id: str
    occurred_at: int
    page_type: PageType
    product: Product | None = None
    category_id: str | None = None
    search_query: str | None = None
    url: str | None = None

    type: ClassVar[EventType] = "page_view"


class CartChange(_Record, frozen=True):
    """``quantity`` is the new quantity for ``update`` and the delta for ``add``/``remove``."""

    event_id: str
    contact_id: str
    occurred_at: int
    action: CartAction
    product: Product | None = None
    quantity: int = 1
    cart_id: str | None = None

    type: ClassVar[EventType] = "cart"


class OrderItem(_Record, frozen=True):
    product: Product
    quantity: int


class Order(_Record, frozen=True):
    event_id: str
    contact_id: str
    occurred_at: int
    order_id: str
    status: OrderStatus
    items: tuple[OrderItem, ...]
    total: float
    currency: str
    cart_id: str | None = None

    type: ClassVar[EventType] = "order"


class ContactProfile(_Record, frozen=True):
    """A profile upsert: a field left as ``None`` keeps the value already known."""

    event_id: str
    contact_id: str
    occurred_at: int
    email: str | None = None
    phone: str | None = None
    locale: str | None = None
    timezone: str | None = None
    marketing_opt_in: bool | None = None
    birthday: date | None = None
    subscription_ends_on: date | None = None
    sms_opt_in: bool | None = None  # marketing consent for SMS; email's is marketing_opt_in
    first_name: str | None = None  # how messages greet the contact
    # Free text a shop's templates may show (``recipient.attributes``): given, it replaces
    # the map known; bounded by the scenario file's inputs (max_attributes ...).
    attributes: dict[str, str] | None = None

    type: ClassVar[EventType] = "contact"


class Engagement(_Record, frozen=True):
    """What a contact did with messages (topic ``engagement``, keyed by contact id): the
    unsubscribes, hard bounces and spam complaints that stop marketing, opens and clicks.
    ``scope`` is an unsubscribe's: ``all`` the channel's marketing, or one of ``FAMILIES``."""

    event_id: str
    contact_id: str
    occurred_at: int
    kind: EngagementKind
    channel: str = "email"
    command_id: str | None = None
    scope: str = "all"

    type: ClassVar[EventType] = "engagement"


Event = PageView | CartChange | Order | ContactProfile | Engagement


class CatalogUpdate(_Record, frozen=True):
    """A product as the shop's catalog now describes it (topic ``catalog``, keyed by id).

    Not a contact event: it has no contact, every worker reads all of it, and it changes
    what contacts are told (stock, price, current name and image) rather than who they are.
    """

    event_id: str
    occurred_at: int
    product: Product

    type: ClassVar[str] = "product"


def event_to_record(event: Event) -> dict[str, Any]:
    """The event as a plain record: the Avro field layout plus ``type``, times as epoch ms."""
    record: dict[str, Any] = {"type": event.type}
    for name in event.__struct_fields__:
        value = getattr(event, name)
        if isinstance(value, Product):
            value = value.to_record()
        elif name == "items":
            value = [{"product": i.product.to_record(), "quantity": i.quantity} for i in value]
        record[name] = value
    return record


def of_unknown_kind(event: Event) -> bool:
    """Whether the event is a cart change, order or engagement of kind ``other``, which the
    core ignores: it changes no state and triggers nothing (a page view's ``other`` is a
    page of no kind relance knows, still a visit)."""
    if type(event) is CartChange:
        return event.action == OTHER
    if type(event) is Order:
        return event.status == OTHER
    if type(event) is Engagement:
        return event.kind == OTHER
    return False
