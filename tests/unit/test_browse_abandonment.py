"""Browse abandonment, one semantic line per case (default delay 1h)."""

from __future__ import annotations

import pytest

from relance.core.events import Event

from .timeline import at, cart, order, profile, replay, sent, view

CASES: dict[str, tuple[list[Event], float, list[float]]] = {
    "a product view arms it; it fires at view + delay": ([profile(), view(0)], 600, [60]),
    "every further product view moves the deadline": (
        [profile(), view(0), view(20, "p2"), view(40)],
        600,
        [100],
    ),
    "a non-product page does not arm it": (
        [profile(), view(0, None, page_type="category"), view(1, None, page_type="home")],
        600,
        [],
    ),
    "a non-product page does not move the deadline": (
        [profile(), view(0), view(30, None, page_type="search")],
        600,
        [60],
    ),
    "a view while the cart is open does not arm it": ([profile(), cart(0), view(5, "p2")], 600, []),
    "a cart add disarms it": ([profile(), view(0), cart(10)], 1000, []),
    "an order placed disarms it": ([profile(), view(0), order(10)], 600, []),
    "an order with another status does not disarm it": (
        [profile(), view(0), order(10, "shipped")],
        600,
        [60],
    ),
    "views after the cart is emptied arm it again": (
        [profile(), cart(0), cart(5, "clear", pid=None), view(10, "p2")],
        600,
        [70],
    ),
    "after firing, a new view starts a new instance": (
        [profile(), view(0), view(25 * 60, "p2")],
        27 * 60,
        [60, 26 * 60],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_browse_abandonment(name: str) -> None:
    events, until, expected = CASES[name]
    commands = [c for c in sent(replay(events, until)) if c.scenario == "browse_abandonment"]
    assert [c.decided_at for c in commands] == [at(m) for m in expected]


def test_products_most_viewed_first_then_most_recent_at_most_three() -> None:
    views = ["a", "b", "b", "c", "d", "d", "e", "a"]  # a:2 (last 7), b:2 (2), d:2 (5), e, c
    events = [profile(), *(view(i, pid) for i, pid in enumerate(views))]
    (command,) = sent(replay(events, 600))
    shown = [(p["product"]["id"], p["views"]) for p in command.payload["products"]]
    assert shown == [("a", 2), ("d", 2), ("b", 2)]


def test_products_only_from_the_current_instance() -> None:
    events = [profile(), view(0, "old"), view(25 * 60, "new")]
    second = sent(replay(events, 27 * 60))[1]
    assert [p["product"]["id"] for p in second.payload["products"]] == ["new"]


ACROSS_TOPICS: dict[str, tuple[list[Event], float, list[float]]] = {
    "a cart add read before an older view still disarms it": (
        [profile(), cart(30), cart(31, "clear", pid=None), view(10)],
        600,
        [],
    ),
    "an order read before an older view still disarms it": (
        [profile(), order(30), view(10)],
        600,
        [],
    ),
    "an older cart add read late does not disarm newer views": (
        [profile(), order(30), view(40), cart(20)],
        600,
        [100],
    ),
}


@pytest.mark.parametrize("name", list(ACROSS_TOPICS))
def test_reading_order_across_topics(name: str) -> None:
    events, until, expected = ACROSS_TOPICS[name]
    commands = [c for c in sent(replay(events, until)) if c.scenario == "browse_abandonment"]
    assert [c.decided_at for c in commands] == [at(m) for m in expected]
