"""A backtest: the same events replayed under an old and a new scenario file (``relance
simulate --config OLD --compare NEW``), and what the change would change.

Two replays of the same input, each as ``simulate --explain`` makes it (so with the same
sharding and the same result for any number of workers); only files are read and only the
report is written: no message is sent. A command is the same in both when its id is (the id
is derived from contact, scenario, journey and step, not from the time), so a delay that
moves keeps the ids and changes their ``decided_at``, and a command that an order now
cancels before it is due is removed.
"""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from relance.codec.json import envelope
from relance.core.scenarios import Config
from relance.offline.eventfile import open_events
from relance.offline.simulate import Horizon, Summary, simulate
from relance.report.text import table

NOTE = "backtest: no message was sent"
# What makes two commands with one id different: when and how they would be sent.
COMPARED = ("decided_at", "channel", "template", "variant")
BUCKETS = ("0", "1", "2", "3+")
LISTED = 20  # commands added, removed or changed listed in the text


@dataclass
class Run:
    """One replay's decisions: the sent ones by command id, suppressions by reason."""

    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    suppressed: Counter[tuple[str, str]] = field(default_factory=Counter)  # reason, scenario
    reasons: dict[str, str] = field(default_factory=dict)  # why, by command id suppressed
    summary: Summary = field(default_factory=Summary)

    def take(self, record: dict[str, Any]) -> None:
        if record.get("outcome") == "sent":
            self.sent[record["command_id"]] = record
        elif record.get("outcome") == "suppressed":
            self.suppressed[record["reason"], record["scenario"]] += 1
            self.reasons[record["command_id"]] = record["reason"]

    def fate(self, command_id: str) -> str:
        """What this run decided for a command the other sent: suppressed (why), or nothing
        (no candidate: e.g. an order came before it was due)."""
        reason = self.reasons.get(command_id)
        return f"suppressed: {reason}" if reason else "not a candidate"

    def messages(self) -> Counter[str]:
        return Counter(record["contact_id"] for record in self.sent.values())


