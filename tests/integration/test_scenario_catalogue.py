"""Catalogue scenarios end to end: worker and sender on the embedded broker, SMTP sink."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from msgspec.structs import replace

from relance.codec import catalog as catalog_codec
from relance.codec.outputs import AvroOutputCodec
from relance.core.commands import Recipient, SendCommand
from relance.core.events import (
    CartChange,
    CatalogUpdate,
    ContactProfile,
    Engagement,
    Order,
    OrderItem,
    PageView,
)
from relance.core.timestamps import from_datetime, parse_iso

from .conftest import BRAND, Stack, read_all, wait_for
from .test_live_pipeline import SHOE, now_ms, produce, profile

pytestmark = pytest.mark.integration


def configure(stack: Stack, text: str) -> dict[str, str]:
    path = stack.root / "catalogue.yaml"
    path.write_text(text + BRAND)
    return {"RELANCE_SCENARIOS": str(path)}


def test_a_two_step_cart_reminder_stops_when_the_contact_orders_after_step_one(
    stack: Stack,
) -> None:
    env = configure(
        stack,
        "scenarios:\n  cart_abandonment:\n    steps:\n      - {delay: 3s}\n      - {delay: 15s}\n",
    )
    stack.start("worker", **env)
    stack.start("sender")
    t = now_ms()
    produce(
        stack,
        [
            profile("ida", t),
            CartChange("ida-1", "ida", t + 10, "add", SHOE, 1),
            profile("jo", t),
            CartChange("jo-1", "jo", t + 10, "add", SHOE, 1),
        ],
    )
    wait_for(lambda: len(stack.sink.messages()) >= 2, timeout=90)
    produce(
        stack,
        [Order("ida-2", "ida", now_ms(), "o-1", "placed", (OrderItem(SHOE, 1),), 89.9, "EUR")],
    )
    # jo never orders: step 2 arrives for jo, and only for jo
    wait_for(lambda: len(stack.sink.messages()) >= 3, timeout=90)
    time.sleep(4)
    assert sorted(m["To"] for m in stack.sink.messages()) == [
        "ida@example.com",
        "jo@example.com",
        "jo@example.com",
    ]


def test_an_order_confirmation_reaches_a_contact_without_marketing_consent(stack: Stack) -> None:
    env = configure(
        stack, "scenarios:\n  order_confirmation: {}\n  cart_abandonment: {delay: 3s}\n"
    )
    stack.start("worker", **env)
    stack.start("sender")
    t = now_ms()
    produce(
        stack,
        [
            ContactProfile("kim-p", "kim", t, email="kim@example.com", marketing_opt_in=False),
            CartChange("kim-1", "kim", t + 5, "add", SHOE, 2),
            CartChange("kim-2", "kim", t + 6, "remove", SHOE, 1),
            Order("kim-3", "kim", t + 10, "o-9", "placed", (OrderItem(SHOE, 1),), 89.9, "EUR"),
            CartChange("kim-4", "kim", t + 20, "add", SHOE, 1),  # no consent: no cart reminder
        ],
    )
    (message,) = wait_for(lambda: stack.sink.messages(), timeout=90)
    time.sleep(6)
    assert len(stack.sink.messages()) == 1
    assert message["To"] == "kim@example.com"
    assert message["Subject"] == "Thank you for your order (o-9)"
    body = message.get_body(("plain",))
    assert body is not None and "Trail shoe" in body.get_content()
    suppressed = 'relance_suppressions_total{reason="no_consent",scenario="cart_abandonment"}'
    assert stack.metrics("worker").get(suppressed) == 1.0
    decisions = stack.consumer("relance-decisions")
    try:
        explained = [orjson.loads(m.value()) for m in read_all(decisions, 2, timeout=30)]
    finally:
        decisions.close()
    assert sorted((d["scenario"], d["outcome"], d["reason"]) for d in explained) == [
        ("cart_abandonment", "suppressed", "no_consent"),
        ("order_confirmation", "sent", None),
    ]


def last_nine_oclock(zone: str) -> datetime:
    """The latest 09:00 that has already passed in ``zone``."""
    local = datetime.now(ZoneInfo(zone))
    nine = local.replace(hour=9, minute=0, second=0, microsecond=0)
    return nine if nine <= local else nine - timedelta(days=1)


def test_a_birthday_is_decided_at_nine_in_the_contacts_time_zone(stack: Stack) -> None:
    env = configure(stack, "scenarios:\n  birthday: {send_at: '09:00'}\n")
    stack.start("worker", **env, RELANCE_OUTPUT_FORMAT="json")
    stack.start("sender", RELANCE_OUTPUT_FORMAT="json")
    tokyo = last_nine_oclock("Asia/Tokyo")
    new_york_tomorrow = datetime.now(ZoneInfo("America/New_York")).date() + timedelta(days=1)
    before = from_datetime(tokyo) - 3_600_000
    produce(
        stack,
        [
            ContactProfile(
                "lea-p",
                "lea",
                before,
                email="lea@example.com",
                timezone="Asia/Tokyo",
                marketing_opt_in=True,
                birthday=tokyo.date().replace(year=1992),
            ),
            ContactProfile(
                "max-p",
                "max",
                before,
                email="max@example.com",
                timezone="America/New_York",
                marketing_opt_in=True,
                birthday=new_york_tomorrow.replace(year=1992),
            ),
        ],
    )
    (message,) = wait_for(lambda: stack.sink.messages(), timeout=90)
    deliveries = stack.consumer("relance-deliveries")
    try:
        (command,) = read_all(deliveries, 1, timeout=30)
    finally:
        deliveries.close()
    time.sleep(3)
    assert [m["To"] for m in stack.sink.messages()] == ["lea@example.com"]
    assert message["Subject"] == "Happy birthday!"
    record = orjson.loads(command.value())
    assert parse_iso(record["decided_at"]) == from_datetime(tokyo)
    assert record["payload"] == {"year": tokyo.year}


def test_a_contact_who_saw_a_product_sold_out_is_told_when_the_catalog_has_it_again(
    stack: Stack,
) -> None:
    env = configure(stack, "scenarios:\n  back_in_stock: {}\n")
    stack.start("worker", **env)
    stack.start("sender")
    t = now_ms()
    sold_out = replace(SHOE, in_stock=False)
    produce(
        stack,
        [
            profile("ned", t),
            PageView("ned-1", "ned", t + 10, "product", sold_out),
            profile("ola", t),
            PageView("ola-1", "ola", t + 10, "product", SHOE),
        ],
    )
    # The restock must come after the views were applied (not only read): the catalog is
    # applied as it arrives.
    wait_for(
        lambda: stack.metrics("worker").get("relance_events_applied_total", 0) >= 4, timeout=60
    )
    producer = stack.producer()
    back = CatalogUpdate("restock-1", now_ms(), replace(SHOE, in_stock=True, price=79.9))
    producer.produce(
        stack.topic("catalog"), key=SHOE.id.encode(), value=catalog_codec.encode_avro(back)
    )
    assert producer.flush(10) == 0
    (message,) = wait_for(lambda: stack.sink.messages(), timeout=60)
    time.sleep(3)
    assert [m["To"] for m in stack.sink.messages()] == ["ned@example.com"]
    assert message["Subject"] == "Back in stock: Trail shoe"
    body = message.get_body(("plain",))
    assert body is not None and "€79.90" in body.get_content()


class SmsGateway:
    """A real HTTP server that takes SMS the way relance sends them, and keeps them."""

    def __init__(self) -> None:
        received: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((orjson.loads(body), dict(self.headers)))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/sms"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_an_sms_scenario_reaches_the_sms_gateway_over_http(stack: Stack) -> None:
    gateway = SmsGateway()
    try:
        env = configure(stack, "scenarios:\n  cart_abandonment: {delay: 3s, channel: sms}\n")
        stack.start("worker", **env)
        stack.start(
            "sender",
            RELANCE_SMS_URL=gateway.url,
            RELANCE_SMS_TOKEN="s3cret",
            RELANCE_SMS_FROM="Shop",
        )
        t = now_ms()
        produce(
            stack,
            [
                ContactProfile("pia-p", "pia", t, phone="+4915112345678", sms_opt_in=True),
                CartChange("pia-1", "pia", t + 10, "add", SHOE, 1),
            ],
        )
        wait_for(lambda: gateway.received, timeout=90)
        time.sleep(3)
        ((body, headers),) = gateway.received
    finally:
        gateway.close()
    assert body["to"] == "+4915112345678" and body["from"] == "Shop"
    assert body["text"].startswith("Your cart is waiting: Trail shoe.")
    assert headers["Authorization"] == "Bearer s3cret"
    assert headers["Idempotency-Key"] == body["id"]
    assert stack.sink.messages() == []
    delivered = 'relance_deliveries_total{channel="sms",outcome="delivered"}'
    wait_for(lambda: stack.metrics("sender").get(delivered) == 1.0, timeout=30)


def test_cross_sell_after_delivery_offers_what_other_shoppers_bought_with_it(stack: Stack) -> None:
    env = configure(stack, "scenarios:\n  cross_sell: {delay: 3s}\n")
    stack.start("worker", **env)
    stack.start("sender")
    socks = replace(SHOE, id="sku-2", name="Wool socks", url="https://shop.example/p/sku-2")
    t = now_ms()
    baskets = [
        Order(
            f"x{n}",
            f"other-{n}",
            t + n,
            f"o-x{n}",
            "placed",
            (OrderItem(SHOE, 1), OrderItem(socks, 1)),
            99.0,
            "EUR",
        )
        for n in range(3)
    ]
    produce(
        stack,
        [
            *baskets,
            profile("una", t),
            Order("una-1", "una", t + 100, "o-u", "delivered", (OrderItem(SHOE, 1),), 89.9, "EUR"),
        ],
    )
    (message,) = wait_for(lambda: stack.sink.messages(), timeout=90)
    time.sleep(3)
    assert [m["To"] for m in stack.sink.messages()] == ["una@example.com"]
    assert message["Subject"] == "Goes well with your order"
    body = message.get_body(("plain",))
    assert body is not None and "Wool socks" in body.get_content()


def test_the_sender_withdraws_a_reminder_whose_products_sold_out_since_the_decision(
    stack: Stack,
) -> None:
    producer = stack.producer()
    gone = CatalogUpdate("gone-1", now_ms(), replace(SHOE, in_stock=False))
    producer.produce(
        stack.topic("catalog"), key=SHOE.id.encode(), value=catalog_codec.encode_avro(gone)
    )
    assert producer.flush(10) == 0
    stack.start("sender")  # reads the catalog up before it sends
    command = SendCommand(
        "c0ffee00-0000-5000-8000-000000000001",
        "vic",
        "cart_abandonment",
        1,
        "email",
        "cart_abandonment",
        100,
        now_ms(),
        Recipient("vic@example.com", None, None),
        {"cart_id": None, "items": [{"product": SHOE.to_record(), "quantity": 1}]},
    )
    producer.produce(
        stack.topic("relance-deliveries"),
        key=b"vic",
        value=AvroOutputCodec().encode_command(command.to_record()),
    )
    assert producer.flush(10) == 0
    results = stack.consumer("relance-delivery-results")
    try:
        (result,) = read_all(results, 1, timeout=90)
    finally:
        results.close()
    assert AvroOutputCodec().decode_result(result.value())["outcome"] == "withdrawn"
    assert stack.sink.messages() == []


def test_an_unsubscribe_on_the_engagement_topic_stops_a_pending_cart_reminder(stack: Stack) -> None:
    env = configure(stack, "scenarios:\n  cart_abandonment: {delay: 8s}\n")
    stack.start("worker", **env)
    stack.start("sender")
    t = now_ms()
    produce(
        stack,
        [
            profile("wes", t),
            CartChange("wes-1", "wes", t + 10, "add", SHOE, 1),
            profile("xan", t),
            CartChange("xan-1", "xan", t + 10, "add", SHOE, 1),
        ],
    )
    produce(stack, [Engagement("wes-u", "wes", now_ms(), "unsubscribe")])
    wait_for(lambda: stack.sink.messages(), timeout=90)
    time.sleep(4)
    assert [m["To"] for m in stack.sink.messages()] == ["xan@example.com"]
    stopped = 'relance_suppressions_total{reason="unsubscribed",scenario="cart_abandonment"}'
    wait_for(lambda: stack.metrics("worker").get(stopped) == 1.0, timeout=10)
