"""A peer of the relance worker: the same per-contact state machine on Quix Streams.

    .venv-quix/bin/python bench/quix_peer.py --bootstrap 127.0.0.1:PORT --group G \\
        --state-dir DIR --topics page-views,carts,orders,contacts --expect COUNT

Written as a Quix Streams user would: one ``StreamingDataFrame`` per input topic (JSON
values, the contact id as the key), concatenated into one so that the four inputs share one
state store and are aligned by event time (``occurred_at``, as relance orders them), and a
stateful ``update`` that reads the contact's state, applies the event (``peer_state.apply``)
and sets it back. State is Quix's default: RocksDB in ``--state-dir`` with a changelog topic,
at-least-once, offsets committed every second (relance's ``RELANCE_COMMIT_INTERVAL``).

When ``--expect`` messages have been applied it stops (Quix commits its last checkpoint:
the state flushed, the changelog produced, the offsets committed) and prints one JSON line,
``{"events": n, "seconds": s, "events_per_s": r}``, timed from the first to the last applied
message, as the relance worker is. Quix names the changelog topic
``changelog__{group}--{input topics}--default``.

It runs in its own environment (``make .venv-quix/.installed``): Quix Streams pins a
confluent-kafka older than the one relance needs, so it imports nothing of relance.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from typing import Any

from quixstreams import Application, State

from peer_state import apply

KEY = "contact"


def occurred_at(value: Any, _headers: Any, _timestamp: int, _kind: Any) -> int:
    return int(value["occurred_at"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True, help="host:port")
    parser.add_argument("--group", required=True, help="consumer group, and changelog name")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--topics", required=True, type=lambda s: s.split(","))
    parser.add_argument("--expect", required=True, type=int)
    parser.add_argument("--session-timeout", type=float, default=6.0)
    args = parser.parse_args()

    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        commit_interval=1.0,
        state_dir=args.state_dir,
        processing_guarantee="at-least-once",
        loglevel=logging.WARNING,
        consumer_extra_config={"session.timeout.ms": int(args.session_timeout * 1000)},
    )
    frames = [
        app.dataframe(
            app.topic(
                name,
                value_deserializer="json",
                key_deserializer="bytes",
                timestamp_extractor=occurred_at,
            )
        )
        for name in args.topics
    ]
    sdf = frames[0]
    for other in frames[1:]:
        sdf = sdf.concat(other)
    clock = [0.0, 0.0]  # the first and the latest applied message

    def step(value: dict[str, Any], state: State) -> None:
        state.set(KEY, apply(state.get(KEY), value))
        clock[1] = time.perf_counter()
        if not clock[0]:
            clock[0] = clock[1]

    sdf.update(step, stateful=True)
    app.run(count=args.expect, collect=False)
    seconds = clock[1] - clock[0]
    line = json.dumps(
        {
            "events": args.expect,
            "seconds": round(seconds, 3),
            "events_per_s": round(args.expect / seconds, 1) if seconds else 0.0,
        }
    )
    os.write(1, f"{line}\n".encode())


if __name__ == "__main__":
    main()
