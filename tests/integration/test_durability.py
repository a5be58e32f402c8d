"""No failure commits past what was not stored: the real ``BatchLoop`` on the embedded broker,
with a failure injected in the settle step (a changelog record refused, or an exception once
the round's states are in memory and before they are written). The loop stops without
committing past the unstored work, and a fresh loop then decides exactly the commands of
``relance simulate``."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition
from prometheus_client import CollectorRegistry

from relance.cli import load_config
from relance.codec import json as json_codec
from relance.codec.outputs import AvroOutputCodec
from relance.core.commands import SendCommand
from relance.core.events import Event
from relance.demo.samples import traffic
from relance.errors import BrokerError
from relance.kafka import clients as kafka
from relance.kafka.changelog import Changelog
from relance.kafka.outputs import Outputs, RecordRefusedError
from relance.metrics import Metrics
from relance.settings import Settings
from relance.wiring import MetricsObserver, input_decoder, output_codec
from relance.worker.build import build_loop, changelog_topic, inputs_of, wall_clock_ms
from relance.worker.loop import BatchLoop
from relance.worker.pipeline import Decode
from relance.worker.store import Stored, decode_stored

from .conftest import Stack, wait_for
from .test_live_pipeline import produce

pytestmark = pytest.mark.integration

CONTACTS = 100


class InjectedError(BrokerError):
    """The failure the test injects."""


class RefusingOutputs(Outputs):
    """The worker's real outputs on a real producer, except that once ``armed`` the next
    changelog write produces the first half of its records and then fails as a produce
    refused for good would: the other half is never stored. With ``commands_refused``, a
    command is not produced and its delivery report says it was refused, as the broker's
    would for a record it did not take: the next ``wait`` raises."""

    armed = False
    commands_refused = False

    def command(self, command: SendCommand) -> None:
        if self.commands_refused:
            self._failed.append(f"{self.deliveries}: injected refusal of {command.command_id}")
            return
        super().command(command)

    def write(self, topic: str, partition: int, records: Iterable[tuple[bytes, bytes]]) -> None:
        records = list(records)
        if self.armed:
            half = len(records) // 2
            super().write(topic, partition, records[:half])
            raise InjectedError(
                f"{topic}[{partition}]: injected refusal of {len(records) - half} records"
            )
        super().write(topic, partition, records)


def settings_of(stack: Stack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        key.removeprefix("RELANCE_").lower(): value for key, value in stack.env.items()
    }
    return Settings(**{**values, **overrides})


def new_loop(
    settings: Settings, *, observer: MetricsObserver | None = None, decode: Decode | None = None
) -> tuple[BatchLoop, RefusingOutputs]:
    config = load_config(str(settings.scenarios))
    outputs = RefusingOutputs(
        kafka.producer(settings),
        output_codec(settings),
        deliveries=settings.topic_deliveries,
        dlq=settings.topic_dlq,
        decisions=settings.topic_decisions or None,
        clock=wall_clock_ms,
    )
    loop = build_loop(
        settings,
        config,
        decode=decode or input_decoder(settings, config.inputs),
        outputs=outputs,
        observer=observer or MetricsObserver(Metrics.create(CollectorRegistry())),
    )
    return loop, outputs


class Running:
    """``loop.run`` in a thread, with what it raised."""

    def __init__(self, loop: BatchLoop) -> None:
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(loop,), daemon=True)
        self.thread.start()

    def _run(self, loop: BatchLoop) -> None:
        try:
            loop.run(self.stopping)
        except BaseException as exc:
            self.error = exc

    def stop(self, timeout: float = 60) -> None:
        self.stopping.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive()


def committed(stack: Stack, topics: Iterable[str], partitions: int) -> dict[tuple[str, int], int]:
    reader = Consumer(
        {"bootstrap.servers": stack.broker.bootstrap, "group.id": f"{stack.prefix}-worker"}
    )
    try:
        found = reader.committed(
            [TopicPartition(t, p) for t in topics for p in range(partitions)], timeout=10
        )
        return {(tp.topic, tp.partition): tp.offset for tp in found}
    finally:
        reader.close()


def simulated(stack: Stack, events: list[Event], folder: Path) -> dict[str, Any]:
    events_file = folder / "events.jsonl"
    events_file.write_bytes(b"".join(json_codec.encode(e) + b"\n" for e in events))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "relance",
            "simulate",
            "--events",
            str(events_file),
            "--config",
            stack.env["RELANCE_SCENARIOS"],
            "--until",
            "2030-01-01T00:00:00Z",
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    records = [orjson.loads(line) for line in run.stdout.splitlines()]
    return {record["command_id"]: record for record in records}


class Deliveries:
    """Every record of the delivery topic, decoded, as it arrives."""

    def __init__(self, stack: Stack) -> None:
        self.consumer = stack.consumer("relance-deliveries")
        self.codec = AvroOutputCodec()
        self.records: list[dict[str, Any]] = []

    def read(self, seconds: float = 0.5) -> list[dict[str, Any]]:
        for message in self.consumer.consume(10_000, seconds):
            if message.error() is None:
                self.records.append(self.codec.decode_command(message.value()))
        return self.records

    def ids(self) -> set[str]:
        return {record["command_id"] for record in self.read()}


def durable_states(settings: Settings) -> dict[bytes, Stored]:
    """Every contact's state as the changelog holds it (read as a worker recovers it)."""
    tables = Changelog(settings, changelog_topic(settings)).recover(range(settings.partitions))
    return {key: decode_stored(raw) for table in tables.values() for key, raw in table.items()}


