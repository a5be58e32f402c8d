"""Offline replay: events from a JSON-lines file through the core, in virtual time.

The clock follows event time: before each event it moves to that event's time (never back),
firing what became due; at the end it stops at the latest event time, or at ``until``.
"""

from __future__ import annotations

import gzip
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import orjson

from relance.codec import json as json_codec
from relance.commands import Outcome, SendCommand
from relance.engine import Engine
from relance.errors import InvalidEventError, RelanceError
from relance.scenarios import Config


class StrictModeError(RelanceError):
    """An invalid line under ``--strict``: where it is and what is wrong with it."""

    def __init__(self, source: str, line: int, error: InvalidEventError) -> None:
        super().__init__(f"{source}:{line}: {error}")
        self.line = line
        self.error = error


@dataclass
class Summary:
    events: int = 0
    invalid: int = 0
    commands: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[tuple[str, str]] = field(default_factory=Counter)
    seconds: float = 0.0

    def count(self, outcome: Outcome) -> None:
        if isinstance(outcome, SendCommand):
            self.commands[outcome.scenario] += 1
        else:
            self.suppressed[outcome.reason, outcome.scenario] += 1

    def lines(self) -> list[str]:
        rate = self.events / self.seconds if self.seconds > 0 else 0.0
        return [
            f"events read: {self.events}, invalid lines: {self.invalid}, "
            f"{rate:,.0f} events/s",
            "commands: " + _counts(self.commands),
            "suppressed: " + (", ".join(
                f"{reason}={n} ({_counts(by_scenario)})"
                for reason, n, by_scenario in self._suppressions()) or "none"),
        ]

    def _suppressions(self) -> list[tuple[str, int, Counter[str]]]:
        by_reason: dict[str, Counter[str]] = {}
        for (reason, scenario), n in self.suppressed.items():
            by_reason.setdefault(reason, Counter())[scenario] += n
        return [(reason, sum(c.values()), c) for reason, c in sorted(by_reason.items())]


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key}={n}" for key, n in sorted(counter.items())) or "none"


@contextmanager
def open_events(path: str) -> Iterator[IO[bytes]]:
    """``-`` is stdin; a name ending in ``.gz`` is decompressed."""
    if path == "-":
        yield sys.stdin.buffer
        return
    if path.endswith(".gz"):
        with gzip.open(path, "rb") as unzipped:
            yield unzipped  # type: ignore[misc]
    else:
        with Path(path).open("rb") as raw:
            yield raw


def simulate(lines: Iterable[bytes], config: Config, emit: IO[bytes], *,
             until: int | None = None, strict: bool = False, source: str = "<events>",
             report: IO[str] | None = None) -> Summary:
    """Replay ``lines`` and write one JSON line per decided command to ``emit``."""
    engine = Engine(config)
    summary = Summary()
    started = time.perf_counter()
    decode = json_codec.decode

    def write(outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            summary.count(outcome)
            if isinstance(outcome, SendCommand):
                emit.write(orjson.dumps(outcome.to_record()) + b"\n")

    for number, line in enumerate(lines, 1):
        if line.isspace() or not line:
            continue
        try:
            event = decode(line)
        except InvalidEventError as exc:
            if strict:
                raise StrictModeError(source, number, exc) from None
            summary.invalid += 1
            if report is not None:
                report.write(f"{source}:{number}: {exc}\n")
            continue
        summary.events += 1
        write(engine.feed(event))
    ends = [t for t in (engine.now, until) if t is not None]
    if ends:
        write(engine.advance(max(ends)))
    summary.seconds = time.perf_counter() - started
    return summary

