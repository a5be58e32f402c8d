"""Offline replay: events from a JSON-lines file through the core, in virtual time.

The clock follows event time: before each line it moves to that line's time (never back),
firing what became due; a line whose contact and time can be read moves the clock even if
the rest of it is invalid. At the end the clock stops at the latest time, or at ``until``.

With several workers, the contact, time and type of every line are read once (see
``shards``); each process then decodes and decides only the lines of its shard's contacts,
but moves its clock with every line's time. A contact's decisions depend only on its own
events, that clock and the catalog (every shard reads every order and catalog line), so the
result is the same as with one worker.
Commands are written sorted by (decided_at, command_id) whatever the number of workers.

Events are refused as the live worker refuses them: the sizes of the file's ``inputs``, and
a time more than the clock skew allowed ahead of now (``Horizon``: the run's start, or the
``--now`` it is given for a reproducible run). Such a line moves no clock, not even another
shard's, since one line dated in the year 9999 would otherwise fire every deadline at once.
"""

from __future__ import annotations

import heapq
import multiprocessing
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO

import orjson

from relance.codec import catalog as catalog_codec
from relance.codec.json import decode, envelope
from relance.codec.limits import too_far_ahead
from relance.core.commands import Attribution, Deferral, Outcome, SendCommand, decision_record
from relance.core.engine import Engine
from relance.core.events import Event, Order
from relance.core.scenarios import Config, InputSource
from relance.errors import InvalidEventError, RelanceError
from relance.gc_tuning import rare_collections
from relance.offline.eventfile import byte_ranges, open_events
from relance.offline.shards import NO_OWNER, TYPES, LineIndex, index_range
from relance.tracking.identity import Identities, resolve
from relance.tracking.sources import Adapter, adapter_for

Command = tuple[int, str, bytes]  # decided_at, command_id, JSON line
_NO_LIMIT = 1 << 63  # later than any epoch ms a file holds


@dataclass(frozen=True)
class Horizon:
    """The latest event time a replay accepts: ``now`` (what the run takes for the present)
    plus ``skew_ms``, the clock skew allowed, as the worker allows it past its wall clock."""

    now: int
    skew_ms: int

    @property
    def latest(self) -> int:
        return self.now + self.skew_ms

    def refusal(self, occurred_at: int) -> InvalidEventError:
        return too_far_ahead(occurred_at, self.latest, self.skew_ms, "now (--now)")


class StrictModeError(RelanceError):
    """An invalid line under ``--strict``: where it is and what is wrong with it."""

    def __init__(self, source: str, line: int, error: InvalidEventError) -> None:
        super().__init__(f"{source}:{line}: {error}")
        self.source = source
        self.line = line
        self.error = error

    def __reduce__(self) -> tuple[type[StrictModeError], tuple[str, int, InvalidEventError]]:
        return StrictModeError, (self.source, self.line, self.error)


