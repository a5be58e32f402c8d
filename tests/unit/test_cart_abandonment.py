"""Cart abandonment, one semantic line per case (default delay 1h, quiet period 24h)."""

from __future__ import annotations

import pytest

from relance.core.events import Event

from .timeline import at, cart, order, profile, replay, sent, suppressed, view

CASES: dict[str, tuple[list[Event], float, list[float]]] = {
    # name: (events, clock at the end in minutes, minutes at which a cart reminder is decided)
    "an open cart left alone fires once at change + delay": ([profile(), cart(0)], 600, [60]),
    "nothing fires before the deadline": ([profile(), cart(0)], 59.99, []),
    "every cart change moves the deadline": ([profile(), cart(0), cart(30, pid="p2")], 600, [90]),
    "a remove that leaves items also moves the deadline": (
        [profile(), cart(0, quantity=2), cart(30, "remove")],
        600,
        [90],
    ),
    "removing the last item closes the cart": ([profile(), cart(0), cart(10, "remove")], 600, []),
    "removing more than the quantity closes the cart": (
        [profile(), cart(0), cart(10, "remove", quantity=5)],
        600,
        [],
    ),
    "clear closes the cart": ([profile(), cart(0), cart(10, "clear", pid=None)], 600, []),
    "update to zero closes the cart": (
        [profile(), cart(0), cart(10, "update", quantity=0)],
        600,
        [],
    ),
    "an order placed before the deadline closes the cart": (
        [profile(), cart(0), order(50)],
        600,
        [],
    ),
    "an order placed ten minutes before the deadline still cancels": (
        [profile(), cart(0), order(50), view(70, page_type="home")],
        600,
        [],
    ),
    "an order with another status does not close the cart": (
        [profile(), cart(0), order(30, "paid")],
        600,
        [60],
    ),
    "an order after the deadline comes too late": ([profile(), cart(0), order(61)], 600, [60]),
    "a deadline reached by an event's time fires before that event": (
        [profile(), cart(0), order(60)],
        600,
        [60],
    ),
    "a cart change after firing re-arms (then the quiet period holds it)": (
        [profile(), cart(0), cart(120, pid="p2")],
        600,
        [60],
    ),
    "a re-armed cart after the quiet period fires again": (
        [profile(), cart(0), cart(25 * 60, pid="p2")],
        27 * 60,
        [60, 26 * 60],
    ),
    "a cart emptied and refilled fires for the refill": (
        [profile(), cart(0), cart(10, "clear", pid=None), cart(20)],
        600,
        [80],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_cart_abandonment(name: str) -> None:
    events, until, expected = CASES[name]
    commands = [c for c in sent(replay(events, until)) if c.scenario == "cart_abandonment"]
    assert [c.decided_at for c in commands] == [at(m) for m in expected]


def test_reminder_carries_the_cart_items_with_quantities() -> None:
    events = [
        profile(),
        cart(0, pid="p1"),
        cart(1, pid="p2", quantity=2),
        cart(2, pid="p1"),
        cart(3, "update", pid="p2", quantity=5),
        cart(4, pid="p3"),
        cart(5, "remove", "p3"),
    ]
    (command,) = sent(replay(events, 600))
    items = [(i["product"]["id"], i["quantity"]) for i in command.payload["items"]]
    assert items == [("p1", 2), ("p2", 5)]
    assert command.payload["items"][0]["product"]["name"] == "Product p1"
    assert (command.channel, command.template, command.priority) == (
        "email",
        "cart_abandonment",
        100,
    )
    assert command.recipient.email == "ann@example.com"


def test_refire_inside_quiet_period_is_suppressed_not_dropped_silently() -> None:
    outcomes = replay([profile(), cart(0), cart(120, pid="p2")], 600)
    assert suppressed(outcomes) == [("cart_abandonment", "quiet_period")]


def test_one_command_per_instance_however_far_the_clock_moves() -> None:
    outcomes = replay([profile(), cart(0), view(200, page_type="home")], 100_000)
    assert len(sent(outcomes)) == 1


ORDER_FIRST: dict[str, tuple[list[Event], float, list[float]]] = {
    # Orders and cart changes come from different topics: the later one may be read first.
    "an order read before an older cart add still settles that cart": (
        [profile(), order(30), cart(0)],
        600,
        [],
    ),
    "a cart change newer than the order read first opens a new cart": (
        [profile(), order(30), cart(40)],
        600,
        [100],
    ),
}


@pytest.mark.parametrize("name", list(ORDER_FIRST))
def test_reading_order_across_topics(name: str) -> None:
    events, until, expected = ORDER_FIRST[name]
    assert [c.decided_at for c in sent(replay(events, until))] == [at(m) for m in expected]


def test_an_order_of_another_cart_does_not_close_this_one() -> None:
    from relance.core.events import CartChange, Order, OrderItem

    from .timeline import product

    def change(minute: float, cart_id: str) -> CartChange:
        return CartChange(f"k{minute}", "c1", at(minute), "add", product("p1"), 1, cart_id)

    def placed(minute: float, cart_id: str | None) -> Order:
        return Order(
            f"o{minute}",
            "c1",
            at(minute),
            f"order-{minute}",
            "placed",
            (OrderItem(product("p1"), 1),),
            10.0,
            "EUR",
            cart_id,
        )

    other = sent(replay([profile(), change(0, "web"), placed(30, "app")], 600))
    assert [c.decided_at for c in other] == [at(60)]
    assert sent(replay([profile(), change(0, "web"), placed(30, "web")], 600)) == []
    assert sent(replay([profile(), change(0, "web"), placed(30, None)], 600)) == []
