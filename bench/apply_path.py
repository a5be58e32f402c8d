"""The worker's per-event apply path alone: decoded events taken in event-time order by one
partition's engine, their states staged with the offsets they applied, then committed.

    python bench/apply_path.py [--contacts 5000] [--repeat 7] [--stub-engine]

No Kafka and no decoding: generated traffic is decoded once, then each run gives a fresh
``Pipeline`` every event as the merge would (``Pipeline._apply``) and commits the states once
at the end, as a round does. Prints the best and the median per-event time of ``--repeat``
runs; compare two versions of the code on the same machine within minutes of each other.
``--stub-engine`` replaces the core by an engine that only reads the contact's state and
writes a new one, which leaves the worker's own cost per event: the state store's.

Times on a shared machine vary by 2x from run to run; instruction counts do not. Under
``valgrind --tool=cachegrind``, ``--contacts 1000`` (18,758 events), the difference between
``--repeat 3`` and ``--repeat 1`` halved: the transaction (``worker/transaction.py``) costs
36.6k instructions an event with the core and 11.4k with the stub engine, where the store it
replaced (``PartitionStates`` with ``applying`` set around each event) cost 39.0k and 15.6k.
"""

from __future__ import annotations

import argparse
import statistics
import time
from functools import partial
from typing import Any

from relance.codec import json as json_codec
from relance.core.engine import Applied
from relance.core.events import Event
from relance.core.scenarios import DEFAULT_CONFIG
from relance.core.state import ContactState
from relance.demo.samples.traffic import generate
from relance.worker.merge import Pending
from relance.worker.pipeline import Inputs, Pipeline

INPUTS = Inputs(
    (
        ("views", "page_view"),
        ("carts", "cart"),
        ("orders", "order"),
        ("contacts", "contact"),
        ("engagement", "engagement"),
    )
)
TOPICS = {
    "page_view": "views",
    "cart": "carts",
    "order": "orders",
    "contact": "contacts",
    "engagement": "engagement",
}


class Quiet:
    def consumed(self, topic: str, count: int) -> None: ...
    def applied(self, count: int = 1) -> None: ...
    def duplicate(self, topic: str, count: int = 1) -> None: ...
    def rejected(self, topic: str, reason: str) -> None: ...
    def decided(self, outcome: object, wall_now_ms: int) -> None: ...
    def pending(self, deadlines: int) -> None: ...


class StubEngine:
    """Reads the contact's state and writes a new one, as ``Engine.apply`` does, and no more."""

    def __init__(self, states: Any) -> None:
        self.states = states
        self.nothing = Applied()
        self.due: list[str] = []

    def apply(self, event: Event) -> Applied:
        key = event.contact_id
        self.states.get(key)
        self.states[key] = ContactState(key)
        return self.nothing


def items(events: list[Event]) -> list[Pending]:
    offsets: dict[str, int] = {}
    found = []
    for event in sorted(events, key=lambda e: e.occurred_at):
        topic = TOPICS[event.type]
        offsets[topic] = offsets.get(topic, -1) + 1
        found.append(Pending(event, topic, offsets[topic]))
    return found


def run(pending: list[Pending], stub: bool) -> float:
    decode = partial(json_codec.decode, rules=DEFAULT_CONFIG.inputs)
    made = Pipeline(DEFAULT_CONFIG, INPUTS, decode, Quiet(), lambda: 0)
    made.assign(0, {})
    if stub:
        made.engines[0] = StubEngine(made.engines[0].states)  # type: ignore[assignment]  # duck
    apply = made._apply
    started = time.perf_counter()
    for item in pending:
        apply(0, item)
    made.commit_states()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--stub-engine", action="store_true")
    args = parser.parse_args()
    pending = items(list(generate(args.contacts)))
    run(pending, args.stub_engine)  # warm up
    times = [run(pending, args.stub_engine) / len(pending) * 1e6 for _ in range(args.repeat)]
    print(
        f"{len(pending):,} events: best {min(times):.2f} µs/event, median "
        f"{statistics.median(times):.2f} µs/event ({args.repeat} runs)"
    )


if __name__ == "__main__":
    main()