@dataclass
class Summary:
    events: int = 0
    invalid: int = 0
    duplicates: int = 0  # events a contact already had, skipped (counted in ``events``)
    # Source events mapped to none (relance.tracking): not_used, unknown, anonymous.
    skipped: Counter[str] = field(default_factory=Counter)
    commands: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[tuple[str, str]] = field(default_factory=Counter)
    deferred: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Orders attributed, by (scenario, held out); their revenue by (scenario, held out,
    # currency).
    conversions: Counter[tuple[str, bool]] = field(default_factory=Counter)
    revenue: defaultdict[tuple[str, bool, str], float] = field(
        default_factory=lambda: defaultdict(float)
    )
    # What the identity stage did with anonymous visitors' events and links (buffered ...).
    visitors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def count(self, outcome: Outcome) -> None:
        if isinstance(outcome, SendCommand):
            self.commands[outcome.scenario] += 1
        elif isinstance(outcome, Attribution):
            self.conversions[outcome.scenario, outcome.holdout] += 1
            self.revenue[outcome.scenario, outcome.holdout, outcome.currency] += outcome.revenue
        elif isinstance(outcome, Deferral):
            self.deferred[outcome.reason, outcome.scenario] += 1
        else:
            self.suppressed[outcome.reason, outcome.scenario] += 1

    def add(self, other: Summary) -> None:
        self.events += other.events
        self.invalid += other.invalid
        self.duplicates += other.duplicates
        self.skipped.update(other.skipped)
        self.commands.update(other.commands)
        self.suppressed.update(other.suppressed)
        self.deferred.update(other.deferred)
        self.conversions.update(other.conversions)
        for key, total in other.revenue.items():
            self.revenue[key] += total
        self.visitors.update(other.visitors)

    def lines(self) -> list[str]:
        rate = self.events / self.seconds if self.seconds > 0 else 0.0
        return (
            [
                f"events read: {self.events}, invalid lines: {self.invalid}, "
                f"duplicates: {self.duplicates}, {rate:,.0f} events/s",
                *self._attributed(),
                "commands: " + _counts(self.commands),
                "suppressed: "
                + (
                    ", ".join(
                        f"{reason}={n} ({_counts(by_scenario)})"
                        for reason, n, by_scenario in _by_reason(self.suppressed)
                    )
                    or "none"
                ),
            ]
            + (
                [
                    "deferred: "
                    + ", ".join(
                        f"{reason}={n} ({_counts(by_scenario)})"
                        for reason, n, by_scenario in _by_reason(self.deferred)
                    )
                ]
                if self.deferred
                else []
            )
            + ([f"source events skipped: {_counts(self.skipped)}"] if self.skipped else [])
            + ([f"anonymous visitors: {_counts(self.visitors)}"] if self.visitors else [])
        )

    def _attributed(self) -> list[str]:
        """``attributed: cart_abandonment=3 (EUR 120.00), ...`` and the same for holdouts."""
        lines = []
        for held, title in ((False, "attributed orders"), (True, "holdout orders")):
            counts = {s: n for (s, h), n in self.conversions.items() if h is held}
            if counts:
                lines.append(
                    f"{title}: "
                    + ", ".join(
                        f"{scenario}={n} ({_revenue(self.revenue, scenario, held)})"
                        for scenario, n in sorted(counts.items())
                    )
                )
        return lines


def _revenue(revenue: dict[tuple[str, bool, str], float], scenario: str, held: bool) -> str:
    return ", ".join(
        f"{currency} {total:.2f}"
        for (s, h, currency), total in sorted(revenue.items())
        if s == scenario and h is held
    )


def _by_reason(counts: Counter[tuple[str, str]]) -> list[tuple[str, int, Counter[str]]]:
    by_reason: dict[str, Counter[str]] = {}
    for (reason, scenario), n in counts.items():
        by_reason.setdefault(reason, Counter())[scenario] += n
    return [(reason, sum(c.values()), c) for reason, c in sorted(by_reason.items())]


_EXPIRY_LINES = 4096  # how often a replay forgets the visitors a window old


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key}={n}" for key, n in sorted(counter.items())) or "none"


@dataclass
class ShardResult:
    summary: Summary
    commands: list[Command]
    invalid: list[tuple[int, InvalidEventError]]


def replay_shard(
    lines: Iterable[bytes],
    config: Config,
    *,
    shard: int = 0,
    index: LineIndex | None = None,
    until: int | None = None,
    strict: bool = False,
    source: str = "<events>",
    explain: bool = False,
    horizon: Horizon | None = None,
    tracking: InputSource | None = None,
) -> ShardResult:
    """Replay the lines of one shard's contacts, as ``index`` assigns them (without one,
    every line is this shard's); a line that is every shard's (no readable contact and time,
    or a catalog record) is shard 0's to report. Without a ``horizon`` no time is too late.
    With ``tracking``, the lines are that source's events (``relance.tracking``)."""
    with rare_collections():
        replay = _Replay(config, shard, index, strict, source, explain, horizon)
        if tracking is None:
            return replay.run(lines, until)
        return replay.run_source(lines, until, adapter_for(tracking, config.inputs))


