"""`relance sender` with RELANCE_EMAIL_PROVIDER=postmark and =sendgrid, pointed at a real
local HTTP server that checks each request as the ESP documents it and answers like it, on
the embedded broker: delivered once, a 429 waited out, a 422 recorded as final, a redelivered
command not sent twice."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from relance.codec.outputs import AvroOutputCodec
from relance.core.commands import Recipient, SendCommand
from relance.core.events import CartChange, Order, OrderItem

from .conftest import BRAND, Stack, wait_for
from .esp_server import TOKEN, Answer, EspServer, Kind, postmark_error, sendgrid_error
from .test_health import get
from .test_live_pipeline import SHOE, now_ms, produce, profile

pytestmark = pytest.mark.integration

WITH_ORDERS = (
    """\
scenarios:
  cart_abandonment:   {delay: 4s, quiet_period: 1h}
  order_confirmation: {}
"""
    + BRAND
)


def esp_env(server: EspServer) -> dict[str, str]:
    secret = "RELANCE_POSTMARK_TOKEN" if server.kind == "postmark" else "RELANCE_SENDGRID_API_KEY"
    return {
        "RELANCE_EMAIL_PROVIDER": server.kind,
        secret: TOKEN,
        f"RELANCE_{server.kind.upper()}_URL": server.url,
    }


@pytest.fixture(params=["postmark", "sendgrid"])
def esp(request: pytest.FixtureRequest) -> Iterator[EspServer]:
    with EspServer(request.param) as running:
        yield running


def command(contact: str, decided_at: int) -> SendCommand:
    return SendCommand(
        f"00000000-0000-5000-8000-{contact.encode().hex():0>12}",
        contact,
        "cart_abandonment",
        1,
        "email",
        "cart_abandonment",
        100,
        decided_at,
        Recipient(f"{contact}@example.com", "en", "Europe/Paris"),
        {"cart_id": None, "items": [{"product": SHOE.to_record(), "quantity": 1}]},
    )


def hand_over(stack: Stack, sent: SendCommand) -> None:
    """Write ``sent`` to the delivery topic, as the worker would."""
    producer = stack.producer()
    producer.produce(
        stack.topic("relance-deliveries"),
        key=sent.contact_id.encode(),
        value=AvroOutputCodec().encode_command(sent.to_record()),
    )
    assert producer.flush(10) == 0


class Results:
    """The results topic, read as it fills."""

    def __init__(self, stack: Stack) -> None:
        self.consumer = stack.consumer("relance-delivery-results")
        self.records: list[dict[str, Any]] = []

    def until(
        self, done: Callable[[list[dict[str, Any]]], bool], timeout: float = 90.0
    ) -> list[dict[str, Any]]:
        codec = AvroOutputCodec()

        def read() -> bool:
            message = self.consumer.poll(0.5)
            if message is not None and message.error() is None:
                self.records.append(codec.decode_result(message.value() or b""))
            return done(self.records)

        wait_for(read, timeout=timeout, every=0)
        return self.records

    def close(self) -> None:
        self.consumer.close()


def outcomes(records: list[dict[str, Any]]) -> list[str]:
    return [record["outcome"] for record in records]


def finals(count: int) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda records: sum(o != "temporary_failure" for o in outcomes(records)) >= count


def test_a_cart_reminder_is_delivered_once_through_the_esp(stack: Stack, esp: EspServer) -> None:
    scenarios = stack.root / "with-orders.yaml"
    scenarios.write_text(WITH_ORDERS)
    stack.start("worker", RELANCE_SCENARIOS=str(scenarios))
    stack.start("sender", **esp_env(esp), RELANCE_SCENARIOS=str(scenarios))
    t = now_ms()
    produce(
        stack,
        [
            profile("ann", t),
            CartChange("ann-1", "ann", t + 10, "add", SHOE, 2),
            profile("bo", t),
            Order("bo-1", "bo", t + 10, "o-1", "placed", (OrderItem(SHOE, 1),), 89.9, "EUR"),
        ],
    )
    results = Results(stack)
    try:
        records = results.until(finals(2))
        time.sleep(3)  # a second request would have come by now
    finally:
        results.close()
    assert outcomes(records) == ["delivered", "delivered"]
    assert esp.problems == []
    by_scenario = {record["scenario"]: record["command_id"] for record in records}
    reminder, confirmation = sorted(
        esp.requests(), key=lambda r: r.command_id != by_scenario["cart_abandonment"]
    )
    assert confirmation.command_id == by_scenario["order_confirmation"]
    if esp.kind == "postmark":
        assert reminder.body["To"] == "ann@example.com"
        assert reminder.body["Metadata"]["relance_contact_id"] == "ann"
        assert "Trail shoe" in reminder.body["TextBody"]
        # Marketing on the broadcast stream, an order's confirmation on the transactional one.
        assert reminder.body["MessageStream"] == "broadcast"
        assert confirmation.body["MessageStream"] == "outbound"
    else:
        assert reminder.body["personalizations"][0]["to"] == [{"email": "ann@example.com"}]
        assert reminder.body["custom_args"]["relance_contact_id"] == "ann"
        assert "Trail shoe" in reminder.body["content"][0]["value"]
        assert reminder.body["categories"] == ["cart_abandonment", "marketing"]
        assert confirmation.body["categories"] == ["order_confirmation", "transactional"]
    assert stack.sink.messages() == []  # nothing went to the SMTP relay
    assert "Traceback" not in stack.log("sender")
    assert TOKEN not in stack.log("sender")


def _rate_limited(kind: Kind, seconds: int) -> Answer:
    if kind == "postmark":
        refusal = postmark_error(429, 429, "Rate limit exceeded")
        return Answer(429, refusal.body, (*refusal.headers, ("Retry-After", str(seconds))))
    refusal = sendgrid_error(429, "too many requests")
    return Answer(
        429,
        refusal.body,
        (*refusal.headers, ("X-RateLimit-Limit", "600"), ("X-RateLimit-Remaining", "0")),
        reset_in=seconds + 1,
    )


def test_a_429_is_waited_out_as_the_esp_asks_then_delivered_once(
    stack: Stack, esp: EspServer
) -> None:
    wait = 6  # the sender's own backoff here is 0.1-0.2 s (RELANCE_RETRY_BACKOFF=0.2)
    esp.script(_rate_limited(esp.kind, wait))
    port = int(stack.env["RELANCE_SENDER_WEB_PORT"])
    stack.start("sender", **esp_env(esp))
    wait_for(lambda: get(port, "/readyz")[0] == 200, timeout=90)
    hand_over(stack, command("bea", now_ms()))
    _, body = wait_for(
        lambda: (answer := get(port, "/readyz"))[0] == 503 and answer, timeout=60, every=0.1
    )
    results = Results(stack)
    try:
        records = results.until(finals(1))
    finally:
        results.close()
    first, second = esp.requests()
    assert second.at - first.at >= wait - 0.5
    assert outcomes(records) == ["temporary_failure", "delivered"]
    assert "429" in str(records[0]["detail"])
    name = "Postmark API" if esp.kind == "postmark" else "SendGrid API"
    assert f"the email provider ({name} {esp.url}) has failed every attempt" in body
    wait_for(lambda: get(port, "/readyz") == (200, "ready\n"), timeout=30)
    assert len(esp.requests()) == 2 and esp.problems == []


def test_a_refused_message_is_a_permanent_failure_on_the_results_topic(
    stack: Stack, esp: EspServer
) -> None:
    if esp.kind == "postmark":
        esp.script(
            postmark_error(
                422,
                406,
                "You tried to send to recipient(s) that have been "
                "marked as inactive. Found inactive addresses: "
                "cy@example.com.",
            )
        )
        said = "422 Postmark: ErrorCode 406 (inactive recipient): You tried to send"
    else:
        esp.script(
            sendgrid_error(
                400, "The from address does not match a verified Sender Identity.", "from"
            )
        )
        said = "400 SendGrid: from: The from address does not match a verified Sender"
    stack.start("sender", **esp_env(esp))
    hand_over(stack, command("cy", now_ms()))
    results = Results(stack)
    try:
        records = results.until(finals(1))
        time.sleep(2)  # a retry would come by now
    finally:
        results.close()
    assert outcomes(records) == ["permanent_failure"]
    assert str(records[0]["detail"]).startswith(said)
    assert len(esp.requests()) == 1
    assert "cy@example.com" not in stack.log("sender")  # the ESP's words, masked in logs


def test_a_command_redelivered_to_a_restarted_sender_is_not_sent_again(
    stack: Stack, esp: EspServer
) -> None:
    sent = command("dan", now_ms())
    stack.start("sender", **esp_env(esp))
    hand_over(stack, sent)
    results = Results(stack)
    try:
        results.until(finals(1))
        stack.kill("sender")
        stack.start("sender", **esp_env(esp))
        hand_over(stack, sent)  # the same command again, as a replay or a retry upstream
        records = results.until(finals(2), timeout=120)
    finally:
        results.close()
    assert outcomes(records) == ["delivered", "duplicate"]
    assert [received.command_id for received in esp.requests()] == [sent.command_id]
