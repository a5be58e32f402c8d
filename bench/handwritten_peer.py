"""The ceiling: the peers' per-contact state machine as a hand-written confluent-kafka loop.

    python bench/handwritten_peer.py --bootstrap 127.0.0.1:PORT --group G \\
        --changelog TOPIC --topics page-views,carts,orders,contacts --expect COUNT

What a careful engineer would write without a framework: one consumer over the four inputs,
batches of up to 5,000 messages (relance's ``RELANCE_BATCH_SIZE``), the states in a dict,
``peer_state.apply`` per message, then one changelog record per contact the batch touched
(to the changelog partition of the contact's input partition), a wait until the broker has
acknowledged them all, and only then the offsets committed, at most once a second
(relance's ``RELANCE_COMMIT_INTERVAL``). No event-time merge of the inputs: messages are
applied in the order they arrive, which is what makes it a ceiling rather than a peer that
decides the same.

When ``--expect`` messages have been applied it commits and prints one JSON line,
``{"events": n, "seconds": s, "events_per_s": r}``, timed from the first batch received to
the last applied. The changelog topic must exist, with as many
partitions as the inputs.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer

from peer_state import State, apply

BATCH = 5000
WAIT = 0.05
COMMIT_INTERVAL = 1.0


def consumer(args: argparse.Namespace) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": int(args.session_timeout * 1000),
        }
    )


def producer(args: argparse.Namespace, failures: list[KafkaError]) -> Producer:
    def on_delivery(error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            failures.append(error)

    return Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "linger.ms": 5,
            "batch.num.messages": 10000,
            "queue.buffering.max.messages": 1_000_000,
            "on_delivery": on_delivery,
            "delivery.report.only.error": True,
        }
    )


def write_changelog(
    out: Producer,
    topic: str,
    states: dict[bytes, State],
    touched: dict[bytes, int],
    failures: list[KafkaError],
) -> None:
    """One record per touched contact, then wait until the broker has them all."""
    for key, partition in touched.items():
        value = orjson.dumps(states[key])
        while True:
            try:
                out.produce(topic, value, key, partition)
                break
            except BufferError:
                out.poll(0.05)
    left = out.flush(60)
    if left or failures:
        raise RuntimeError(f"changelog not acknowledged: {left} left, failures {failures[:1]}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    failures: list[KafkaError] = []
    source, out = consumer(args), producer(args, failures)
    source.subscribe(args.topics)
    states: dict[bytes, State] = {}
    applied, first, last, committed = 0, 0.0, 0.0, time.monotonic()
    loads = orjson.loads
    try:
        while applied < args.expect:
            touched: dict[bytes, int] = {}
            batch = source.consume(BATCH, WAIT)
            if batch and not first:
                first = time.perf_counter()
            for message in batch:
                error = message.error()
                if error is not None:
                    raise KafkaException(error)
                key = message.key()
                assert key is not None  # every input is keyed by contact id
                states[key] = apply(states.get(key), loads(message.value()))
                touched[key] = message.partition()
                applied += 1
            if not touched:
                continue
            last = time.perf_counter()
            write_changelog(out, args.changelog, states, touched, failures)
            if applied >= args.expect or time.monotonic() - committed >= COMMIT_INTERVAL:
                source.commit(asynchronous=False)
                committed = time.monotonic()
    finally:
        source.close()
    seconds = last - first
    return {
        "events": applied,
        "seconds": round(seconds, 3),
        "events_per_s": round(applied / seconds, 1) if seconds else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True, help="host:port")
    parser.add_argument("--group", required=True)
    parser.add_argument("--changelog", required=True)
    parser.add_argument("--topics", required=True, type=lambda s: s.split(","))
    parser.add_argument("--expect", required=True, type=int)
    parser.add_argument("--session-timeout", type=float, default=6.0)
    line = json.dumps(run(parser.parse_args()))
    os.write(1, f"{line}\n".encode())


if __name__ == "__main__":
    main()
