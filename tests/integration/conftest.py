"""The live pipeline on real parts: the embedded broker, worker and sender processes, an SMTP
sink. Each test gets its own topics, consumer groups and outbox on one shared broker.

No process a test starts outlives it: each test ends with a check that none it started (or
that those started) still runs, and the session with one for the broker and the rest;
SIGTERM of pytest tears down like Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer

from relance.demo.broker import Broker
from relance.demo.mailsink import MailSink
from relance.demo.ports import free_port
from relance.demo.processes import interrupted_by_signals, spawn, stop_processes
from relance.demo.run import metrics as scrape_metrics
from relance.kafka.topics import TopicSpec

from .. import leftovers
from ..brokers import BrokerChoiceError, broker_from

# Inherited by every process the run starts: how a leftover is told from other users'.
RUN = os.environ.setdefault(leftovers.MARK, uuid.uuid4().hex)

PARTITIONS = 4
# Each test's topics (prefixed with its own id by ``Stack.topic``).
TOPICS = (
    "page-views",
    "carts",
    "orders",
    "contacts",
    "catalog",
    "engagement",
    "relance-deliveries",
    "relance-dlq",
    "relance-delivery-results",
    "relance-decisions",
)
# What a sender needs to send marketing email: the shop's name and address (the footer) ...
BRAND = "brand: {name: Test Shop, address: '1 Test Street, 75000 Paris'}\n"
SCENARIOS = (
    """\
scenarios:
  cart_abandonment:   {delay: 4s, quiet_period: 1h}
  browse_abandonment: {delay: 4s, quiet_period: 1h}
"""
    + BRAND
)
# ... and the gateway that serves its unsubscribe links, with the key that signs them.
GATEWAY_URL = "https://links.shop.example"
LINK_KEYS = "test:0123456789abcdef0123"


@pytest.fixture(scope="session", autouse=True)
def nothing_left_by_the_session() -> Iterator[None]:
    """Set up first, torn down last: after the broker and every other fixture."""
    with interrupted_by_signals():
        yield
    _fail_if_left(leftovers.marked(RUN), "the test session")


@pytest.fixture(autouse=True)
def nothing_left_by_the_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Torn down after the test's other fixtures (a Stack's processes, a Prometheus)."""
    before = set(leftovers.marked(RUN))
    yield
    left = {pid: command for pid, command in leftovers.marked(RUN).items() if pid not in before}
    _fail_if_left(left, request.node.nodeid)


def _fail_if_left(left: dict[int, str], who: str) -> None:
    if left:
        leftovers.kill(left)
        pytest.fail(
            f"{who} left processes running (now killed): "
            + "; ".join(f"{pid} {command}" for pid, command in left.items()),
            pytrace=False,
        )


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """The embedded broker; RELANCE_TEST_BOOTSTRAP=host:port runs the same tests against a
    Kafka that is already running, RELANCE_TEST_BROKER=testcontainers against Apache Kafka
    in a container (tests/brokers.py). A broker that cannot be had stops the run, saying why."""
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    try:
        chosen = broker_from(os.environ, log)
    except BrokerChoiceError as error:
        pytest.exit(f"integration tests: {error}", returncode=pytest.ExitCode.USAGE_ERROR)
    with chosen as running:
        yield running


