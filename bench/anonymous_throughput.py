"""What the identity stage of anonymous visitors costs ``relance simulate`` (calls per
second, one worker).

    python bench/anonymous_throughput.py [--contacts 5000] [--repeat 3]

The Segment calls of ``tracking_throughput`` (generated shop traffic), written so that every
visitor is anonymous until its first ``identify`` (its calls carry only an ``anonymousId``
before, both ids after), replayed with anonymous visitors skipped and with
``inputs.anonymous_window: 24h``; the best of ``--repeat`` runs of each, and what one
anonymous call costs more.
"""

from __future__ import annotations

import argparse
import io
import tempfile
from dataclasses import replace
from pathlib import Path

import orjson

from relance.core.scenarios import DEFAULT_CONFIG
from relance.core.timestamps import DAY_MS
from relance.offline.simulate import simulate
from relance.tracking.sources import plain_source
from tracking_throughput import _unstocked, generate, segment_call


def anonymous_until_identified(contacts: int) -> tuple[list[bytes], int]:
    identified: set[str] = set()
    lines, anonymous = [], 0
    for event in map(_unstocked, generate(contacts)):
        call = segment_call(event)
        if call is None:
            continue
        user = call["userId"]
        call["anonymousId"] = f"a-{user}"
        if call["type"] == "identify":
            identified.add(user)
        elif user not in identified:
            del call["userId"]
            anonymous += 1
        lines.append(orjson.dumps(call))
    return lines, anonymous


def best_rate(path: Path, window_ms: int, calls: int, repeat: int) -> tuple[float, int]:
    config = replace(
        DEFAULT_CONFIG, inputs=replace(DEFAULT_CONFIG.inputs, anonymous_window_ms=window_ms)
    )
    best, commands = 0.0, 0
    for _ in range(repeat):
        out = io.BytesIO()
        summary = simulate(str(path), config, out, workers=1, tracking=plain_source("segment"))
        best, commands = max(best, calls / summary.seconds), len(out.getvalue().splitlines())
    return best, commands


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    lines, anonymous = anonymous_until_identified(args.contacts)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "segment.jsonl"
        path.write_bytes(b"".join(line + b"\n" for line in lines))
        rates = {}
        for label, window in (("anonymous skipped", 0), ("anonymous_window 24h", DAY_MS)):
            rate, commands = best_rate(path, window, len(lines), args.repeat)
            rates[label] = rate
            print(
                f"{len(lines):,} calls ({anonymous:,} anonymous), {label}: best of "
                f"{args.repeat} {rate:,.0f} calls/s, {commands:,} commands"
            )
    extra = (1e6 / rates["anonymous_window 24h"] - 1e6 / rates["anonymous skipped"]) * (
        len(lines) / anonymous
    )
    print(f"the identity stage costs {extra:.0f} µs an anonymous call")


if __name__ == "__main__":
    main()
