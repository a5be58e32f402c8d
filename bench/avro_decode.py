"""How long an input event takes to decode: Avro through the fast path, Avro through
fastavro and the checking path (the only way before 2026-12-02), and JSON.

    python bench/avro_decode.py [--profile realistic|classic] [--contacts 5000] [--rounds 5]

Generates the traffic (``load.generate``), encodes every event as plain Avro and as JSON
once, then decodes all of them with each way in turn, ``--rounds`` times alternated, and
prints per event type and over the traffic's mix the µs of CPU an event (the process's CPU
time: the machine is shared), median (min-max) of the rounds, with the yardstick.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from load import PROFILES, generate
from relance.codec import avro
from relance.codec import json as json_codec
from relance.core.scenarios import DEFAULT_CONFIG
from simulate_throughput import yardstick

RULES = DEFAULT_CONFIG.inputs
WAYS: dict[str, Callable[[bytes, Any], Any]] = {
    "avro, fast path": lambda raw, kind: avro.decode(raw, kind, rules=RULES),
    "avro, fastavro + checks": lambda raw, kind: avro._checked(raw, kind, 0, len(raw), RULES),
    "json": lambda raw, kind: json_codec.decode(raw, kind, rules=RULES),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="realistic")
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M')}; yardstick before: {yardstick():.2f}s")
    by_type: dict[str, dict[str, list[bytes]]] = {}
    for event in generate(args.profile, args.contacts):
        found = by_type.setdefault(event.type, {"avro": [], "json": []})
        found["avro"].append(avro.encode(event))
        found["json"].append(json_codec.encode(event))
    total = sum(len(found["avro"]) for found in by_type.values())
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for way, decode in WAYS.items():
            for kind, found in by_type.items():
                bodies = found["json" if way == "json" else "avro"]
                started = time.process_time()
                for raw in bodies:
                    decode(raw, kind)
                spent = time.process_time() - started
                times.setdefault((way, kind), []).append(spent / len(bodies) * 1e6)
    print(f"{total:,} {args.profile} events; µs of CPU an event, median (min-max):")
    for way in WAYS:
        mix = [
            sum(times[way, kind][r] * len(found["avro"]) for kind, found in by_type.items()) / total
            for r in range(args.rounds)
        ]
        cells = [f"{kind} {_spread(times[way, kind])}" for kind in by_type]
        print(f"  {way}: the mix {_spread(mix)}; " + ", ".join(cells))
    print(f"yardstick after: {yardstick():.2f}s")


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


if __name__ == "__main__":
    main()
