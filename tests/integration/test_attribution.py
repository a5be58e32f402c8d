"""Attribution live, on the embedded broker: a reminder is sent, the contact orders, and the
worker credits the order to the reminder on the decisions topic and on its /metrics."""

from __future__ import annotations

import orjson
import pytest

from relance.core.events import CartChange, Order, OrderItem

from .conftest import Stack, read_all, read_rest, wait_for
from .test_live_pipeline import SHOE, now_ms, produce, profile

pytestmark = pytest.mark.integration


def test_an_order_after_a_cart_reminder_is_attributed_to_it_once(stack: Stack) -> None:
    stack.start("worker")
    stack.start("sender")
    t = now_ms()
    produce(stack, [profile("ivy", t), CartChange("ivy-1", "ivy", t + 10, "add", SHOE, 1)])
    wait_for(lambda: stack.sink.messages(), timeout=90)
    ordered = now_ms()
    placed = Order("ivy-2", "ivy", ordered, "o-77", "placed", (OrderItem(SHOE, 1),), 89.9, "EUR")
    # The same order again under another event id, and its payment: neither counts again.
    produce(
        stack,
        [
            placed,
            Order(
                "ivy-3", "ivy", ordered + 5, "o-77", "placed", (OrderItem(SHOE, 1),), 89.9, "EUR"
            ),
            Order("ivy-4", "ivy", ordered + 10, "o-77", "paid", (OrderItem(SHOE, 1),), 89.9, "EUR"),
        ],
    )
    conversions = 'relance_conversions_total{scenario="cart_abandonment",variant="none"}'
    revenue = 'relance_revenue_total{currency="EUR",scenario="cart_abandonment",variant="none"}'
    wait_for(lambda: stack.metrics("worker").get(conversions) == 1.0, timeout=60)
    worker = stack.metrics("worker")
    assert worker[revenue] == pytest.approx(89.9)
    assert worker['relance_sends_total{scenario="cart_abandonment",variant="none"}'] == 1.0
    decisions = stack.consumer("relance-decisions")
    try:
        records = [orjson.loads(m.value()) for m in read_all(decisions, 2, timeout=30)]
        records += [orjson.loads(m.value()) for m in read_rest(decisions)]
    finally:
        decisions.close()
    (sent,) = [r for r in records if r["outcome"] == "sent"]
    (attributed,) = [r for r in records if r["outcome"] == "attributed"]
    assert attributed == {
        "outcome": "attributed",
        "contact_id": "ivy",
        "order_id": "o-77",
        "revenue": 89.9,
        "currency": "EUR",
        "command_id": sent["command_id"],
        "scenario": "cart_abandonment",
        "step": 1,
        "variant": None,
        "holdout": False,
        "touch": "sent",
        "decided_at": attributed["decided_at"],
    }
    assert attributed["decided_at"] > sent["decided_at"]
    assert stack.metrics("worker")[conversions] == 1.0
