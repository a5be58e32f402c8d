"""A provider outage delays sends and never drops them: the sender holds the command in hand
and retries it until it expires, while it stays a member of its group; the ledger forgets
old ids with tombstones. Real SMTP sink (stopped and started on its port), real broker."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from relance.codec.outputs import AvroOutputCodec
from relance.core.commands import Recipient, SendCommand
from relance.core.events import CartChange, Event, PageView
from relance.core.timestamps import to_iso
from relance.demo.broker import Broker
from relance.demo.mailsink import MailSink
from relance.demo.ports import free_port
from relance.kafka.topics import TopicSpec

from .conftest import BRAND, Stack, wait_for
from .test_health import get
from .test_live_pipeline import SHOE, now_ms, produce, profile

pytestmark = pytest.mark.integration

OUTAGE = 40.0  # seconds; the old budget gave up after 5 attempts and ~15 s of backoff
HORIZON = 120  # RELANCE_DELIVERY_HORIZON of these tests, seconds: longer than the outage
SCENARIOS = (
    """\
scenarios:
  browse_abandonment: {delay: 4s, quiet_period: 1h}
  cart_abandonment:   {delay: 4s, quiet_period: 1h, stale_after: 15s}
"""
    + BRAND
)
ATTEMPTS = 'relance_delivery_attempts_total{channel="email",result="temporary_failure"}'
AGE = 'relance_oldest_undelivered_seconds{channel="email"}'


def outcome(name: str) -> str:
    return f'relance_deliveries_total{{channel="email",outcome="{name}"}}'


def sender_env(stack: Stack) -> dict[str, str]:
    path = stack.root / "outage.yaml"
    path.write_text(SCENARIOS)
    return {
        "RELANCE_SCENARIOS": str(path),
        "RELANCE_RETRY_BACKOFF_MAX": "2",
        "RELANCE_DELIVERY_HORIZON": str(HORIZON),
    }


def browsing(contacts: list[str], t: int) -> list[Event]:
    return [
        event
        for c in contacts
        for event in (profile(c, t), PageView(f"{c}-1", c, t + 10, "product", SHOE))
    ]


def command_past_its_horizon_soon(contact: str, decided_at: int) -> bytes:
    """A command decided long ago (a sender that was down): its horizon ends in the outage."""
    command = SendCommand(
        f"00000000-0000-5000-8000-{contact.encode().hex():0>12}",
        contact,
        "browse_abandonment",
        1,
        "email",
        "browse_abandonment",
        50,
        decided_at,
        Recipient(f"{contact}@example.com", None, None),
        {"products": [{"product": SHOE.to_record(), "views": 1}]},
    )
    return AvroOutputCodec().encode_command(command.to_record())


def results_by_command(stack: Stack, count: int, timeout: float = 60.0) -> dict[str, list[str]]:
    """Every outcome on the results topic, per command, once ``count`` final ones are in."""
    consumer = stack.consumer("relance-delivery-results")
    codec = AvroOutputCodec()
    seen: dict[str, list[str]] = {}
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                record = codec.decode_result(message.value())
                seen.setdefault(record["command_id"], []).append(record["outcome"])
            elif sum(o[-1] != "temporary_failure" for o in seen.values()) >= count:
                break
    finally:
        consumer.close()
    return seen


def test_an_smtp_outage_longer_than_the_old_retry_budget_delays_every_email_and_loses_none(
    broker: Broker, tmp_path: Path
) -> None:
    contacts = [f"o{n:02d}" for n in range(8)]
    with MailSink(tmp_path / "outbox", port=free_port()) as sink:
        stack = Stack(broker, tmp_path, sink)
        env = sender_env(stack)
        port = int(stack.env["RELANCE_SENDER_WEB_PORT"])
        try:
            stack.start("worker", **env)
            stack.start("sender", **env)
            wait_for(lambda: get(port, "/readyz")[0] == 200, timeout=90)
            sink.stop()
            down = time.monotonic()
            t = now_ms()
            producer = stack.producer()
            producer.produce(
                stack.topic("relance-deliveries"),
                key=b"old",
                value=command_past_its_horizon_soon("old", t - (HORIZON - 10) * 1000),
            )
            assert producer.flush(10) == 0
            # Eight browse reminders to deliver; one cart reminder that goes stale in 15 s.
            produce(
                stack,
                [
                    *browsing(contacts, t),
                    profile("stale", t),
                    CartChange("stale-1", "stale", t + 10, "add", SHOE, 1),
                ],
            )

            _, body = wait_for(
                lambda: (answer := get(port, "/readyz"))[0] == 503 and answer, timeout=60
            )
            assert (
                f"the email provider (SMTP relay 127.0.0.1:{sink.port}) has failed every "
                "attempt since"
                in body
                and "last error:" in body
            )
            assert "@example.com" not in body
            wait_for(lambda: stack.metrics("sender").get(AGE, 0.0) > 1.0, timeout=30)
            time.sleep(max(0.0, OUTAGE - (time.monotonic() - down)))
            during = stack.metrics("sender")
            assert sink.messages() == [], "a message went through a relay that was down"
            outage = time.monotonic() - down
            sink.start()

            wait_for(lambda: len(sink.messages()) >= len(contacts), timeout=90)
            time.sleep(5)  # a repeated send would arrive by now
            results = results_by_command(stack, len(contacts) + 2)
            after = wait_for(
                lambda: (m := stack.metrics("sender")).get(outcome("expired")) == 2.0 and m,
                timeout=30,
            )
            wait_for(lambda: get(port, "/readyz") == (200, "ready\n"), timeout=30)
            assert stack.metrics("sender")[AGE] == 0.0
        finally:
            stack.stop_all()
    received = Counter(m["To"] for m in sink.messages())
    assert received == {f"{c}@example.com": 1 for c in contacts}
    finals = {cid: outcomes[-1] for cid, outcomes in results.items()}
    assert Counter(finals.values()) == {"delivered": len(contacts), "expired": 2}
    # One final outcome per command: every earlier record was a retried temporary failure.
    assert all(set(o[:-1]) <= {"temporary_failure"} for o in results.values())
    assert after[outcome("delivered")] == len(contacts)
    assert outcome("temporary_failure") not in after  # attempts, not outcomes
    assert during[ATTEMPTS] > 5  # more than the old budget of five attempts
    assert "Traceback" not in stack.log("sender")
    print(
        f"\noutage {outage:.0f} s: {len(contacts) + 2} commands, "
        f"{len(received)} delivered once, {len(contacts) - len(received)} lost, "
        f"{sum(received.values()) - len(received)} duplicated, "
        f"{Counter(finals.values())['expired']} expired, "
        f"{int(after[ATTEMPTS])} attempts failed temporarily"
    )


def test_a_sender_holding_a_command_through_an_outage_lets_another_join_and_stops_on_sigterm(
    broker: Broker, tmp_path: Path
) -> None:
    contacts = [f"h{n:02d}" for n in range(12)]
    with MailSink(tmp_path / "outbox", port=free_port()) as sink:
        stack = Stack(broker, tmp_path, sink)
        env = sender_env(stack)
        first = int(stack.env["RELANCE_SENDER_WEB_PORT"])
        second = free_port()
        try:
            stack.start("worker", **env)
            stack.start("sender", **env)
            wait_for(lambda: get(first, "/readyz")[0] == 200, timeout=90)
            sink.stop()
            produce(stack, browsing(contacts, now_ms()))
            wait_for(lambda: stack.metrics("sender").get(ATTEMPTS, 0) >= 3, timeout=60)

            # The group can rebalance only if the holding sender keeps polling: it would
            # otherwise wait out max.poll.interval.ms (5 minutes) for it.
            stack.start("sender", name="sender-b", **env, RELANCE_SENDER_WEB_PORT=str(second))
            joined = time.monotonic()
            wait_for(
                lambda: (
                    get(second, "/readyz")[0] in (200, 503)
                    and (stack.metrics("sender").get("relance_partitions_assigned") == 2.0)
                ),
                timeout=40,
            )
            took_to_join = time.monotonic() - joined
            assert "was revoked" in stack.log("sender")
            failed = stack.metrics("sender")[ATTEMPTS]
            wait_for(lambda: stack.metrics("sender")[ATTEMPTS] >= failed + 2, timeout=30)

            holding = stack.processes.pop("sender")
            stopped = time.monotonic()
            holding.terminate()
            assert holding.wait(timeout=30) == 0
            took_to_stop = time.monotonic() - stopped
            assert sink.messages() == []
            sink.start()
            wait_for(lambda: len(sink.messages()) >= len(contacts), timeout=90)
            time.sleep(5)
        finally:
            stack.stop_all()
    assert Counter(m["To"] for m in sink.messages()) == {f"{c}@example.com": 1 for c in contacts}
    assert took_to_join < 40 and took_to_stop < 10
    assert "the sender stops" in stack.log("sender")
    assert "Traceback" not in stack.log("sender") + stack.log("sender-b")
    print(
        f"\nsecond sender assigned after {took_to_join:.1f} s, the holding one stopped "
        f"{took_to_stop:.1f} s after SIGTERM"
    )


def _create(broker: Broker, name: str, config: dict[str, str]) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for future in admin.create_topics([NewTopic(name, 4, 1, config=config)]).values():
        future.result(timeout=30)


def test_the_ledger_forgets_old_ids_with_tombstones_and_keeps_what_the_topic_may_redeliver(
    stack: Stack, broker: Broker
) -> None:
    deliveries = stack.topic("kept-30d")
    _create(broker, deliveries, {"retention.ms": str(30 * 24 * 3600 * 1000)})
    changelog = stack.topic("sender-delivery-ledger-changelog")  # the app id is the prefix
    broker.create_topics([TopicSpec(changelog, 4, compacted=True)])
    day = 24 * 3600 * 1000
    now = now_ms()
    ids = {
        b"ancient": to_iso(now - 400 * day),
        b"twenty-days": to_iso(now - 20 * day),
        b"yesterday": to_iso(now - day),
    }
    producer = stack.producer()
    for key, settled in ids.items():
        producer.produce(changelog, key=key, value=f"delivered@{settled}".encode(), partition=1)
    assert producer.flush(10) == 0

    stack.start("sender", RELANCE_TOPIC_DELIVERIES=deliveries)
    consumer = stack.consumer("sender-delivery-ledger-changelog")
    records: list[tuple[bytes, Any]] = []
    try:

        def tombstone() -> bool:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                records.append((message.key(), message.value()))
            return (b"ancient", None) in records

        wait_for(tombstone, timeout=90, every=0)
        time.sleep(2)
        tombstone()
    finally:
        consumer.close()
    assert [key for key, value in records if value is None] == [b"ancient"]
    # The topic keeps commands 30 days: an id settled 20 days ago may still be redelivered.
    assert "remembers ids 31.0 d instead of RELANCE_LEDGER_RETENTION's 8.0 d" in stack.log("sender")
    assert "1 ids settled before" in stack.log("sender")
    assert "Traceback" not in stack.log("sender")
