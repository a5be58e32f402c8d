"""How fast ``relance simulate`` replays generated shop traffic (events per second).

    python bench/simulate_throughput.py [--profile realistic|classic] [--contacts N]
                                        [--repeat 3] [--workers N]

Writes the traffic (``load.generate``: realistic by default, classic for the figures before
2026-12-02) as JSON lines once, then runs the same path as the CLI (read, decode,
decide, encode commands) with one worker and with ``--workers`` (default: the CPUs), and
prints the best and the median of ``--repeat`` runs of each (the reference machine is shared,
and one run can be a third slower than the next). It also times a fixed pure-Python loop
before and after, as a yardstick: the same replay has run more than twice as fast on one day
as on another on the same machine.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
import timeit
from pathlib import Path

from load import DEFAULT_CONTACTS, PROFILES, generate
from relance.codec.json import encode
from relance.core.scenarios import DEFAULT_CONFIG
from relance.demo.processes import interrupted_by_signals
from relance.offline.simulate import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="realistic")
    parser.add_argument(
        "--contacts",
        type=int,
        help="default: " + ", ".join(f"{k} {v:,}" for k, v in DEFAULT_CONTACTS.items()),
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    contacts = args.contacts or DEFAULT_CONTACTS[args.profile]

    print(f"yardstick before: {yardstick():.2f}s")
    started = time.perf_counter()
    events = generate(args.profile, contacts)
    # SIGTERM unwinds like Ctrl-C: the replay's process pool is terminated, the file removed.
    with interrupted_by_signals(), tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "traffic.jsonl"
        path.write_bytes(b"".join(encode(e) + b"\n" for e in events))
        print(
            f"generated {len(events):,} {args.profile} events for {contacts:,} contacts "
            f"({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f}s"
        )
        for workers in sorted({1, args.workers}):
            rates = []
            for run in range(1, args.repeat + 1):
                summary = simulate(str(path), DEFAULT_CONFIG, io.BytesIO(), workers=workers)
                rate = summary.events / summary.seconds
                rates.append(rate)
                print(
                    f"workers={workers} run {run}: {summary.events:,} events in "
                    f"{summary.seconds:.2f}s = {rate:,.0f} events/s; "
                    + "; ".join(summary.lines()[1:])
                )
            print(
                f"simulate throughput, {workers} worker(s), best of {args.repeat}: "
                f"{max(rates):,.0f} events/s (median {statistics.median(rates):,.0f})"
            )
    print(f"yardstick after: {yardstick():.2f}s")


def yardstick() -> float:
    """Seconds for twenty million additions in a Python loop, the best of three."""
    return min(
        timeit.repeat("total = 0\nfor i in range(20_000_000): total += i", number=1, repeat=3)
    )


if __name__ == "__main__":
    main()