class _Replay:
    """One shard's replay; ``run`` is the per-line loop, the rare paths are methods."""

    def __init__(
        self,
        config: Config,
        shard: int,
        index: LineIndex | None,
        strict: bool,
        source: str,
        explain: bool,
        horizon: Horizon | None,
    ) -> None:
        self.engine = Engine(config)
        self.rules = config.inputs
        self.shard = shard
        self.index = index
        self.strict = strict
        self.source = source
        self.explain = explain
        self.horizon = horizon
        self.latest = _NO_LIMIT if horizon is None else horizon.latest
        self.result = ShardResult(Summary(), [], [])
        # The identity stage of anonymous visitors, as the worker's relay runs it.
        self.identities = Identities(self.rules) if self.rules.anonymous_window_ms else None

    def keep(self, outcomes: Iterable[Outcome]) -> None:
        summary, commands = self.result.summary, self.result.commands
        for outcome in outcomes:
            summary.count(outcome)
            if self.explain:
                line = orjson.dumps(decision_record(outcome)) + b"\n"
                commands.append((outcome.decided_at, outcome.command_id, line))
            elif isinstance(outcome, SendCommand):
                line = orjson.dumps(outcome.to_record()) + b"\n"
                commands.append((outcome.decided_at, outcome.command_id, line))

    def run(self, lines: Iterable[bytes], until: int | None) -> ShardResult:
        engine, rules, shard, latest, keep = (
            self.engine,
            self.rules,
            self.shard,
            self.latest,
            self.keep,
        )
        summary = self.result.summary
        owners, times, types = (
            (None, [], b"")
            if self.index is None
            else (self.index.owners, self.index.times, self.index.types)
        )
        for number, line in enumerate(lines, 1):
            if line.isspace() or not line:
                continue
            moment: int | None = None
            tag: str | None = None  # None: the decoder reads the type itself
            if owners is not None and (owner := owners[number - 1]) != NO_OWNER:
                moment, tag = times[number - 1], TYPES[types[number - 1]]
                if owner != shard:
                    if moment > latest:  # its owner refuses it
                        continue
                    if tag == "order":  # every shard learns from every basket
                        self.basket(line)
                    fired = engine.tick(moment)
                    if fired:
                        keep(fired)
                    continue
            try:
                event = (
                    decode(line, rules=rules) if tag is None else decode(line, rules=rules, tag=tag)
                )
                if event.occurred_at > latest:
                    raise _too_late(self.horizon, event.occurred_at)
            except InvalidEventError as error:
                self.refused(line, number, moment, error)
                continue
            summary.events += 1
            applied = engine.feed(event)
            if applied.duplicate:
                summary.duplicates += 1
            if applied.outcomes:  # most events decide nothing: spare the call
                keep(applied.outcomes)
        ends = [t for t in (engine.now, until) if t is not None]
        if ends:
            keep(engine.advance(max(ends)))
        return self.result

    def run_source(
        self, lines: Iterable[bytes], until: int | None, adapter: Adapter
    ) -> ShardResult:
        """``run`` for a source's lines, each mapped to its events by ``adapter``. A line
        that maps to no contact's events (skipped, refused) is shard 0's, and moves no
        clock: the worker never reads it either."""
        engine, keep, summary = self.engine, self.keep, self.result.summary
        owners = None if self.index is None else self.index.owners
        for number, line in enumerate(lines, 1):
            if line.isspace() or not line:
                continue
            if owners is not None and (owner := owners[number - 1]) != self.shard:
                if owner != NO_OWNER:
                    self.elsewhere(line, number, adapter)
                if owner != NO_OWNER or self.shard != 0:
                    continue
            events = self.mapped(line, number, adapter)
            for event in events:
                summary.events += 1
                applied = engine.feed(event)
                summary.duplicates += applied.duplicate
                if applied.outcomes:
                    keep(applied.outcomes)
        ends = [t for t in (engine.now, until) if t is not None]
        if ends:
            keep(engine.advance(max(ends)))
        return self.result

    def mapped(self, line: bytes, number: int, adapter: Adapter) -> list[Event]:
        """The events of a source line to feed; skips counted, a refusal reported."""
        try:
            items = adapter.read(line)
            for item in items:
                if item.skipped:
                    self.result.summary.skipped[item.skipped] += 1
            if self.identities is None:
                events = [e for item in items if not item.skipped for e in item.events]
            else:
                events, outcomes = resolve(items, self.identities)
                self.result.summary.visitors.update(outcomes)
                if number % _EXPIRY_LINES == 0:
                    self.identities.expire()
            late = max((e.occurred_at for e in events), default=0)
            if late > self.latest:
                raise _too_late(self.horizon, late)
        except InvalidEventError as error:
            self.report(number, error)
            return []
        return events

    def elsewhere(self, line: bytes, number: int, adapter: Adapter) -> None:
        """A source line of another shard's contact: its time, and what was bought."""
        assert self.index is not None
        moment = self.index.times[number - 1]
        if moment > self.latest:  # its owner refuses it
            return
        if TYPES[self.index.types[number - 1]] == "order":
            for item in adapter.read(line):
                for event in item.events:
                    if isinstance(event, Order):
                        self.engine.basket(event)
        fired = self.engine.tick(moment)
        if fired:
            self.keep(fired)

    def report(self, number: int, error: InvalidEventError) -> None:
        if self.strict:
            raise StrictModeError(self.source, number, error) from None
        self.result.summary.invalid += 1
        self.result.invalid.append((number, error))

    def basket(self, line: bytes) -> None:
        """An order of another shard's contact: only what was bought together."""
        try:
            order = decode(line, rules=self.rules, tag="order")
        except InvalidEventError:
            return
        if isinstance(order, Order):
            self.engine.basket(order)

    def refused(
        self, line: bytes, number: int, moment: int | None, error: InvalidEventError
    ) -> None:
        """A line that is not a valid event: a catalog update (every shard's), or invalid,
        reported once and moving the clock when its time can be read."""
        if moment is None and _is_catalog(line):
            try:
                update = catalog_codec.decode(line, rules=self.rules)
                if update.occurred_at > self.latest:
                    raise _too_late(self.horizon, update.occurred_at)
            except InvalidEventError as bad:
                error = bad
            else:
                self.result.summary.events += self.shard == 0
                self.keep(self.engine.feed_catalog(update))
                return
        if self.shard == 0 or moment is not None:  # every shard's line is shard 0's to report
            self.report(number, error)
        if moment is None:  # read again, as rare as invalid lines: each shard's clock
            found = envelope(line)
            moment = None if found is None else found.occurred_at
        if moment is not None and moment <= self.latest:
            self.keep(self.engine.tick(moment))