@dataclass
class Backtest:
    old: Run
    new: Run
    contacts: set[str]  # every contact of the events, messaged or not

    def added(self) -> list[dict[str, Any]]:
        return [r for cid, r in sorted(self.new.sent.items()) if cid not in self.old.sent]

    def removed(self) -> list[dict[str, Any]]:
        return [r for cid, r in sorted(self.old.sent.items()) if cid not in self.new.sent]

    def changed(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return [
            (old, self.new.sent[cid])
            for cid, old in sorted(self.old.sent.items())
            if cid in self.new.sent
            and any(old.get(key) != self.new.sent[cid].get(key) for key in COMPARED)
        ]

    def by_scenario(self) -> dict[str, dict[str, int]]:
        counts: dict[str, Counter[str]] = {}

        def count(scenario: str, what: str) -> None:
            counts.setdefault(scenario, Counter())[what] += 1

        for name, run in (("old", self.old), ("new", self.new)):
            for record in run.sent.values():
                count(record["scenario"], name)
        for name, records in (("added", self.added()), ("removed", self.removed())):
            for record in records:
                count(record["scenario"], name)
        for old, _ in self.changed():
            count(old["scenario"], "changed")
        keys = ("old", "new", "added", "removed", "changed")
        return {s: {k: counts[s][k] for k in keys} for s in sorted(counts)}

    def suppressions(self) -> dict[str, dict[str, int]]:
        """Per reason, how many candidates each run suppressed."""
        old, new = _by_reason(self.old.suppressed), _by_reason(self.new.suppressed)
        return {
            reason: {"old": old[reason], "new": new[reason]}
            for reason in sorted(old.keys() | new.keys())
        }

    def distribution(self) -> dict[str, dict[str, int]]:
        """How many contacts get 0, 1, 2, 3 or more messages, under each file."""
        found = {}
        for name, run in (("old", self.old), ("new", self.new)):
            messages = run.messages()
            found[name] = Counter(BUCKETS[min(messages[c], 3)] for c in self.contacts)
        return {b: {"old": found["old"][b], "new": found["new"][b]} for b in BUCKETS}

    def most_affected(self, top: int = 10) -> list[tuple[str, int, int]]:
        """(contact, messages before, after) of the ``top`` contacts whose count of messages
        changes most; ties by contact id."""
        old, new = self.old.messages(), self.new.messages()
        moved = [(c, old[c], new[c]) for c in old.keys() | new.keys() if old[c] != new[c]]
        return sorted(moved, key=lambda m: (-abs(m[2] - m[1]), m[0]))[:top]


def _by_reason(counts: Counter[tuple[str, str]]) -> Counter[str]:
    found: Counter[str] = Counter()
    for (reason, _), n in counts.items():
        found[reason] += n
    return found


def backtest(
    path: str,
    old: Config,
    new: Config,
    *,
    workers: int = 1,
    until: int | None = None,
    horizon: Horizon | None = None,
    report: IO[str] | None = None,
    where: Callable[[int], str] | None = None,
) -> Backtest:
    """Replay ``path`` under ``old`` and under ``new``; ``report`` hears of the invalid lines
    once (they are the same in both replays)."""
    with _replayable(path) as replayable:
        runs = []
        for config, tell in ((old, report), (new, None)):
            buffer = io.BytesIO()
            run = Run()
            run.summary = simulate(
                replayable,
                config,
                buffer,
                workers=workers,
                until=until,
                horizon=horizon,
                explain=True,
                report=tell,
                where=where or (lambda n: f"{path}:{n}"),
            )
            for line in buffer.getvalue().splitlines():
                run.take(orjson.loads(line))
            runs.append(run)
        return Backtest(runs[0], runs[1], _contacts(replayable))


@contextmanager
def _replayable(path: str) -> Iterator[str]:
    """``path``, or for stdin (read once) a copy of it in a temporary file."""
    if path != "-":
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="relance-backtest-") as folder:
        copy = Path(folder) / "events.jsonl"
        with copy.open("wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out)
        yield str(copy)


def _contacts(path: str) -> set[str]:
    found = set()
    with open_events(path) as lines:
        for line in lines:
            read = envelope(line)
            if read is not None:
                found.add(read.contact_id)
    return found


def as_json(test: Backtest, old: str, new: str) -> dict[str, Any]:
    """Everything the text says, and every command added, removed and changed."""
    return {
        "backtest": True,
        "note": NOTE,
        "old": old,
        "new": new,
        "events": test.old.summary.events,
        "invalid": test.old.summary.invalid,
        "contacts": len(test.contacts),
        "commands": test.by_scenario(),
        "added": [{**_brief(r), "old": test.old.fate(r["command_id"])} for r in test.added()],
        "removed": [{**_brief(r), "new": test.new.fate(r["command_id"])} for r in test.removed()],
        "changed": [
            {
                **_brief(o),
                "changes": {
                    k: {"old": o.get(k), "new": n.get(k)} for k in COMPARED if o.get(k) != n.get(k)
                },
            }
            for o, n in test.changed()
        ],
        "suppressed": test.suppressions(),
        "messages_per_contact": test.distribution(),
        "most_affected": [
            {"contact_id": c, "old": o, "new": n, "difference": n - o}
            for c, o, n in test.most_affected()
        ],
    }


def _brief(record: dict[str, Any]) -> dict[str, Any]:
    return {
        key: record.get(key)
        for key in (
            "command_id",
            "contact_id",
            "scenario",
            "step",
            "decided_at",
            "template",
            "variant",
        )
    }


def as_text(test: Backtest, old: str, new: str) -> list[str]:
    summary = test.old.summary
    lines = [
        NOTE,
        f"old: {old}",
        f"new: {new}",
        f"events: {summary.events} read, {summary.invalid} invalid lines, "
        f"{len(test.contacts)} contacts",
        "",
        "commands by scenario:",
    ]
    by_scenario = test.by_scenario()
    lines += table(
        ["scenario", "old", "new", "added", "removed", "changed"],
        [
            [s, *(str(c[k]) for k in ("old", "new", "added", "removed", "changed"))]
            for s, c in by_scenario.items()
        ]
        or [["(none)", "0", "0", "0", "0", "0"]],
        indent="  ",
    )
    lines += _listed(test)
    suppressions = test.suppressions()
    lines += ["", "suppressions by reason:"]
    lines += table(
        ["reason", "old", "new"],
        [[r, str(c["old"]), str(c["new"])] for r, c in suppressions.items()]
        or [["(none)", "0", "0"]],
        indent="  ",
    )
    lines += ["", "messages per contact:"]
    lines += table(
        ["messages", "old", "new"],
        [[b, str(c["old"]), str(c["new"])] for b, c in test.distribution().items()],
        indent="  ",
    )
    affected = test.most_affected()
    lines += ["", f"contacts most affected (top {len(affected)} by the change in messages):"]
    lines += table(
        ["contact", "old", "new", "difference"],
        [[c, str(o), str(n), f"{n - o:+d}"] for c, o, n in affected] or [["(none)", "", "", ""]],
        indent="  ",
    )
    return lines


def _listed(test: Backtest, most: int = LISTED) -> list[str]:
    """The commands added, removed and changed, the first ``most`` of each (JSON has all)."""
    added = [[*_where(r), r["decided_at"], test.old.fate(r["command_id"])] for r in test.added()]
    removed = [
        [*_where(r), r["decided_at"], test.new.fate(r["command_id"])] for r in test.removed()
    ]
    changed = [
        [
            *_where(o),
            "; ".join(f"{k} {o.get(k)} -> {n.get(k)}" for k in COMPARED if o.get(k) != n.get(k)),
        ]
        for o, n in test.changed()
    ]
    lines = []
    for what, rows, last in (
        ("added", added, ["decided_at", "old"]),
        ("removed", removed, ["decided_at", "new"]),
        ("changed", changed, ["change"]),
    ):
        if rows:
            more = f" (the first {most}; --format json lists all)" if len(rows) > most else ""
            lines += ["", f"commands {what}: {len(rows)}{more}"]
            lines += table(["contact", "scenario", "step", *last], rows[:most], left=2, indent="  ")
    return lines


def _where(record: dict[str, Any]) -> list[str]:
    return [record["contact_id"], record["scenario"], str(record["step"])]
