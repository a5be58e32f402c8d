"""SIGTERM, as Kubernetes sends it, in the middle of a burst of sends."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from relance.core.events import CartChange
from relance.demo.broker import Broker
from relance.demo.mailsink import MailSink

from .conftest import Stack, wait_for
from .test_live_pipeline import SHOE, now_ms, produce, profile

pytestmark = pytest.mark.integration

GRACE = 60  # the manifests' terminationGracePeriodSeconds


def test_sigterm_during_a_burst_of_sends_exits_cleanly_and_the_restart_neither_loses_nor_repeats(
    broker: Broker, tmp_path: Path
) -> None:
    contacts = [f"c{n:02d}" for n in range(30)]
    # A slow relay: a quarter second a message, so the burst is still going at SIGTERM.
    with MailSink(tmp_path / "outbox", delay=0.25) as sink:
        stack = Stack(broker, tmp_path, sink)
        try:
            stack.start("worker")
            stack.start("sender")
            t = now_ms()
            produce(stack, [profile(c, t) for c in contacts])
            produce(stack, [CartChange(f"{c}-1", c, t + 10, "add", SHOE, 1) for c in contacts])
            wait_for(lambda: len(sink.messages()) >= 3, timeout=90, every=0.05)
            # Left in stack.processes: stop_all stops them if they outlast the grace.
            processes = [stack.processes["sender"], stack.processes["worker"]]
            started = time.monotonic()
            for process in processes:
                process.terminate()
            assert [process.wait(timeout=GRACE) for process in processes] == [0, 0]
            took = time.monotonic() - started
            sent_before_restart = len(sink.messages())
            assert sent_before_restart < len(contacts), "the burst was over before SIGTERM"

            stack.start("worker")
            stack.start("sender")
            wait_for(lambda: len(sink.messages()) >= len(contacts), timeout=120)
            time.sleep(5)  # a repeated send would arrive by now
        finally:
            stack.stop_all()
    assert took < GRACE
    assert sorted(m["To"] for m in sink.messages()) == sorted(f"{c}@example.com" for c in contacts)
    assert "Traceback" not in stack.log("sender") + stack.log("worker")
