"""Every collection of a contact's state is bounded, so that the largest state events can
build (under the default input rules) is a record the broker takes: under 1,000,000 bytes,
below Kafka's default message.max.bytes (1,048,588).

The worst case is built through the core: events at the largest sizes the decoders accept,
in an order that fills every collection at once, fed to ``Engine``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from itertools import count

import pytest

from relance.codec import avro
from relance.codec import catalog as catalog_codec
from relance.core.detectors.digest import HELD_KEPT
from relance.core.detectors.orders import ORDER_ITEMS_KEPT, ORDERS_KEPT
from relance.core.detectors.price import DROPS_KEPT, INTERESTS_KEPT
from relance.core.detectors.stock import RESTOCKS_KEPT, WATCHED_KEPT
from relance.core.engine import Engine
from relance.core.events import (
    FAMILIES,
    MAX_QUANTITY,
    CartChange,
    CatalogUpdate,
    ContactProfile,
    Engagement,
    Event,
    Order,
    OrderItem,
    PageView,
    Product,
)
from relance.core.policy.pacing import SENDS_KEPT
from relance.core.scenarios import InputRules
from relance.core.state import ContactState
from relance.core.timestamps import MINUTE_MS, parse_iso
from relance.errors import ConfigError
from relance.scenario_file import load_config
from relance.worker.store import Stored, encode_stored

RULES = InputRules()
BROKER_LIMIT = 1_000_000  # under message.max.bytes (1,048,588), with room for the framing
# Another part of the state (recent event ids, for duplicates): at most 64 ids of 24 bytes.
SEEN_ALLOWANCE = 3 + 64 * (2 + 24)
T0 = parse_iso("2024-04-29T10:00:00Z")  # a Monday: the weekly digest waits a week
CONTACT = "c" * RULES.max_id_bytes

WORST = load_config("""
scenarios:
  cart_abandonment: {steps: [{delay: 20d}, {delay: 21d}]}
  browse_abandonment: {delay: 20d}
  category_abandonment: {delay: 20d}
  search_abandonment: {delay: 20d}
  back_in_stock: {delay: 20d}
  restock_digest: {kind: back_in_stock, digest: weekly}
  price_drop: {delay: 20d}
  birthday: {}
  subscription_expiry: {}
  reactivation: {delay: 30d}
  welcome: {if_ordered: {delay: 20d}}
  review_request: {delay: 20d}
  cross_sell: {delay: 20d}
  shipped_followup: {kind: order_status, statuses: [shipped], delay: 20d}
policy:
  caps: {email: {day: 64, week: 64}}