def _too_late(horizon: Horizon | None, occurred_at: int) -> InvalidEventError:
    assert horizon is not None  # no time is too late without one
    return horizon.refusal(occurred_at)


def _is_catalog(line: bytes) -> bool:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(record, dict) and record.get("type") == "product"


def _replay_file(
    path: str,
    config: Config,
    shard: int,
    index: LineIndex,
    until: int | None,
    strict: bool,
    explain: bool,
    horizon: Horizon | None,
    tracking: InputSource | None,
) -> ShardResult | StrictModeError:
    with open_events(path) as lines:
        try:
            return replay_shard(
                lines,
                config,
                shard=shard,
                index=index,
                until=until,
                strict=strict,
                source=path,
                explain=explain,
                horizon=horizon,
                tracking=tracking,
            )
        except StrictModeError as exc:
            return exc  # returned, not raised: the parent picks the earliest line of all shards


def _replay_shards(
    path: str,
    config: Config,
    workers: int,
    until: int | None,
    strict: bool,
    explain: bool,
    horizon: Horizon | None,
    tracking: InputSource | None,
) -> list[ShardResult]:
    """The file replayed by ``workers`` processes, each the contacts of its shard; a strict
    replay's error is the earliest line's of all."""
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        # More ranges than workers, so that one slowed down does not hold up the rest.
        ranges = byte_ranges(path, workers * 4)
        index = LineIndex.join(
            pool.starmap(
                index_range,
                [(path, start, end, workers, tracking, config.inputs) for start, end in ranges],
                chunksize=1,
            )
        )
        outcomes = pool.starmap(
            _replay_file,
            [
                (path, config, shard, index, until, strict, explain, horizon, tracking)
                for shard in range(workers)
            ],
        )
        # Let the workers finish before the pool's exit terminates them: a worker killed
        # while it holds the task queue's lock leaves the other blocked, and the exit
        # joining it hung forever (seen with two workers on a loaded machine).
        pool.close()
        pool.join()
    errors = [o for o in outcomes if isinstance(o, StrictModeError)]
    if errors:
        raise min(errors, key=lambda error: error.line)
    return [o for o in outcomes if isinstance(o, ShardResult)]


def simulate(
    path: str,
    config: Config,
    emit: IO[bytes],
    *,
    workers: int = 1,
    until: int | None = None,
    strict: bool = False,
    report: IO[str] | None = None,
    explain: bool = False,
    horizon: Horizon | None = None,
    where: Callable[[int], str] | None = None,
    tracking: InputSource | None = None,
) -> Summary:
    """Replay a file (``-`` for stdin) and write the decided commands as JSON lines; with
    ``explain``, one decision per candidate instead (sent, or suppressed with the reason).
    Events later than the ``horizon`` are refused (the command line always gives one).
    ``where`` names a line in what ``report`` says (default: ``path:number``). With
    ``tracking``, the file holds that source's events (``relance.tracking``)."""
    started = time.perf_counter()
    if tracking is not None and config.inputs.anonymous_window_ms:
        workers = 1  # a visitor's events become another contact's: one process sees both
    if workers <= 1 or path == "-":
        with open_events(path) as lines:
            results = [
                replay_shard(
                    lines,
                    config,
                    until=until,
                    strict=strict,
                    source=path,
                    explain=explain,
                    horizon=horizon,
                    tracking=tracking,
                )
            ]
    else:
        results = _replay_shards(path, config, workers, until, strict, explain, horizon, tracking)
    summary = Summary()
    for result in results:
        summary.add(result.summary)
    for _, _, line in heapq.merge(*(sorted(r.commands) for r in results)):
        emit.write(line)
    if report is not None:
        for number, error in sorted(
            (i for r in results for i in r.invalid), key=lambda item: item[0]
        ):
            report.write(f"{where(number) if where else f'{path}:{number}'}: {error}\n")
    summary.seconds = time.perf_counter() - started
    return summary
