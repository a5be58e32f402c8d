"""``other``, what a symbol added by a newer schema reads as: a cart change, an order or an
engagement of kind ``other`` changes nothing and triggers nothing; a page view of type
``other`` is still a visit. JSON may say ``other`` itself; an unknown value it refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from relance.codec import json as json_codec
from relance.codec.records import event_from_record
from relance.core.contact import on_input
from relance.core.engine import Engine
from relance.core.events import CartChange, Engagement, Event, Order, OrderItem
from relance.core.state import ContactState, Profile
from relance.errors import ConfigError, InvalidEventError
from relance.scenario_file import load_config

from .test_wire import RULES
from .timeline import at, cart, product, profile, replay, sent, view

EVERY_KIND = load_config("""\
scenarios:
  cart_abandonment: {}
  browse_abandonment: {}
  order_confirmation: {}
  shipping_update: {}
  delivery_update: {}
  order_cancellation: {}
  refund_notice: {kind: order_status, statuses: [paid, refunded], template: refund}
  reactivation: {delay: 30d}
""")


def order(minute: float, status: Any) -> Order:
    return Order(
        f"o-{minute}",
        "c1",
        at(minute),
        "order-1",
        status,
        (OrderItem(product("p1"), 1),),
        10.0,
        "EUR",
    )


def engagement(minute: float, kind: Any) -> Engagement:
    return Engagement(f"g-{minute}", "c1", at(minute), kind)


def decided(events: list[Event], until: float = 60 * 24) -> list[tuple[str, int]]:
    return [(c.scenario, c.decided_at) for c in sent(replay(events, until, EVERY_KIND))]


def test_an_order_of_status_other_triggers_nothing_and_leaves_the_cart_open() -> None:
    assert decided([profile(), cart(0), order(30, "other")]) == [("cart_abandonment", at(60))]
    # As a placed order would have: confirmed, the cart closed.
    assert decided([profile(), cart(0), order(30, "placed")]) == [("order_confirmation", at(30))]


def test_a_cart_change_of_action_other_changes_nothing() -> None:
    events: list[Event] = [
        profile(),
        cart(0, quantity=1),
        cart(30, "other", quantity=5),
        cart(40, "other", pid=None),
    ]
    (command,) = sent(replay(events, 600, EVERY_KIND))
    assert (command.scenario, command.decided_at) == ("cart_abandonment", at(60))
    assert [(i["product"]["id"], i["quantity"]) for i in command.payload["items"]] == [("p1", 1)]


@pytest.mark.parametrize(
    "event", [cart(5, "other"), order(5, "other"), engagement(5, "other")], ids=lambda e: e.type
)
def test_an_event_of_kind_other_leaves_the_state_as_it_was(event: Event) -> None:
    """Not even the reactivation wait moves, which any other cart change or order restarts."""
    engine = Engine(EVERY_KIND)
    for earlier in (profile(), cart(0)):
        engine.feed(earlier)
    state = engine.states["c1"]
    assert on_input(state, event, EVERY_KIND) is state
    assert on_input(state, cart(5), EVERY_KIND) is not state


def test_an_engagement_of_kind_other_blocks_nothing() -> None:
    assert decided([profile(), cart(0), engagement(10, "other")]) == [("cart_abandonment", at(60))]
    assert decided([profile(), cart(0), engagement(10, "unsubscribe")]) == []
    before = Profile(email="ann@example.com", marketing_opt_in=True)
    assert before.engaged(engagement(10, "other")) is before


def test_a_page_view_of_type_other_is_still_a_visit() -> None:
    """It moves the reactivation wait, as a view of any page does."""
    state = ContactState("c1")
    after = on_input(state, view(0, pid=None, page_type="other"), EVERY_KIND)
    assert after is not None and [j.scenario for j in after.journeys] == ["reactivation"]


def record(event_type: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": event_type,
        "event_id": "e1",
        "contact_id": "c1",
        "occurred_at": 1714557600000,
    }
    more: dict[str, dict[str, Any]] = {
        "page_view": {"page_type": "other"},
        "cart": {"action": "other", "product": {"id": "p1"}},
        "order": {
            "order_id": "o1",
            "status": "other",
            "items": [],
            "total": 1.0,
            "currency": "EUR",
        },
        "engagement": {"kind": "other"},
    }
    return {**base, **more[event_type], **fields}


@pytest.mark.parametrize(
    "line",
    [
        record("page_view"),
        record("cart"),
        record("cart", product=None),
        record("order"),
        record("engagement"),
    ],
    ids=["page_view", "cart", "cart_without_product", "order", "engagement"],
)
def test_json_may_say_other_on_both_decode_paths(line: dict[str, Any]) -> None:
    raw = json.dumps(line).encode()
    fast = json_codec.decode(raw, rules=RULES)  # msgspec's path where it has one
    checked = event_from_record(line, rules=RULES)
    assert fast == checked
    assert "other" in (
        getattr(fast, name, None) for name in ("page_type", "action", "status", "kind")
    )


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        (
            record("page_view", page_type="wishlist"),
            "page_type must be one of cart, category, "
            "checkout, home, other, product, search, not 'wishlist'",
        ),
        (
            record("cart", action="save"),
            "action must be one of add, clear, other, remove, update, not 'save'",
        ),
        (
            record("order", status="returned"),
            "status must be one of cancelled, delivered, other, "
            "paid, placed, refunded, shipped, not 'returned'",
        ),
        (
            record("engagement", kind="forward"),
            "kind must be one of click, hard_bounce, open, "
            "other, spam_complaint, unsubscribe, not 'forward'",
        ),
    ],
    ids=["page_view", "cart", "order", "engagement"],
)
def test_json_refuses_a_value_it_does_not_know(line: dict[str, Any], detail: str) -> None:
    """JSON has no writer schema: a new symbol cannot be told from a misspelt one."""
    with pytest.raises(InvalidEventError) as caught:
        json_codec.decode(json.dumps(line).encode(), rules=RULES)
    assert (caught.value.reason, caught.value.detail) == ("bad_value", detail)


def test_a_cart_change_other_than_clear_and_other_still_needs_its_product() -> None:
    with pytest.raises(InvalidEventError, match="product is required for a cart update"):
        event_from_record(record("cart", action="update", product=None), rules=RULES)
    assert isinstance(event_from_record(record("cart", product=None), rules=RULES), CartChange)


def test_no_scenario_may_be_triggered_by_the_status_other() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config("scenarios:\n  x: {kind: order_status, statuses: [other]}\n", "shop.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "shop.yaml:2: scenarios.x.statuses: 'other' is not an order status (cancelled, "
        "delivered, paid, placed, refunded, shipped)"
    ]
