"""``relance simulate --from-kafka`` and ``relance report --from-kafka`` on the embedded
broker: records stamped in and out of a time range, read from every partition of the real
topics, give what the same records give from a file; no group's offsets move."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition

from relance.codec import avro
from relance.codec.json import encode
from relance.codec.outputs import AvroOutputCodec
from relance.core.events import (
    CartChange,
    ContactProfile,
    Engagement,
    Event,
    Order,
    OrderItem,
    Product,
)
from relance.core.timestamps import HOUR_MS, MINUTE_MS, parse_iso, to_iso

from ..unit.synthetic_decisions import ARMS, records
from .conftest import PARTITIONS, Stack

pytestmark = pytest.mark.integration

TOPIC_OF = {"cart": "carts", "order": "orders", "contact": "contacts"}
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
SINCE = parse_iso("2024-05-01T00:00:00Z")
UNTIL = SINCE + 24 * HOUR_MS


def shopper(n: int, at: int, *, buys: bool = False) -> list[Event]:
    contact = f"s{n}"
    found: list[Event] = [
        ContactProfile(
            f"{contact}-p", contact, at, email=f"{contact}@example.com", marketing_opt_in=True
        ),
        CartChange(f"{contact}-c", contact, at + MINUTE_MS, "add", SHOE, 1),
    ]
    if buys:  # before the hour's delay: no cart message
        found.append(
            Order(
                f"{contact}-o",
                contact,
                at + 30 * MINUTE_MS,
                f"order-{n}",
                "placed",
                (OrderItem(SHOE, 1),),
                89.9,
                "EUR",
            )
        )
    return found


def timeline() -> tuple[list[Event], list[Event]]:
    """All the events, and those stamped within [SINCE, UNTIL)."""
    inside = [e for n in range(12) for e in shopper(n, SINCE + n * 37 * MINUTE_MS, buys=n % 4 == 0)]
    before = [e for n in range(12, 15) for e in shopper(n, SINCE - 3 * HOUR_MS)]
    after = [e for n in range(15, 18) for e in shopper(n, UNTIL + HOUR_MS)]
    return before + inside + after, inside


def produce(stack: Stack, events: list[Event]) -> None:
    producer = stack.producer()
    for event in events:  # stamped with the event's time, as a shop's producer would
        producer.produce(
            stack.topic(TOPIC_OF[event.type]),
            key=event.contact_id.encode(),
            value=avro.encode(event),
            timestamp=event.occurred_at,
        )
    assert producer.flush(10) == 0


def relance(stack: Stack, *args: str) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(
        [sys.executable, "-m", "relance", *args],
        capture_output=True,
        env={**os.environ, **stack.env},
        cwd=stack.root,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    return result


def commands(output: bytes) -> list[dict[str, Any]]:
    return sorted(
        (orjson.loads(line) for line in output.splitlines()), key=lambda c: c["command_id"]
    )


def nothing_committed(stack: Stack, purpose: str, topics: list[str]) -> bool:
    reader = Consumer(
        {
            "bootstrap.servers": stack.broker.bootstrap,
            "group.id": f"{stack.prefix}-{purpose}",
            "enable.auto.commit": False,
        }
    )
    try:
        committed = reader.committed(
            [TopicPartition(stack.topic(t), p) for t in topics for p in range(PARTITIONS)],
            timeout=30,
        )
    finally:
        reader.close()
    return all(tp.offset < 0 for tp in committed)


def test_simulate_from_kafka_decides_what_the_same_events_from_a_file_do(stack: Stack) -> None:
    everything, inside = timeline()
    produce(stack, everything)
    producer = stack.producer()  # a record that does not decode, within the range
    producer.produce(stack.topic("carts"), key=b"s1", value=b"\x00garbage", timestamp=SINCE)
    assert producer.flush(10) == 0
    (stack.root / "s.yaml").write_text("scenarios:\n  cart_abandonment: {delay: 1h}\n")
    from_kafka = relance(
        stack,
        "simulate",
        "--from-kafka",
        "--since",
        to_iso(SINCE),
        "--until",
        to_iso(UNTIL),
        "--config",
        str(stack.root / "s.yaml"),
    )
    events = stack.root / "inside.jsonl"
    events.write_bytes(
        b"".join(encode(e) + b"\n" for e in sorted(inside, key=lambda e: e.occurred_at))
    )
    from_file = relance(
        stack,
        "simulate",
        "--events",
        str(events),
        "--until",
        to_iso(UNTIL),
        "--config",
        str(stack.root / "s.yaml"),
    )
    got = commands(from_kafka.stdout)
    assert got == commands(from_file.stdout)
    # 12 carts in the range, 3 of them bought before the hour: 9 messages, none outside
    assert sorted(c["contact_id"] for c in got) == sorted(f"s{n}" for n in range(12) if n % 4 != 0)
    err = from_kafka.stderr.decode()
    assert f"{len(inside)} events read from Kafka, 1 records left out" in err
    assert re.search(rf"{stack.topic('carts')}\[\d\]@\d+: ", err), err
    assert "invalid lines: 1" in err
    assert nothing_committed(stack, "simulate", list(TOPIC_OF.values()))


def test_a_backtest_from_kafka_is_the_backtest_of_the_same_file(stack: Stack) -> None:
    everything, inside = timeline()
    produce(stack, everything)
    old, new = stack.root / "old.yaml", stack.root / "new.yaml"
    old.write_text("scenarios:\n  cart_abandonment: {delay: 1h}\n")
    new.write_text("scenarios:\n  cart_abandonment: {delay: 45m}\n")  # still after the orders
    events = stack.root / "inside.jsonl"
    events.write_bytes(
        b"".join(encode(e) + b"\n" for e in sorted(inside, key=lambda e: e.occurred_at))
    )
    backtest = ("--config", str(old), "--compare", str(new), "--format", "json")
    from_kafka = orjson.loads(
        relance(
            stack,
            "simulate",
            "--from-kafka",
            "--since",
            to_iso(SINCE),
            "--until",
            to_iso(UNTIL),
            *backtest,
        ).stdout
    )
    from_file = orjson.loads(
        relance(
            stack, "simulate", "--events", str(events), "--until", to_iso(UNTIL), *backtest
        ).stdout
    )
    assert from_kafka == from_file
    assert from_kafka["commands"]["cart_abandonment"] == {
        "old": 9,
        "new": 9,
        "added": 0,
        "removed": 0,
        "changed": 9,
    }


def followed(found: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Engagement]]:
    """A delivery result for each sent decision of ``found``, a click for one in two."""
    sent = [r for r in found if r["outcome"] == "sent"]
    results = [
        {
            "command_id": r["command_id"],
            "contact_id": r["contact_id"],
            "scenario": r["scenario"],
            "channel": "email",
            "attempt": 1,
            "outcome": "delivered",
            "detail": None,
            "at": to_iso(SINCE + n),
            "language": "en",
        }
        for n, r in enumerate(sent)
    ]
    clicks = [
        Engagement(
            f"click-{n}", r["contact_id"], SINCE + HOUR_MS + n, "click", command_id=r["command_id"]
        )
        for n, r in enumerate(sent[::2])
    ]
    return results, clicks


def test_report_from_kafka_counts_the_decisions_of_the_range(stack: Stack) -> None:
    found = records((ARMS[0], ARMS[2]))  # cart step 1 variant a and its holdout: 1700 trials
    decisions = [(record, parse_iso(record["decided_at"])) for record in found]
    # 25 decisions more, stamped before the range: not trials, their orders unmatched
    early = [
        {**r, "command_id": f"early-{n}"}
        for n, r in enumerate(found[:50])
        if r["outcome"] == "sent"
    ][:25]
    producer = stack.producer()
    topic = stack.topic("relance-decisions")
    for record, at in decisions:
        # an order is stamped when it was attributed: within the range or after it
        stamp = (
            SINCE + (at - parse_iso(found[0]["decided_at"])) % (UNTIL - SINCE)
            if record["outcome"] != "attributed"
            else UNTIL + HOUR_MS
        )
        producer.produce(
            topic, key=record["contact_id"].encode(), value=orjson.dumps(record), timestamp=stamp
        )
    for record in early:
        producer.produce(
            topic,
            key=record["contact_id"].encode(),
            value=orjson.dumps(record),
            timestamp=SINCE - HOUR_MS,
        )
    results, clicks = followed(found[:900:3])
    for result in results:  # in the output format (Avro), stamped after the range
        producer.produce(
            stack.topic("relance-delivery-results"),
            value=AvroOutputCodec().encode_result(result),
            timestamp=UNTIL + HOUR_MS,
        )
    for click in clicks:
        producer.produce(
            stack.topic("engagement"),
            key=click.contact_id.encode(),
            value=avro.encode(click),
            timestamp=click.occurred_at,
        )
    assert producer.flush(30) == 0
    file = stack.root / "decisions.jsonl"
    file.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in found))
    results_file, clicks_file = stack.root / "results.jsonl", stack.root / "clicks.jsonl"
    results_file.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in results))
    clicks_file.write_bytes(b"".join(encode(c) + b"\n" for c in clicks))
    from_kafka = orjson.loads(
        relance(
            stack,
            "report",
            "--from-kafka",
            "--since",
            to_iso(SINCE),
            "--until",
            to_iso(UNTIL),
            "--format",
            "json",
        ).stdout
    )
    from_file = orjson.loads(
        relance(
            stack,
            "report",
            "--decisions",
            str(file),
            "--format",
            "json",
            "--results",
            str(results_file),
            "--engagement",
            str(clicks_file),
        ).stdout
    )
    assert from_kafka == from_file
    (step,) = from_kafka["scenarios"][0]["steps"]
    assert (step["variants"][0]["sent"], step["holdout"]["held_out"]) == (1200, 500)
    delivered = sum(1 for r in found[:900:3] if r["outcome"] == "sent")
    assert (step["variants"][0]["delivered"], step["variants"][0]["clicked"]) == (
        delivered,
        len(clicks),
    )
    assert nothing_committed(
        stack, "report", ["relance-decisions", "relance-delivery-results", "engagement"]
    )
