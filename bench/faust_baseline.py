"""The comparison point: the same per-contact decisions written as a plain faust agent.

    python bench/faust_baseline.py --broker kafka://127.0.0.1:PORT --app-id ID \\
        --data-dir DIR --partitions N --store memory:// \\
        --topics page-views,carts,orders,contacts --expect COUNT

One agent reads the four input topics as raw bytes and, per message, does what a faust user
would write: decode the JSON, read the contact's state from a table, apply the relance core
(``Engine.apply``) and assign the new state back, so faust writes one changelog record per
event. When ``--expect`` messages have been applied it prints one JSON line to stdout,
``{"events": n, "seconds": s, "events_per_s": r}``, timed from the first to the last applied
message (start-up, rebalancing and recovery are left out), and exits. Short of ``--expect``
messages it waits for ever: run it under a timeout.

The topics must exist before it starts (the embedded broker does not create them on use):
the four ``--topics``, in the order page_view, cart, order, contact, with ``--partitions``
partitions each, and the table's changelog ``{app_id}-contact-state-changelog`` with
``--partitions`` partitions.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import faust
import msgspec

from relance.codec.json import decode
from relance.core.engine import Engine
from relance.core.events import EventType
from relance.core.scenarios import DEFAULT_CONFIG
from relance.core.state import ContactState

EVENT_TYPES: tuple[EventType, ...] = ("page_view", "cart", "order", "contact")
TABLE = "contact-state"

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(ContactState).decode


class TableStates:
    """The core's ``States`` over a raw faust table: msgpack bytes in, contact states out.

    ``__setitem__`` assigns a new value each time, which is what makes faust send the
    changelog record (an in-place change to a stored value would not be seen).
    """

    def __init__(self, table: MutableMapping[bytes, Any]) -> None:
        self.table = table

    def get(self, key: str) -> ContactState | None:
        raw = self.table.get(key.encode())
        return None if raw is None else _decode(raw)

    def __getitem__(self, key: str) -> ContactState:
        state = self.get(key)
        if state is None:
            raise KeyError(key)
        return state

    def __setitem__(self, key: str, state: ContactState) -> None:
        self.table[key.encode()] = _encode(state)


def build_app(args: argparse.Namespace) -> faust.App:
    """The app, its table and its one agent; the agent exits the process when done."""
    Path(args.data_dir).mkdir(parents=True, exist_ok=True)
    app = faust.App(
        args.app_id,
        broker=args.broker,
        store=args.store,
        datadir=args.data_dir,
        processing_guarantee="at_least_once",
        broker_session_timeout=6,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        autodiscover=False,
        topic_partitions=args.partitions,
        topic_replication_factor=1,
    )
    names: list[str] = args.topics
    types = dict(zip(names, EVENT_TYPES, strict=True))
    topic = app.topic(
        *names, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    table = app.Table(
        TABLE, default=None, key_type=bytes, value_type=bytes, partitions=args.partitions
    )
    engine = Engine(DEFAULT_CONFIG, states=TableStates(table))
    expect: int = args.expect

    @app.agent(topic)
    async def apply(stream: Any) -> None:
        count, first = 0, 0.0
        async for event in stream.events():
            engine.apply(
                decode(event.value, types[event.message.topic], rules=DEFAULT_CONFIG.inputs)
            )
            count += 1
            if count == 1:
                first = time.perf_counter()
            if count >= expect:
                report(count, time.perf_counter() - first)

    return app


def report(events: int, seconds: float) -> None:
    """Print the result and leave at once: a clean faust shutdown takes seconds and adds
    nothing to the measure (the consumer would commit, the changelog producer flush)."""
    rate = events / seconds if seconds > 0 else 0.0
    line = json.dumps(
        {"events": events, "seconds": round(seconds, 3), "events_per_s": round(rate, 1)}
    )
    os.write(1, f"{line}\n".encode())  # fd 1 itself: faust may have replaced sys.stdout
    sys.stderr.flush()
    os._exit(0)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", required=True, help="kafka://host:port")
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--store", default="memory://")
    parser.add_argument(
        "--topics",
        type=lambda s: s.split(","),
        default=["page-views", "carts", "orders", "contacts"],
        help="page_view,cart,order,contact topic names, in that order",
    )
    parser.add_argument(
        "--expect", type=int, required=True, help="stop after applying this many messages"
    )
    args = parser.parse_args()
    if len(args.topics) != len(EVENT_TYPES):
        parser.error(f"--topics needs {len(EVENT_TYPES)} names: page_view,cart,order,contact")
    if args.expect < 1:
        parser.error("--expect must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    app = build_app(args)
    sys.argv = [sys.argv[0], "worker"]  # faust's worker reads the command line too
    # stdout carries the result line only: faust's own console output (banner, spinner) goes
    # to stderr, and print() is not turned into log records.
    faust.Worker(
        app, loglevel="warning", quiet=True, stdout=sys.stderr, redirect_stdouts=False
    ).execute_from_commandline()


if __name__ == "__main__":
    main()
