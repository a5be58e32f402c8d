"""Stored bytes per contact after a replay, as the worker's changelog would hold them.

    python bench/state_bytes.py [--events FILE] [--config FILE] [--profile realistic|classic]
                                [--contacts N]

Replays a JSON-lines events file (``python -m relance.demo.samples.month > month.jsonl``), or
without one the worker benchmark's generated traffic (``--profile``), through the core,
then encodes each contact's state as its changelog record (five input offsets of six
digits) and prints the mean, median and largest size, and how many bytes of that are
remembered event ids.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Iterator
from pathlib import Path

from load import DEFAULT_CONTACTS, PROFILES, generate
from relance.codec import catalog as catalog_codec
from relance.codec.json import decode
from relance.core.engine import Engine
from relance.core.events import CatalogUpdate, Event
from relance.core.scenarios import DEFAULT_CONFIG, InputRules
from relance.errors import InvalidEventError
from relance.scenario_file import load_config_file
from relance.worker.store import Stored, encode_stored

OFFSETS = (240_000,) * 5


def events_of(
    path: str | None, profile: str, contacts: int, rules: InputRules
) -> Iterator[Event | CatalogUpdate]:
    if path is None:
        yield from generate(profile, contacts)
        return
    with Path(path).open("rb") as lines:
        for line in lines:
            try:
                yield decode(line, rules=rules)
            except InvalidEventError:
                yield catalog_codec.decode(line, rules=rules)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", help="JSON-lines events (default: generated shoppers)")
    parser.add_argument("--config", help="scenario file (default: the built-in scenarios)")
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default="realistic",
        help="the generated traffic when no events file is given",
    )
    parser.add_argument(
        "--contacts",
        type=int,
        help="generated contacts when no events "
        "file is given (default: "
        + ", ".join(f"{k} {v:,}" for k, v in DEFAULT_CONTACTS.items())
        + ")",
    )
    args = parser.parse_args()
    engine = Engine(DEFAULT_CONFIG if args.config is None else load_config_file(args.config))
    for item in events_of(
        args.events,
        args.profile,
        args.contacts or DEFAULT_CONTACTS[args.profile],
        engine.config.inputs,
    ):
        if isinstance(item, CatalogUpdate):
            engine.feed_catalog(item)
        else:
            engine.feed(item)
    states = list(engine.states.values())
    sizes = [len(encode_stored(Stored(0, OFFSETS, state))) for state in states]
    # getattr: the script also measures states of before there were remembered ids.
    ids = [len(getattr(state, "seen", b"")) for state in states]
    print(
        f"{len(sizes):,} contacts: {statistics.mean(sizes):.1f} bytes on average "
        f"(median {statistics.median(sizes):.0f}, largest {max(sizes):,}), of which "
        f"remembered event ids {statistics.mean(ids):.1f}"
    )


if __name__ == "__main__":
    main()