""")


class Worst:
    """Events at the largest sizes the rules allow, each checked against the decoders."""

    def __init__(self) -> None:
        self.numbers = count()
        self.minute = 0

    def uid(self, tag: str) -> str:
        return f"{tag}{next(self.numbers)}-".ljust(RULES.max_id_bytes, "x")

    def at(self) -> int:
        self.minute += 1
        return T0 + self.minute * MINUTE_MS

    def product(
        self,
        *,
        category: str | None = None,
        in_stock: bool | None = True,
        price: float = 100.0,
        budget: int | None = None,
    ) -> Product:
        """A product with every field at its limit, or sharing ``budget`` bytes of text."""
        sizes = [RULES.max_name_bytes, RULES.max_id_bytes, RULES.max_url_bytes, RULES.max_url_bytes]
        if budget is not None:
            left, shared = budget, []
            for size in sizes:
                shared.append(max(0, min(size, left)))
                left -= shared[-1]
            sizes = shared
        name, currency, url, image = (
            "n" * sizes[0],
            "e" * sizes[1],
            "u" * sizes[2],
            "i" * sizes[3],
        )
        return Product(
            self.uid("p"), name, price, currency, category or self.uid("k"), url, image, in_stock
        )

    def event(self, event: Event) -> Event:
        raw = avro.encode(event)
        assert len(raw) <= RULES.max_event_bytes
        assert avro.decode(raw, event.type, rules=RULES) == event
        return event

    def update(self, update: CatalogUpdate) -> CatalogUpdate:
        raw = catalog_codec.encode_avro(update)
        assert catalog_codec.decode(raw, rules=RULES) == update
        return update

    def order(self, status: str) -> Order:
        """Twenty lines (what a journey keeps) sharing what is left of max_event_bytes."""
        items = tuple(OrderItem(self.product(budget=0), 1) for _ in range(ORDER_ITEMS_KEPT))
        base = Order(
            self.uid("e"),
            CONTACT,
            self.at(),
            self.uid("o"),
            status,  # type: ignore[arg-type]  # a status of the list
            items,
            1.0,
            "e" * RULES.max_id_bytes,
            self.uid("cart"),
        )
        spare = RULES.max_event_bytes - len(avro.encode(base)) - 8 * ORDER_ITEMS_KEPT
        budget = spare // ORDER_ITEMS_KEPT
        items = tuple(OrderItem(self.product(budget=budget), 2**31 - 1) for _ in items)
        return Order(
            base.event_id,
            CONTACT,
            base.occurred_at,
            base.order_id,
            base.status,
            items,
            base.total,
            base.currency,
            base.cart_id,
        )


def worst_case_events() -> Iterator[Event | CatalogUpdate]:
    w = Worst()
    email = "a" * 64 + "@" + "b" * 63 + "." + "b" * 63 + "." + "c" * 61
    assert len(email) == 254
    attributes = {
        f"{n:02d}".ljust(RULES.max_attribute_bytes, "k"): "v" * RULES.max_attribute_bytes
        for n in range(RULES.max_attributes)
    }
    yield w.event(
        ContactProfile(
            w.uid("e"),
            CONTACT,
            w.at(),
            email,
            "+123456789012345",
            "l" * RULES.max_id_bytes,
            "America/Argentina/ComodRivadavia",
            True,
            date(1990, 5, 30),
            date(2024, 6, 30),
            True,
            "f" * RULES.max_name_bytes,
            attributes,
        )
    )
    yield w.event(PageView(w.uid("e"), CONTACT, w.at(), "home"))  # the welcome goes out
    # A placed order turns the welcome to its ordered branch; it comes first, as it settles
    # the cart and the views before it.
    yield w.event(w.order("placed"))
    categories = [w.uid("k") for _ in range(2)]
    for n in range(10):  # browsing: viewed products, categories (one armed), interests
        yield w.event(
            PageView(
                w.uid("e"),
                CONTACT,
                w.at(),
                "product",
                w.product(category=categories[n % 2] if n < 6 else None),
                w.uid("k"),
                None,
                "u" * RULES.max_url_bytes,
            )
        )
    for _ in range(RULES.cart_lines):  # updates fill the cart without disarming browsing
        yield w.event(
            CartChange(w.uid("e"), CONTACT, w.at(), "update", w.product(), 1, w.uid("cart"))
        )
    for _ in range(SENDS_KEPT + 1):  # restocks: journeys, held digest messages, sends
        seen = w.product(in_stock=False)
        yield w.event(PageView(w.uid("e"), CONTACT, w.at(), "product", seen))
        back = Product(
            seen.id,
            seen.name,
            seen.price,
            seen.currency,
            seen.category_id,
            seen.url,
            seen.image_url,
            True,
        )
        yield w.update(CatalogUpdate(w.uid("e"), w.at(), back))
    for _ in range(DROPS_KEPT + 1):  # price drops under way
        seen = w.product(price=100.0)
        yield w.event(PageView(w.uid("e"), CONTACT, w.at(), "product", seen))
        cheaper = Product(
            seen.id,
            seen.name,
            10.0,
            seen.currency,
            seen.category_id,
            seen.url,
            seen.image_url,
            True,
        )
        yield w.update(CatalogUpdate(w.uid("e"), w.at(), cheaper))
    for status in ["shipped", "delivered"] * ORDERS_KEPT:  # order journeys side by side
        yield w.event(w.order(status))
    for _ in range(WATCHED_KEPT + 1):  # products watched, sold out
        yield w.event(PageView(w.uid("e"), CONTACT, w.at(), "product", w.product(in_stock=False)))
    for _ in range(INTERESTS_KEPT + 1):  # prices seen
        yield w.event(PageView(w.uid("e"), CONTACT, w.at(), "product", w.product()))
    yield w.event(
        PageView(w.uid("e"), CONTACT, w.at(), "search", search_query="q" * RULES.max_query_bytes)
    )
    for kind in ("unsubscribe", "hard_bounce", "spam_complaint", "click"):
        for channel in ("email", "sms"):
            yield w.event(
                Engagement(
                    w.uid("e"),
                    CONTACT,
                    w.at(),
                    kind,  # type: ignore[arg-type]  # a kind of the list
                    channel,
                    w.uid("m"),
                )
            )
    for family in FAMILIES:  # and an unsubscribe from each family, on each channel
        for channel in ("email", "sms"):
            yield w.event(
                Engagement(w.uid("e"), CONTACT, w.at(), "unsubscribe", channel, w.uid("m"), family)
            )


def worst_state() -> ContactState:
    engine = Engine(WORST)
    for event in worst_case_events():
        if isinstance(event, CatalogUpdate):
            engine.feed_catalog(event)
        else:
            engine.feed(event)
    return engine.states[CONTACT]


def test_the_largest_state_events_can_build_is_a_record_the_broker_takes() -> None:
    state = worst_state()
    journeys = [j.scenario for j in state.journeys]
    order_journeys = [
        n for n in journeys if n in ("review_request", "cross_sell", "shipped_followup")
    ]
    # Every collection is full: this is the worst case, not a small one.
    assert len(state.cart.lines) == RULES.cart_lines
    assert len(state.browse.viewed) == 10
    assert len(state.categories) == 5
    assert len(state.watching) == WATCHED_KEPT
    assert len(state.interests) == INTERESTS_KEPT
    assert len(state.pending) == HELD_KEPT
    assert len(state.sends) == SENDS_KEPT
    assert len(state.profile.blocked) == 12
    assert len(state.profile.attributes) == RULES.max_attributes and state.profile.first_name
    assert len(order_journeys) == ORDERS_KEPT
    # The digest's own journey of the last restock has fired: it took a place meanwhile.
    assert journeys.count("back_in_stock") == RESTOCKS_KEPT - 1
    assert journeys.count("price_drop") == DROPS_KEPT
    assert {
        "cart_abandonment",
        "browse_abandonment",
        "category_abandonment",
        "search_abandonment",
        "welcome",
        "birthday",
        "subscription_expiry",
        "reactivation",
        "digest_weekly",
    } <= set(journeys)
    welcome = next(j for j in state.journeys if j.scenario == "welcome")
    assert welcome.data is not None and len(welcome.data["bought"]) == ORDER_ITEMS_KEPT
    stored = encode_stored(Stored(2**31 - 1, (2**62,) * 5, state))
    assert len(stored) + SEEN_ALLOWANCE < BROKER_LIMIT, len(stored)
    print(f"largest state: {len(stored):,} bytes")


def feed(engine: Engine, events: list[Event]) -> ContactState:
    for event in events:
        engine.feed(event)
    return engine.states["c1"]


def product(n: int) -> Product:
    return Product(f"p{n}", f"Product {n}", 10.0, "EUR", "k")


def test_a_full_cart_drops_the_line_added_first() -> None:
    config = load_config("scenarios: {cart_abandonment: {}}\ninputs: {cart_lines: 3}\n")
    state = feed(
        Engine(config), [CartChange(f"e{n}", "c1", T0 + n, "add", product(n)) for n in range(5)]
    )
    assert [line.product.id for line in state.cart.lines] == ["p2", "p3", "p4"]
    state = feed(
        Engine(config),
        [
            *(CartChange(f"e{n}", "c1", T0 + n, "add", product(n)) for n in range(3)),
            CartChange("e9", "c1", T0 + 9, "add", product(0), 2),  # a line already in: no drop
            CartChange("e10", "c1", T0 + 10, "remove", product(1)),
        ],
    )
    assert [(line.product.id, line.quantity) for line in state.cart.lines] == [("p0", 3), ("p2", 1)]


def test_a_cart_line_adds_up_to_the_largest_quantity_an_event_may_carry() -> None:
    engine = Engine(load_config("scenarios: {cart_abandonment: {}}\n"))
    state = feed(
        engine,
        [CartChange(f"e{n}", "c1", T0 + n, "add", product(1), MAX_QUANTITY) for n in range(3)],
    )
    assert state.cart.lines[0].quantity == MAX_QUANTITY
    encode_stored(Stored(0, (0,), state))  # an integer a stored state holds


def test_the_default_cart_keeps_fifty_lines() -> None:
    engine = Engine(load_config("scenarios: {cart_abandonment: {}}\n"))
    state = feed(
        engine, [CartChange(f"e{n}", "c1", T0 + n, "update", product(n), 1) for n in range(60)]
    )
    assert len(state.cart.lines) == 50 == RULES.cart_lines
    assert state.cart.lines[0].product.id == "p10"


def an_order(n: int, status: str = "shipped", items: int = 1) -> Order:
    return Order(
        f"o{n}",
        "c1",
        T0 + n * MINUTE_MS,
        f"order-{n}",
        status,  # type: ignore[arg-type]  # a status of the list
        tuple(OrderItem(product(i), 1) for i in range(items)),
        10.0,
        "EUR",
    )


ORDERS = load_config("""
scenarios:
  review_request: {delay: 20d}
  shipped_followup: {kind: order_status, statuses: [shipped], delay: 20d}
