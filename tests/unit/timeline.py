"""A small language for writing event timelines in tests: minutes after ``T0``."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count

from relance.core.commands import Outcome, SendCommand, Suppression
from relance.core.engine import Engine
from relance.core.events import (
    CartAction,
    CartChange,
    CatalogUpdate,
    ContactProfile,
    Event,
    Order,
    OrderItem,
    OrderStatus,
    PageType,
    PageView,
    Product,
)
from relance.core.scenarios import DEFAULT_CONFIG, Config
from relance.core.timestamps import MINUTE_MS, parse_iso

T0 = parse_iso("2024-05-01T10:00:00Z")
_ids = count(1)


def at(minutes: float) -> int:
    return T0 + int(minutes * MINUTE_MS)


def product(pid: str) -> Product:
    return Product(
        pid,
        name=f"Product {pid}",
        price=10.0,
        currency="EUR",
        url=f"https://shop.example/p/{pid}",
        image_url=f"https://img.example/{pid}.jpg",
    )


def view(
    minute: float, pid: str | None = "p1", contact: str = "c1", page_type: PageType = "product"
) -> PageView:
    return PageView(
        f"v{next(_ids)}", contact, at(minute), page_type, product(pid) if pid is not None else None
    )


def cart(
    minute: float,
    action: CartAction = "add",
    pid: str | None = "p1",
    quantity: int = 1,
    contact: str = "c1",
) -> CartChange:
    return CartChange(
        f"k{next(_ids)}",
        contact,
        at(minute),
        action,
        product(pid) if pid is not None else None,
        quantity,
    )


def order(minute: float, status: OrderStatus = "placed", contact: str = "c1") -> Order:
    return Order(
        f"o{next(_ids)}",
        contact,
        at(minute),
        "order-1",
        status,
        (OrderItem(product("p1"), 1),),
        10.0,
        "EUR",
    )


def profile(
    minute: float = -60,
    contact: str = "c1",
    email: str | None = "ann@example.com",
    opt_in: bool | None = True,
) -> ContactProfile:
    return ContactProfile(
        f"c{next(_ids)}", contact, at(minute), email=email, marketing_opt_in=opt_in
    )


def stock(
    minute: float, pid: str = "p1", in_stock: bool = True, price: float = 10.0
) -> CatalogUpdate:
    return CatalogUpdate(
        f"s{next(_ids)}",
        at(minute),
        Product(
            pid,
            name=f"Product {pid}",
            price=price,
            currency="EUR",
            url=f"https://shop.example/p/{pid}",
            in_stock=in_stock,
        ),
    )


def replay(
    events: Sequence[Event | CatalogUpdate],
    until: float | None = None,
    config: Config = DEFAULT_CONFIG,
) -> list[Outcome]:
    """Feed events in order as ``relance simulate`` does, then move the clock to ``until``."""
    engine = Engine(config)
    outcomes: list[Outcome] = []
    for event in events:
        if isinstance(event, CatalogUpdate):
            outcomes.extend(engine.feed_catalog(event))
        else:
            outcomes.extend(engine.feed(event).outcomes)
    if until is not None:
        outcomes.extend(engine.advance(at(until)))
    return outcomes


def sent(outcomes: list[Outcome]) -> list[SendCommand]:
    return [o for o in outcomes if isinstance(o, SendCommand)]


def suppressed(outcomes: list[Outcome]) -> list[tuple[str, str]]:
    return [(o.scenario, o.reason) for o in outcomes if isinstance(o, Suppression)]
