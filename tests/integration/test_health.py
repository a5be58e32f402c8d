"""/healthz and /readyz on the processes' web ports, against a broker of the test's own (one
test stops it to show readiness following the broker)."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from relance.demo.broker import EmbeddedBroker
from relance.demo.mailsink import MailSink
from relance.demo.ports import free_port
from relance.kafka.membership import Membership, TopicPartitionKey

from .conftest import Stack, wait_for

pytestmark = pytest.mark.integration


def get(port: int, path: str) -> tuple[int, str]:
    """Status and body; 0 while nothing listens."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as page:
            return page.status, page.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


def port_of(stack: Stack, kind: str) -> int:
    return int(stack.env["RELANCE_WEB_PORT" if kind == "worker" else "RELANCE_SENDER_WEB_PORT"])


@pytest.mark.parametrize("kind", ["worker", "sender"])
def test_alive_at_once_ready_once_in_the_group_with_its_state(stack: Stack, kind: str) -> None:
    stack.start(kind)
    port = port_of(stack, kind)
    wait_for(lambda: get(port, "/healthz")[0] == 200, timeout=60)
    # The group join takes about half the session timeout: the first answers are "not yet".
    status, body = get(port, "/readyz")
    assert (status, "not ready") == (503, body[:9]) or status == 200
    wait_for(lambda: get(port, "/readyz") == (200, "ready\n"), timeout=60)
    assert stack.metrics(kind)["relance_ready"] == 1.0
    assert stack.metrics(kind)["relance_partitions_assigned"] >= 0
    healthcheck = [sys.executable, "-m", "relance", "healthcheck"]
    env = {
        "RELANCE_WEB_PORT": str(port_of(stack, "worker")),
        "RELANCE_SENDER_WEB_PORT": str(port_of(stack, "sender")),
    }
    assert subprocess.run([*healthcheck, "--ready"], env=env, check=False).returncode == 0
    assert (
        subprocess.run(
            [*healthcheck, "--port", str(free_port())], check=False, capture_output=True
        ).returncode
        == 1
    )


def test_the_worker_is_not_ready_while_the_broker_is_gone_and_alive_all_along(
    tmp_path: Path,
) -> None:
    with (
        EmbeddedBroker(log=tmp_path / "tansu.log") as broker,
        MailSink(tmp_path / "outbox") as sink,
    ):
        stack = Stack(broker, tmp_path, sink)
        try:
            stack.start("worker")
            port = port_of(stack, "worker")
            wait_for(lambda: get(port, "/readyz")[0] == 200, timeout=60)
            assert stack.metrics("worker")["relance_partitions_assigned"] == 4
            assert stack.metrics("worker")["relance_state_recovery_seconds"] > 0
            broker.stop()
            _, body = wait_for(
                lambda: (answer := get(port, "/readyz"))[0] == 503 and answer, timeout=30
            )
            assert f"the broker {broker.bootstrap} does not answer: " in body
            assert get(port, "/healthz") == (200, "ok\n")
            assert stack.metrics("worker")["relance_ready"] == 0.0
        finally:
            stack.stop_all()


class Watched(Membership):
    """The real membership, noting what /readyz would answer after each change of
    ``joined`` or ``restoring`` (the web thread may ask at any of those moments)."""

    def __init__(self, member: Any) -> None:
        self.answers: list[Any] = []
        super().__init__(member, restored="the test's state", held=lambda count: None)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name in ("joined", "restoring") and "restoring" in self.__dict__:
            self.answers.append(self.problems())


class Restoring:
    """A loop whose restore takes a while, and says when it is done."""

    def __init__(self) -> None:
        self.membership: Watched | None = None

    def restore(self, consumer: Consumer, partitions: list[TopicPartition]) -> str:
        time.sleep(0.5)
        assert self.membership is not None
        self.membership.answers.append("restored")
        return ""

    def settle(self, revoked: set[TopicPartitionKey]) -> Mapping[TopicPartitionKey, int]:
        return {}

    def release(
        self, consumer: Consumer, gone: set[TopicPartitionKey], partitions: set[int]
    ) -> None: ...


def test_a_member_is_never_ready_before_its_partitions_are_restored(stack: Stack) -> None:
    member = Restoring()
    watched = member.membership = Watched(member)
    consumer = Consumer(
        {
            "bootstrap.servers": stack.broker.bootstrap,
            "group.id": f"{stack.prefix}-membership",
            "session.timeout.ms": 6000,
            "enable.auto.commit": False,
        }
    )
    try:
        watched.subscribe(consumer, [stack.topic("carts")])
        deadline = time.monotonic() + 60
        while not watched.assigned and time.monotonic() < deadline:
            consumer.consume(10, 0.5)
        assert len(watched.assigned) == 4
    finally:
        consumer.close()
    ready = watched.answers.index([])
    assert watched.answers.index("restored") < ready, watched.answers
    assert all(answer != [] for answer in watched.answers[:ready])