""")


def test_order_journeys_keep_the_latest_orders_and_their_first_lines() -> None:
    state = feed(
        Engine(ORDERS),
        [an_order(n, "shipped" if n % 2 else "delivered", items=30) for n in range(10)],
    )
    assert [j.instance for j in state.journeys] == [f"o{n}" for n in range(4, 10)]
    assert len(state.journeys) == ORDERS_KEPT
    for journey in state.journeys:
        assert journey.data is not None
        items = journey.data["order"]["items"]
        assert [i["product"]["id"] for i in items] == [f"p{i}" for i in range(20)]
        assert journey.data["order"]["total"] == 10.0


def test_an_order_read_late_does_not_push_out_a_newer_one() -> None:
    engine = Engine(ORDERS)
    feed(engine, [an_order(n) for n in range(10, 10 + ORDERS_KEPT)])
    state = feed(engine, [an_order(1)])  # triggered before all of them: the one dropped
    assert sorted(j.instance for j in state.journeys) == [
        f"o{n}" for n in range(10, 10 + ORDERS_KEPT)
    ]


RESTOCKS = load_config("scenarios:\n  back_in_stock: {delay: 20d}\n  price_drop: {delay: 20d}\n")
DIGESTS = load_config("scenarios:\n  restock_digest: {kind: back_in_stock, digest: weekly}\n")


def restocked(engine: Engine, n: int) -> None:
    seen = Product(f"s{n}", "Sold out", 10.0, "EUR", "k", in_stock=False)
    engine.feed(PageView(f"v{n}", "c1", T0 + 2 * n * MINUTE_MS, "product", seen))
    engine.feed_catalog(
        CatalogUpdate(
            f"u{n}",
            T0 + (2 * n + 1) * MINUTE_MS,
            Product(f"s{n}", "Back", 10.0, "EUR", "k", in_stock=True),
        )
    )


def test_back_in_stock_journeys_keep_the_latest() -> None:
    engine = Engine(RESTOCKS)
    for n in range(15):
        restocked(engine, n)
    state = engine.states["c1"]
    assert [j.instance for j in state.journeys if j.scenario == "back_in_stock"] == [
        f"u{n}" for n in range(10, 15)
    ]


def test_held_digest_messages_keep_the_latest() -> None:
    engine = Engine(DIGESTS)
    engine.feed(ContactProfile("p", "c1", T0 - 1, email="a@x.example", marketing_opt_in=True))
    for n in range(15):
        restocked(engine, n)
    engine.feed(PageView("last", "c1", T0 + 40 * MINUTE_MS, "home"))  # the last one is held
    state = engine.states["c1"]
    assert [item["payload"]["product"]["id"] for _, _, item in state.pending] == [
        f"s{n}" for n in range(5, 15)
    ]
    assert len(state.pending) == HELD_KEPT


def test_price_drop_journeys_keep_the_latest() -> None:
    engine = Engine(RESTOCKS)
    for n in range(8):
        seen = Product(f"d{n}", "Dear", 100.0, "EUR", "k", in_stock=True)
        engine.feed(PageView(f"v{n}", "c1", T0 + 2 * n * MINUTE_MS, "product", seen))
        cheaper = Product(f"d{n}", "Cheap", 10.0, "EUR", "k", in_stock=True)
        engine.feed_catalog(CatalogUpdate(f"u{n}", T0 + (2 * n + 1) * MINUTE_MS, cheaper))
    state = engine.states["c1"]
    assert [j.instance for j in state.journeys if j.scenario == "price_drop"] == [
        f"u{n}" for n in range(3, 8)
    ]


def test_a_held_digest_message_keeps_its_product_and_plain_values_only() -> None:
    from relance.core.commands import Recipient, SendCommand
    from relance.core.detectors.digest import hold
    from relance.core.state import ContactState as State

    payload = {
        "order": {"items": [1, 2]},
        "products": [{"product": {"id": "p"}}],
        "product": {"id": "p1"},
        "previous_price": 12.5,
        "period": "2024-W18",
        "cart_id": None,
    }
    command = SendCommand(
        "id",
        "c1",
        "price_drop",
        1,
        "email",
        "price_drop",
        1,
        T0,
        Recipient(None, None, None),
        payload,
    )
    scenario = DIGESTS.get("restock_digest")
    assert scenario is not None
    state = hold(State("c1"), command, scenario)
    ((_, _, item),) = state.pending
    assert item["payload"] == {
        "product": {"id": "p1"},
        "previous_price": 12.5,
        "period": "2024-W18",
        "cart_id": None,
    }


def test_sends_keep_the_latest_and_a_cap_above_them_is_refused() -> None:
    with pytest.raises(ConfigError, match=f"from 1 to {SENDS_KEPT}, not 65"):
        load_config("scenarios: {cart_abandonment: {}}\npolicy:\n  caps: {email: {week: 65}}\n")
    state = worst_state()
    assert len(state.sends) == SENDS_KEPT
    assert state.sends == tuple(sorted(state.sends, key=lambda s: s[1]))
