"""The implementations the worker benchmark compares, each run once over input topics loaded
beforehand, and the check that each really applied every event.

- ``relance-json`` and ``relance-avro``: ``relance worker`` on the JSON and on the Avro copy
  of the inputs, events/s from its /metrics;
- ``quix``: the peers' state machine on Quix Streams (``quix_peer.py``, in its own
  environment, ``.venv-quix``);
- ``hand-written``: the same state machine in a plain confluent-kafka batch loop
  (``handwritten_peer.py``), the ceiling;
- ``faust``: the relance core in a plain faust agent (``faust_baseline.py``) on the first
  ``--baseline-events`` messages, the floor.

Every run reads the inputs from the start with a consumer group and changelog of its own.
Its changelog is then read to the end: the relance worker must hold a state for every
contact of the traffic, and a peer's states must have applied as many messages as were
loaded (each state counts its own); a few contacts are checked against the same state
machine run on their events here. A shortfall fails the benchmark: no figure is printed
for an implementation that skipped work.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
from confluent_kafka.admin import AdminClient

from load import create_input_topics
from peer_state import State, apply
from relance.codec.json import encode
from relance.core.events import CartChange, Event, Order
from relance.demo.broker import Broker
from relance.demo.ports import free_port
from relance.demo.processes import running, spawn, stop_processes
from relance.demo.run import metrics
from relance.kafka.changelog import Changelog, Table
from relance.kafka.topics import TopicSpec
from relance.settings import load_settings
from relance.worker.store import decode_stored

PARTITIONS = 4
HERE = Path(__file__).resolve().parent
QUIX_PYTHON = HERE.parent / ".venv-quix" / "bin" / "python"
IMPLEMENTATIONS = ("relance-json", "relance-avro", "quix", "hand-written", "faust")
SPOT_CHECKS = 40


def topics_for(prefix: str) -> dict[str, str]:
    return {
        "page_view": f"{prefix}-page-views",
        "cart": f"{prefix}-carts",
        "order": f"{prefix}-orders",
        "contact": f"{prefix}-contacts",
    }


def worker_changelog(prefix: str) -> str:
    """The state changelog of a worker whose app id is ``prefix``."""
    return f"{prefix}-worker-contact-state-changelog"


class Worker:
    """One ``relance worker`` process with its own app id and port, on ``inputs`` (its own
    ``{prefix}-*`` input topics by default); ``with Worker(...)`` stops it at the end of the
    block, however the block ends."""

    def __init__(
        self,
        broker: Broker,
        root: Path,
        prefix: str,
        inputs: Mapping[str, str] | None = None,
        **env: str,
    ) -> None:
        self.broker, self.prefix = broker, prefix
        self.topics = dict(inputs or topics_for(prefix))
        self.port = free_port()
        self.log = root / f"{prefix}-worker.log"
        self.env = {
            **os.environ,
            "RELANCE_BROKER": broker.url,
            "RELANCE_APP_ID": prefix,
            "RELANCE_PARTITIONS": str(PARTITIONS),
            "RELANCE_SESSION_TIMEOUT": "6",
            "RELANCE_WEB_PORT": str(self.port),
            "RELANCE_INPUT_FORMAT": "json",
            "RELANCE_TOPIC_PAGE_VIEWS": self.topics["page_view"],
            "RELANCE_TOPIC_CARTS": self.topics["cart"],
            "RELANCE_TOPIC_ORDERS": self.topics["order"],
            "RELANCE_TOPIC_CONTACTS": self.topics["contact"],
            "RELANCE_TOPIC_DELIVERIES": f"{prefix}-deliveries",
            "RELANCE_TOPIC_DLQ": f"{prefix}-dlq",
            **env,
        }
        create_input_topics(broker, self.topics, PARTITIONS)
        broker.create_topics(
            [TopicSpec(f"{prefix}-deliveries", PARTITIONS), TopicSpec(f"{prefix}-dlq", PARTITIONS)]
        )
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Worker:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def changelog(self) -> str:
        return worker_changelog(self.prefix)

    def start(self) -> float:
        self.process = spawn(
            [sys.executable, "-m", "relance", "worker"], log=self.log, env=self.env
        )
        return time.perf_counter()

    def consumed(self) -> int:
        return int(
            sum(
                v
                for k, v in metrics(self.port).items()
                if k.startswith("relance_events_consumed_total{")
            )
        )

    def memory_mb(self) -> tuple[float, float]:
        """Resident and peak resident set of the process, MB."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)

    def ready(self) -> bool:
        """/readyz answers 200, and every partition is assigned: the gauge is set once the
        states are restored, so a moment of the assignment that /readyz could see as ready
        (joined, restoring not yet marked) does not count."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as page:
                if page.status != 200:
                    return False
        except OSError:  # not serving yet, or 503 (HTTPError is an OSError)
            return False
        return metrics(self.port).get("relance_partitions_assigned") == PARTITIONS

    def until(self, check: Callable[[], bool], timeout: float, every: float = 0.2) -> float:
        """Poll ``check`` until true; the perf_counter time it first was. Fails at once if
        the worker exits meanwhile."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"the worker exited with code {self.process.returncode}; see {self.log}"
                )
            if check():
                return time.perf_counter()
            time.sleep(every)
        raise TimeoutError(f"not done within {timeout:.0f}s; see {self.log}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None:
            stop_processes([self.process])


@dataclass(frozen=True)
class Traffic:
    """What was loaded: the events, the JSON and the Avro copy of the inputs, and the
    states of a few contacts as the peers' state machine makes them."""

    events: Sequence[Event]
    topics: Mapping[str, Mapping[str, str]]  # format -> event type -> topic
    contacts: int
    reference: Mapping[str, State]
    ordered: frozenset[str]  # of the reference contacts, those who ordered

    @classmethod
    def of(
        cls, events: Sequence[Event], topics: Mapping[str, Mapping[str, str]], seed: int = 5
    ) -> Traffic:
        ids = sorted({e.contact_id for e in events})
        carting = sorted({e.contact_id for e in events if isinstance(e, CartChange)})
        rng = random.Random(seed)
        picked = set(rng.sample(ids, min(len(ids), SPOT_CHECKS // 2)))
        picked |= set(rng.sample(carting, min(len(carting), SPOT_CHECKS // 2)))
        reference: dict[str, State] = {}
        for event in events:
            if event.contact_id in picked:
                reference[event.contact_id] = apply(
                    reference.get(event.contact_id), orjson.loads(encode(event))
                )
        ordered = frozenset(
            e.contact_id for e in events if isinstance(e, Order) and e.contact_id in picked
        )
        return cls(events, topics, len(ids), reference, ordered)


@dataclass
class Result:
    name: str
    events: int
    seconds: float
    contacts: int = 0  # with a state in its changelog
    checked: int = 0  # contacts whose state matched the reference
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def run(
    name: str, broker: Broker, root: Path, traffic: Traffic, tag: str, baseline_events: int
) -> Result:
    """One run of implementation ``name``; ``tag`` names its group and topics apart."""
    if name.startswith("relance-"):
        return relance(broker, root, traffic, tag, name.removeprefix("relance-"))
    if name == "quix":
        return quix(broker, root, traffic, tag)
    if name == "hand-written":
        return handwritten(broker, root, traffic, tag)
    if name == "faust":
        return faust(broker, root, traffic, tag, baseline_events)
    raise ValueError(f"no implementation {name!r}")


def relance(broker: Broker, root: Path, traffic: Traffic, tag: str, fmt: str) -> Result:
    count = len(traffic.events)
    with Worker(
        broker, root, f"{tag}-relance-{fmt}", traffic.topics[fmt], RELANCE_INPUT_FORMAT=fmt
    ) as worker:
        worker.start()
        first = worker.until(lambda: worker.consumed() > 0, 120, every=0.05)
        last = worker.until(lambda: worker.consumed() >= count, 1800)
        rss, peak = worker.memory_mb()
    table = read_changelog(broker, worker.changelog)
    sizes = [len(value) for value in table.values()]
    result = Result(
        f"relance-{fmt}",
        count,
        last - first,
        contacts=len(table),
        extra={
            "rss_mb": rss,
            "peak_mb": peak,
            "state_bytes": sum(sizes) / max(1, len(sizes)),
            "max_state_bytes": float(max(sizes, default=0)),
        },
    )
    result.checked = check_relance(table, traffic)
    _require_all_contacts(result, traffic)
    return result


def quix(broker: Broker, root: Path, traffic: Traffic, tag: str) -> Result:
    count = len(traffic.events)
    group = f"{tag}-quix"
    out = _peer(
        root / f"{group}.log",
        [
            str(quix_python()),
            str(HERE / "quix_peer.py"),
            "--bootstrap",
            broker.bootstrap,
            "--group",
            group,
            "--state-dir",
            str(root / f"{group}-state"),
            "--topics",
            _names(traffic.topics["json"]),
            "--expect",
            str(count),
        ],
    )
    table = read_changelog(broker, _only_topic(broker, f"changelog__{group}--"))
    # Quix keys a state by the message key, a separator and the state's own key.
    states = {key.partition(b"|")[0]: value for key, value in table.items()}
    return _peer_result("quix", out, states, traffic)


def handwritten(broker: Broker, root: Path, traffic: Traffic, tag: str) -> Result:
    count = len(traffic.events)
    group = f"{tag}-hand"
    changelog = f"{group}-changelog"
    broker.create_topics([TopicSpec(changelog, PARTITIONS, compacted=True)])
    out = _peer(
        root / f"{group}.log",
        [
            sys.executable,
            str(HERE / "handwritten_peer.py"),
            "--bootstrap",
            broker.bootstrap,
            "--group",
            group,
            "--changelog",
            changelog,
            "--topics",
            _names(traffic.topics["json"]),
            "--expect",
            str(count),
        ],
    )
    return _peer_result("hand-written", out, read_changelog(broker, changelog), traffic)


def faust(broker: Broker, root: Path, traffic: Traffic, tag: str, events: int) -> Result:
    """The faust agent stops after ``events`` messages; it checks its own count only (its
    changelog is still being written when it leaves)."""
    app_id = f"{tag}-faust"
    broker.create_topics([TopicSpec(f"{app_id}-contact-state-changelog", PARTITIONS)])
    expect = min(events, len(traffic.events))
    out = _peer(
        root / f"{app_id}.log",
        [
            sys.executable,
            str(HERE / "faust_baseline.py"),
            "--broker",
            broker.url,
            "--app-id",
            app_id,
            "--data-dir",
            str(root / app_id),
            "--partitions",
            str(PARTITIONS),
            "--store",
            "memory://",
            "--topics",
            _names(traffic.topics["json"]),
            "--expect",
            str(expect),
        ],
    )
    if out["events"] != expect:
        raise RuntimeError(f"the faust agent applied {out['events']} of {expect} events")
    return Result("faust", int(out["events"]), float(out["seconds"]))


def quix_python() -> Path:
    if not QUIX_PYTHON.exists():
        raise FileNotFoundError(
            f"{QUIX_PYTHON} is missing: `make .venv-quix/.installed` "
            "builds the Quix Streams environment"
        )
    return QUIX_PYTHON


def read_changelog(broker: Broker, topic: str) -> Table:
    """The latest record of every key, all partitions together."""
    settings = load_settings(broker=broker.url, app_id="bench", partitions=PARTITIONS)
    tables = Changelog(settings, topic).recover(range(PARTITIONS))
    return {key: value for table in tables.values() for key, value in table.items()}


def check_relance(table: Table, traffic: Traffic) -> int:
    """The reference contacts' profiles, and the carts of those who never ordered."""
    checked = 0
    for contact, expected in traffic.reference.items():
        raw = table.get(contact.encode())
        if raw is None:
            raise RuntimeError(f"relance has no state for {contact}")
        state = decode_stored(raw).state
        if state.profile.email != expected["profile"].get("email"):
            raise RuntimeError(f"relance's profile of {contact}: {state.profile}")
        if contact not in traffic.ordered:
            lines = {line.product.id: line.quantity for line in state.cart.lines}
            if lines != {key: held for key, (held, _) in expected["cart"].items()}:
                raise RuntimeError(
                    f"relance's cart of {contact}: {lines}, expected {expected['cart']}"
                )
        checked += 1
    return checked


def check_peer(name: str, states: Mapping[bytes, Any], traffic: Traffic) -> int:
    """Every event applied once, and the reference contacts' states: all of it, but the
    cart of a contact who ordered (the order and the cart adds are on two topics, and the
    hand-written loop applies them as they arrive)."""
    applied = sum(state["events"] for state in states.values())
    if applied != len(traffic.events):
        raise RuntimeError(
            f"{name}'s states applied {applied:,} events, not {len(traffic.events):,}"
        )
    checked = 0
    for contact, expected in traffic.reference.items():
        state = states.get(contact.encode())
        if state is None:
            raise RuntimeError(f"{name} has no state for {contact}")
        if contact in traffic.ordered:
            state, expected = {**state, "cart": None}, {**expected, "cart": None}
        if state != expected:
            raise RuntimeError(f"{name}'s state of {contact}: {state}, expected {expected}")
        checked += 1
    return checked


def _peer_result(name: str, out: Mapping[str, Any], table: Table, traffic: Traffic) -> Result:
    states = {key: orjson.loads(value) for key, value in table.items()}
    result = Result(name, int(out["events"]), float(out["seconds"]), contacts=len(states))
    result.checked = check_peer(name, states, traffic)
    _require_all_contacts(result, traffic)
    return result


def _require_all_contacts(result: Result, traffic: Traffic) -> None:
    if result.contacts != traffic.contacts:
        raise RuntimeError(
            f"{result.name} holds states of {result.contacts:,} contacts, not {traffic.contacts:,}"
        )


def _peer(log: Path, command: list[str], timeout: float = 1800) -> dict[str, Any]:
    """Run a peer process to its end; its one JSON line. Its stderr goes to ``log``."""
    with (
        log.open("ab") as errors,
        running(command, stdout=subprocess.PIPE, stderr=errors, cwd=HERE) as process,
    ):
        out, _ = process.communicate(timeout=timeout)
    lines = out.strip().splitlines()
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"{command[1]} exited with code {process.returncode}; see {log}")
    result: dict[str, Any] = orjson.loads(lines[-1])
    return result


def _only_topic(broker: Broker, prefix: str) -> str:
    """The one topic whose name starts with ``prefix``."""
    names = [
        name
        for name in AdminClient({"bootstrap.servers": broker.bootstrap})
        .list_topics(timeout=10)
        .topics
        if name.startswith(prefix)
    ]
    if len(names) != 1:
        raise RuntimeError(f"expected one topic named {prefix}*, found {names}")
    return names[0]


def _names(topics: Mapping[str, str]) -> str:
    return ",".join(topics[kind] for kind in ("page_view", "cart", "order", "contact"))
