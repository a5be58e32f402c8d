"""The live pipeline end to end: Avro events in, emails out, on the embedded broker."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from relance.codec import avro
from relance.codec import json as json_codec
from relance.codec.outputs import AvroOutputCodec
from relance.core.commands import Recipient, SendCommand
from relance.core.events import (
    CartChange,
    ContactProfile,
    Event,
    Order,
    OrderItem,
    PageView,
    Product,
)
from relance.demo.ports import free_port
from relance.demo.run import metrics as scrape_metrics
from relance.demo.samples import otto

from .conftest import Stack, read_all, read_rest, wait_for

pytestmark = pytest.mark.integration

TOPIC_OF = {
    "page_view": "page-views",
    "cart": "carts",
    "order": "orders",
    "contact": "contacts",
    "engagement": "engagement",
}
OTTO_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "otto-sessions-sample.jsonl.gz"
SHOE = Product(
    "sku-1",
    "Trail shoe",
    89.9,
    "EUR",
    "shoes",
    "https://shop.example/p/sku-1",
    "https://shop.example/img/sku-1.jpg",
    True,
)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def produce(stack: Stack, events: list[Event]) -> None:
    producer = stack.producer()
    for event in events:
        producer.produce(
            stack.topic(TOPIC_OF[event.type]),
            key=event.contact_id.encode(),
            value=avro.encode(event),
        )
    assert producer.flush(10) == 0


def profile(contact: str, at: int) -> ContactProfile:
    return ContactProfile(
        f"{contact}-p", contact, at, email=f"{contact}@example.com", marketing_opt_in=True
    )


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
    produce(
        stack,
        [
            profile("bob", t),
            profile("cy", t),
            CartChange("bob-1", "bob", t + 10, "add", SHOE, 1),
            Order("bob-2", "bob", t + 1000, "o-1", "placed", (OrderItem(SHOE, 1),), 89.9, "EUR"),
            PageView("cy-1", "cy", t + 10, "product", SHOE),
        ],
    )
    messages = wait_for(lambda: stack.sink.messages(), timeout=90)
    time.sleep(6)
    assert [m["To"] for m in stack.sink.messages()] == ["cy@example.com"]
    body = messages[0].get_body(("plain",))
    assert body is not None and "Trail shoe" in body.get_content()


def test_poison_messages_go_to_the_dlq_with_their_reason_and_the_next_event_still_counts(
    stack: Stack,
) -> None:
    stack.start("worker")
    stack.start("sender")
    t = now_ms()
    producer = stack.producer()
    carts = stack.topic("carts")
    foreign = b"\x02\x0e\x80\x80\x80\x80\x80\x80"  # an Avro long and string of another schema
    poison = [
        b"\xff\xfe\x00garbage",
        foreign,
        b'{"type": "cart", "event_id": "x", "occurred_at": 1, "action": "add"}',
    ]
    for value in poison:
        producer.produce(carts, key=b"dan", value=value)
    producer.flush(10)
    produce(stack, [profile("dan", t), CartChange("dan-1", "dan", t + 10, "add", SHOE, 1)])

    dlq = stack.consumer("relance-dlq")
    try:
        rejected = read_all(dlq, 3)
    finally:
        dlq.close()
    assert sorted(m.value() for m in rejected) == sorted(poison)
    headers = [dict(m.headers()) for m in rejected]
    assert all(h["relance.source.topic"] == carts.encode() for h in headers)
    reasons = {m.value(): dict(m.headers())["relance.reason"] for m in rejected}
    assert reasons[poison[0]] == b"not_avro"
    assert reasons[poison[1]] == b"not_avro"
    assert reasons[poison[2]] == b"missing_field"
    assert (
        b"contact_id"
        in dict(rejected[[m.value() for m in rejected].index(poison[2])].headers())[
            "relance.detail"
        ]
    )
    assert {h["relance.source.offset"] for h in headers} == {b"0", b"1", b"2"}
    wait_for(lambda: stack.sink.messages(), timeout=60)
    assert [m["To"] for m in stack.sink.messages()] == ["dan@example.com"]
    metrics = stack.metrics("worker")
    rejected_total = sum(
        v for k, v in metrics.items() if k.startswith("relance_events_rejected_total{")
    )
    assert rejected_total == 3


def test_a_json_command_missing_its_decision_time_is_dead_lettered_and_the_sender_goes_on(
    stack: Stack,
) -> None:
    stack.start("sender", RELANCE_OUTPUT_FORMAT="json")
    good = SendCommand(
        "cmd-good",
        "gus",
        "cart_abandonment",
        1,
        "email",
        "cart_abandonment",
        100,
        now_ms(),
        Recipient("gus@example.com", None, None),
        {"cart_id": None, "items": [{"product": {"id": "sku-1"}, "quantity": 1}]},
    ).to_record()
    bad = orjson.dumps(
        {
            key: value
            for key, value in {**good, "command_id": "cmd-bad"}.items()
            if key != "decided_at"
        }
    )
    producer = stack.producer()
    deliveries = stack.topic("relance-deliveries")
    producer.produce(deliveries, key=b"gus", value=bad)
    producer.produce(deliveries, key=b"gus", value=orjson.dumps(good))
    assert producer.flush(10) == 0
    dlq = stack.consumer("relance-dlq")
    try:
        (letter,) = read_all(dlq, 1, timeout=90)
    finally:
        dlq.close()
    assert letter.value() == bad
    headers = dict(letter.headers())
    assert headers["relance.reason"] == b"missing_field"
    assert headers["relance.detail"] == b"decided_at is required"
    assert headers["relance.source.topic"] == deliveries.encode()
    wait_for(lambda: stack.sink.messages(), timeout=60)
    assert [m["To"] for m in stack.sink.messages()] == ["gus@example.com"]
    rejected = f'relance_events_rejected_total{{reason="missing_field",topic="{deliveries}"}}'
    assert stack.metrics("sender")[rejected] == 1.0


@pytest.mark.parametrize("state_dir", [False, True], ids=["restore", "read-ahead"])
def test_worker_killed_between_cart_add_and_deadline_sends_exactly_one_email(
    stack: Stack, state_dir: bool
) -> None:
    """The restarted worker restores the cart from the changelog and fires its deadline;
    with a state folder, it reads the partitions it held while it joins its group."""
    longer = stack.root / "longer.yaml"
    longer.write_text("scenarios:\n  cart_abandonment: {delay: 20s}\n")
    worker = {"RELANCE_SCENARIOS": str(longer)}
    if state_dir:
        worker["RELANCE_STATE_DIR"] = str(stack.root / "state")
    stack.start("worker", **worker)
    stack.start("sender")
    t = now_ms()
    produce(stack, [profile("eve", t), CartChange("eve-1", "eve", t + 10, "add", SHOE, 1)])
    consumed = f'relance_events_consumed_total{{topic="{stack.topic("carts")}"}}'
    wait_for(lambda: stack.metrics("worker").get(consumed, 0) >= 1, timeout=60)
    time.sleep(1.5)  # let the commit land; a replay would be harmless anyway
    stack.kill("worker")
    assert stack.sink.messages() == []
    stack.start("worker", **worker)
    wait_for(lambda: stack.sink.messages(), timeout=120)
    time.sleep(5)
    assert [m["To"] for m in stack.sink.messages()] == ["eve@example.com"]
    log = stack.log("worker")
    assert "ready: partitions [0, 1, 2, 3], 1 deadlines pending" in log
    ahead = "partitions [0, 1, 2, 3] read ahead (held before the restart), 1 contacts"
    assert (ahead in log) is state_dir
    assert ("(1 contacts of [0, 1, 2, 3] read ahead)" in log) is state_dir
    assert ("read ahead" in log) is state_dir


def test_sender_killed_after_smtp_acceptance_does_not_send_twice(stack: Stack) -> None:
    stack.start("worker")
    slow_commits = {"RELANCE_COMMIT_INTERVAL": "600"}
    stack.start("sender", **slow_commits)
    t = now_ms()
    produce(stack, [profile("fay", t), CartChange("fay-1", "fay", t + 10, "add", SHOE, 1)])
    results = stack.consumer("relance-delivery-results")
    codec = AvroOutputCodec()
    try:
        (delivered,) = read_all(results, 1, timeout=90)
        assert codec.decode_result(delivered.value())["outcome"] == "delivered"
        stack.kill("sender")  # accepted by SMTP, ledger written, offset not yet committed
        assert len(stack.sink.messages()) == 1
        stack.start("sender", **slow_commits)
        (again,) = read_all(results, 1, timeout=120)
    finally:
        results.close()
    assert codec.decode_result(again.value())["outcome"] == "duplicate"
    assert len(stack.sink.messages()) == 1


def test_metrics_over_http_show_the_counters_moving(stack: Stack) -> None:
    stack.start("worker")
    stack.start("sender")
    wait_for(lambda: stack.metrics("worker") and stack.metrics("sender"), timeout=60)
    before = stack.metrics("worker")
    assert "relance_deadlines_pending" in before
    t = now_ms()
    produce(stack, [profile("gus", t), CartChange("gus-1", "gus", t + 10, "add", SHOE, 1)])
    wait_for(lambda: stack.sink.messages(), timeout=60)
    delivered = 'relance_deliveries_total{channel="email",outcome="delivered"}'
    wait_for(lambda: stack.metrics("sender").get(delivered) == 1.0, timeout=30)
    after = stack.metrics("worker")
    carts = f'relance_events_consumed_total{{topic="{stack.topic("carts")}"}}'
    assert before.get(carts, 0.0) == 0.0 and after[carts] == 1.0
    assert after['relance_commands_decided_total{scenario="cart_abandonment"}'] == 1.0
    assert after['relance_deadline_to_command_seconds_count{scenario="cart_abandonment"}'] == 1.0
    sender = stack.metrics("sender")
    assert sender['relance_command_to_delivery_seconds_count{channel="email"}'] == 1.0
    assert not any("gus" in name for name in {**after, **sender})


def test_live_and_simulated_runs_decide_the_same_commands_on_the_otto_sample(
    stack: Stack, tmp_path: Path
) -> None:
    events = otto.load(OTTO_SAMPLE)
    events_file = tmp_path / "otto.jsonl"
    events_file.write_bytes(b"".join(json_codec.encode(e) + b"\n" for e in events))
    simulated = subprocess.run(
        [
            sys.executable,
            "-m",
            "relance",
            "simulate",
            "--events",
            str(events_file),
            "--config",
            stack.env["RELANCE_SCENARIOS"],
            "--until",
            "2030-01-01T00:00:00Z",
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    expected = {orjson.loads(line)["command_id"] for line in simulated.stdout.splitlines()}
    assert len(expected) > 20

    stack.start("worker")
    produce(stack, events)
    deliveries = stack.consumer("relance-deliveries")
    codec = AvroOutputCodec()
    try:
        live = read_all(deliveries, len(expected), timeout=60)
        time.sleep(5)
        live += read_rest(deliveries)
    finally:
        deliveries.close()
    decided = [codec.decode_command(m.value())["command_id"] for m in live]
    assert set(decided) == expected
    assert len(decided) == len(expected)


def test_deadlines_survive_a_rebalance_between_two_workers(stack: Stack) -> None:
    longer = stack.root / "longer.yaml"
    longer.write_text("scenarios:\n  cart_abandonment: {delay: 25s}\n")
    workers = {
        name: {"RELANCE_SCENARIOS": str(longer), "RELANCE_WEB_PORT": str(free_port())}
        for name in ("w1", "w2")
    }
    for name, env in workers.items():
        stack.start("worker", name=name, **env)
    stack.start("sender")
    contacts = [f"shopper-{n}" for n in range(12)]  # spread over the four partitions
    t = now_ms()
    produce(
        stack,
        [
            e
            for c in contacts
            for e in (profile(c, t), CartChange(f"{c}-1", c, t + 10, "add", SHOE, 1))
        ],
    )

    def consumed(name: str) -> float:
        port = int(workers[name]["RELANCE_WEB_PORT"])
        return sum(
            v
            for k, v in scrape_metrics(port).items()
            if k.startswith("relance_events_consumed_total{")
        )

    wait_for(lambda: consumed("w1") + consumed("w2") >= 2 * len(contacts), timeout=60)
    assert consumed("w1") > 0 and consumed("w2") > 0, "both workers hold partitions"
    time.sleep(1.5)
    stack.kill("w2")
    assert stack.sink.messages() == []
    wait_for(lambda: len(stack.sink.messages()) >= len(contacts), timeout=120)
    time.sleep(5)
    assert sorted(m["To"] for m in stack.sink.messages()) == sorted(
        f"{c}@example.com" for c in contacts
    )
