"""The live pipeline end to end: Avro events in, emails out, on the embedded broker."""

from __future__ import annotations

import time

import pytest

from relance.codec import avro
from relance.events import CartChange, ContactProfile, Event, Order, OrderItem, PageView, Product

from .conftest import Stack, wait_for

pytestmark = pytest.mark.integration

TOPIC_OF = {"page_view": "page-views", "cart": "carts", "order": "orders",
            "contact": "contacts"}
SHOE = Product("sku-1", "Trail shoe", 89.9, "EUR", "shoes", "https://shop.example/p/sku-1",
               "https://shop.example/img/sku-1.jpg", True)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def produce(stack: Stack, events: list[Event]) -> None:
    producer = stack.producer()
    for event in events:
        producer.produce(stack.topic(TOPIC_OF[event.type]), key=event.contact_id.encode(),
                         value=avro.encode(event))
    assert producer.flush(10) == 0


def profile(contact: str, at: int) -> ContactProfile:
    return ContactProfile(f"{contact}-p", contact, at, email=f"{contact}@example.com",
                          marketing_opt_in=True)


def test_cart_left_behind_gets_exactly_one_email_with_the_cart(stack: Stack) -> None:
    stack.start("worker")
    stack.start("sender")
    t = now_ms()
    produce(stack, [profile("ann", t), CartChange("ann-1", "ann", t + 10, "add", SHOE, 2)])
    messages = wait_for(lambda: stack.sink.messages(), timeout=90)
    time.sleep(3)  # a second email would have arrived by now
    assert len(stack.sink.messages()) == 1
    (message,) = messages
    assert message["To"] == "ann@example.com"
    body = message.get_body(("plain",))
    assert body is not None and "Trail shoe" in body.get_content()


def test_an_order_before_the_deadline_cancels_and_browsing_gets_its_email(stack: Stack) -> None:
    stack.start("worker")
    stack.start("sender")
    t = now_ms()
    produce(stack, [
        profile("bob", t), profile("cy", t),
        CartChange("bob-1", "bob", t + 10, "add", SHOE, 1),
        Order("bob-2", "bob", t + 1000, "o-1", "placed", (OrderItem(SHOE, 1),), 89.9, "EUR"),
        PageView("cy-1", "cy", t + 10, "product", SHOE),
    ])
    messages = wait_for(lambda: stack.sink.messages(), timeout=90)
    time.sleep(6)
    assert [m["To"] for m in stack.sink.messages()] == ["cy@example.com"]
    body = messages[0].get_body(("plain",))
    assert body is not None and "Trail shoe" in body.get_content()