def not_stored(
    at_failure: dict[bytes, Stored], final: dict[bytes, Stored], inputs: tuple[str, ...]
) -> dict[tuple[str, int], int]:
    """Per input topic-partition, the least offset of an event whose effect on a state is in
    the final states but was not in the changelog when the loop failed: no commit may have
    passed it."""
    least: dict[tuple[str, int], int] = {}
    for key, state in final.items():
        before = at_failure.get(key)
        for index, offset in enumerate(state.offsets):
            if offset >= 0 and (before is None or before.offsets[index] != offset):
                place = (inputs[index], state.partition)
                least[place] = min(offset, least.get(place, offset))
    return least


class FailingObserver(MetricsObserver):
    """The worker's metrics, raising (as a bug would) in the settle step of the first round
    after ``after`` events were applied: ``pending`` is reported once the round's states are
    in the in-memory table and before their changelog records are written."""

    def __init__(self, after: int) -> None:
        super().__init__(Metrics.create(CollectorRegistry()))
        self.after = after
        self.applied_events = 0
        self.raised = False

    def applied(self, count: int = 1) -> None:
        self.applied_events += count
        super().applied(count)

    def pending(self, deadlines: int) -> None:
        if self.applied_events >= self.after and not self.raised:
            self.raised = True
            raise RuntimeError(f"injected failure after {self.applied_events} events applied")
        super().pending(deadlines)


@pytest.mark.parametrize("failure", ["changelog_refused", "exception_in_settle", "command_refused"])
def test_a_failure_commits_nothing_past_unstored_work_and_the_restart_decides_as_simulate(
    stack: Stack, tmp_path: Path, failure: str
) -> None:
    events = traffic.generate(CONTACTS)
    expected = simulated(stack, events, tmp_path)
    assert len(expected) > 20
    # Two halves of the contacts (contacts are independent): the first is handled and
    # committed undisturbed, the failure comes with the second, produced while no loop runs
    # so that it is read as history (live, a topic read to its end counts as caught up while
    # the next records are still on their way, and the order of events may differ).
    first_half = {f"contact-{n}" for n in range(0, CONTACTS, 2)}
    before = [event for event in events if event.contact_id in first_half]
    after = [event for event in events if event.contact_id not in first_half]
    settings = settings_of(stack, batch_size=50, commit_interval=0.05)
    inputs = inputs_of(settings).names
    deliveries = Deliveries(stack)
    try:
        # The first half, read live and committed; a clean stop; the second half produced.
        earlier, _ = new_loop(settings)
        running = Running(earlier)
        produce(stack, before)
        wait_for(
            lambda: (
                sum(max(0, o) for o in committed(stack, inputs, settings.partitions).values())
                == len(before)
            ),
            timeout=120,
        )
        running.stop()
        assert running.error is None
        produce(stack, after)
        at_start = committed(stack, inputs, settings.partitions)

        if failure == "changelog_refused":
            loop, outputs = new_loop(settings)
            outputs.armed = True
        elif failure == "command_refused":
            # Acknowledged once per commit interval: a refusal must stop the loop before the
            # states of the refused commands' events are stored, or those commands are lost.
            loop, outputs = new_loop(settings)
            outputs.commands_refused = True
        else:
            loop, outputs = new_loop(settings, observer=FailingObserver(after=100))
        failing = Running(loop)
        failing.thread.join(120)
        assert not failing.thread.is_alive(), "the loop went on after the failure"
        assert isinstance(failing.error, (InjectedError, RecordRefusedError, RuntimeError)), (
            failing.error
        )
        assert loop.failure is failing.error
        stopped = committed(stack, inputs, settings.partitions)
        assert all(stopped[key] >= at_start[key] for key in stopped)
        at_failure = durable_states(settings)
        first_run = len(deliveries.read(2))

        second_loop, _ = new_loop(settings)
        second = Running(second_loop)
        # Done when every event is committed (so applied and stored) and every command out.
        wait_for(
            lambda: (
                sum(max(0, o) for o in committed(stack, inputs, settings.partitions).values())
                == len(events)
            ),
            timeout=180,
        )
        deadline = time.monotonic() + 60
        while not deliveries.ids() >= set(expected) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # a command decided twice or a stray one would be here by now
        records = deliveries.read(1)
        second.stop()
        assert second.error is None
        limits = not_stored(at_failure, durable_states(settings), inputs)
        assert limits, (
            "the restart stored nothing the failed loop had not: what that loop "
            "read after its last stored round was committed past, or lost"
        )
        for key, offset in limits.items():
            assert stopped[key] <= offset, (
                f"{key} committed at {stopped[key]}, past an unstored event at {offset}"
            )
    finally:
        deliveries.consumer.close()
    ids = [record["command_id"] for record in records]
    missing = sorted(set(expected) - set(ids))
    assert set(ids) == set(expected), (
        missing[:5],
        [expected[i] for i in missing[:3]],
        sorted(set(ids) - set(expected))[:5],
    )
    mismatched = [record for record in records if record != expected[record["command_id"]]]
    assert not mismatched, (mismatched[0], expected[mismatched[0]["command_id"]])
    duplicated = len(ids) - len(set(ids))
    print(
        f"\n{failure}: events {len(events)}, commands {len(expected)} (simulate), "
        f"records {len(ids)} ({first_run} before the restart), lost "
        f"{len(set(expected) - set(ids))}, duplicated {duplicated} (same id and payload)"
    )