def wait_for(check: Callable[[], Any], timeout: float = 60.0, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {check}")
        time.sleep(every)


@dataclass
class Stack:
    """One test's relance deployment: its settings, processes, SMTP sink and topics."""

    broker: Broker
    root: Path
    sink: MailSink
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}")
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def topic(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def __post_init__(self) -> None:
        scenarios = self.root / "scenarios.yaml"
        scenarios.write_text(SCENARIOS)
        self.env = {
            "RELANCE_BROKER": self.broker.url,
            "RELANCE_APP_ID": self.prefix,
            "RELANCE_PARTITIONS": str(PARTITIONS),
            "RELANCE_SESSION_TIMEOUT": "6",
            "RELANCE_COMMIT_INTERVAL": "0.5",
            "RELANCE_WEB_PORT": str(free_port()),
            "RELANCE_SENDER_WEB_PORT": str(free_port()),
            "RELANCE_SMTP_HOST": "127.0.0.1",
            "RELANCE_SMTP_PORT": str(self.sink.port),
            "RELANCE_MAIL_FROM": "Shop <shop@example.com>",
            "RELANCE_SCENARIOS": str(scenarios),
            "RELANCE_RETRY_BACKOFF": "0.2",
            "RELANCE_GATEWAY_URL": GATEWAY_URL,
            "RELANCE_LINK_KEYS": LINK_KEYS,
        }
        for name in TOPICS:
            key = "RELANCE_TOPIC_" + {
                "relance-deliveries": "DELIVERIES",
                "relance-dlq": "DLQ",
                "relance-delivery-results": "RESULTS",
                "relance-decisions": "DECISIONS",
            }.get(name, name.upper().replace("-", "_"))
            self.env[key] = self.topic(name)
        self.broker.create_topics(self.specs())

    def specs(self) -> list[TopicSpec]:
        """This test's topics as the broker gets them (the profiles and the catalog compacted)."""
        return [
            TopicSpec(self.topic(name), PARTITIONS, compacted=name in ("contacts", "catalog"))
            for name in TOPICS
        ]

    def start(
        self, kind: str, *, name: str | None = None, **overrides: str
    ) -> subprocess.Popen[bytes]:
        """Start ``relance worker`` or ``relance sender``; ``name`` tells apart two of a kind."""
        name = name or kind
        process = spawn(
            [sys.executable, "-m", "relance", kind],
            log=self.root / f"{name}.log",
            env={**os.environ, **self.env, **overrides},
            cwd=self.root,
        )
        self.processes[name] = process
        return process

    def kill(self, kind: str) -> None:
        """SIGKILL; forgotten once it is dead, so a failed wait still leaves it to stop_all."""
        process = self.processes[kind]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        del self.processes[kind]

    def stop_all(self) -> None:
        stop_processes(self.processes.values())
        self.processes.clear()

    def metrics(self, kind: str) -> dict[str, float]:
        """The process's /metrics, as {'name{labels}': value}; empty while it is not up."""
        port = self.env["RELANCE_WEB_PORT" if kind == "worker" else "RELANCE_SENDER_WEB_PORT"]
        return scrape_metrics(int(port))

    def log(self, kind: str) -> str:
        return (self.root / f"{kind}.log").read_text(errors="replace")

    def producer(self) -> Producer:
        # murmur2 like faust and the Java clients, so every input keys a contact to one
        # partition; one record per batch because Tansu reports end offsets per batch.
        return Producer(
            {
                "bootstrap.servers": self.broker.bootstrap,
                "partitioner": "murmur2_random",
                "batch.num.messages": 1,
                "linger.ms": 0,
            }
        )

    def consumer(self, topic: str) -> Consumer:
        consumer = Consumer(
            {
                "bootstrap.servers": self.broker.bootstrap,
                "group.id": f"{self.prefix}-reader-{uuid.uuid4().hex[:6]}",
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 6000,
                "enable.auto.commit": False,
            }
        )
        consumer.subscribe([self.topic(topic)])
        return consumer


@pytest.fixture
def stack(broker: Broker, tmp_path: Path) -> Iterator[Stack]:
    with MailSink(tmp_path / "outbox") as sink:
        deployment = Stack(broker, tmp_path, sink)
        try:
            yield deployment
        finally:
            deployment.stop_all()


def read_all(consumer: Consumer, count: int, timeout: float = 60.0) -> list[Any]:
    """Read ``count`` messages (or fail after ``timeout``)."""
    messages: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(messages) < count and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            messages.append(message)
    assert len(messages) >= count, f"read {len(messages)} of {count} messages"
    return messages


def read_rest(consumer: Consumer, seconds: float = 3.0) -> list[Any]:
    """Whatever else arrives within ``seconds`` (a check that nothing more was written)."""
    messages: list[Any] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = consumer.poll(0.25)
        if message is not None and message.error() is None:
            messages.append(message)
    return messages
