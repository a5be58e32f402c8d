"""The worker benchmark's harness: its readiness wait holds on a real worker, and neither a
failing step nor SIGTERM of the benchmark leaves a worker or the broker running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from relance.demo.broker import Broker
from relance.demo.processes import running

from .. import leftovers
from .conftest import wait_for

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))  # the benchmark imports its sibling load.py by that name

import worker_throughput  # noqa: E402  # found through the path set just above

pytestmark = pytest.mark.integration


def test_the_bench_worker_gets_ready_and_is_stopped_when_its_block_raises(
    broker: Broker, tmp_path: Path
) -> None:
    prefix = f"b{uuid.uuid4().hex[:8]}"
    with (
        pytest.raises(RuntimeError, match="a step failed"),
        worker_throughput.Worker(broker, tmp_path, prefix) as worker,
    ):
        began = worker.start()
        assert worker.until(worker.ready, timeout=90) > began
        raise RuntimeError("a step failed")
    assert worker.process is not None and worker.process.returncode is not None
    assert not leftovers.alive(worker.process.pid)


def test_sigterm_stops_the_benchmark_and_every_process_it_started(tmp_path: Path) -> None:
    """SIGTERM while the latency step runs its worker: the benchmark stops it and the broker,
    then exits (before, it died at once and left both running)."""
    mark = uuid.uuid4().hex  # its processes alone, not the rest of the test run's
    env = {**os.environ, leftovers.MARK: mark}
    output = tmp_path / "bench.out"
    (tmp_path / "run").mkdir()
    command = [
        sys.executable,
        str(BENCH / "worker_throughput.py"),
        "--contacts",
        "300",
        "--rounds",
        "1",
        "--skip",
        "baseline",
        "--skip",
        "avro",
        "--skip",
        "quix",
        "--skip",
        "hand-written",
        "--skip",
        "recovery",
        "--latency-seconds",
        "600",
        "--keep",
        str(tmp_path / "run"),
    ]
    try:
        with (
            output.open("wb") as out,
            running(command, env=env, cwd=BENCH, stdout=out, stderr=subprocess.STDOUT) as bench,
        ):
            wait_for(
                lambda: "relance worker:" in output.read_text() or bench.poll() is not None,
                timeout=180,
            )
            assert bench.poll() is None, output.read_text()
            wait_for(
                lambda: [c for c in leftovers.marked(mark).values() if "relance worker" in c],
                timeout=60,
            )
            bench.send_signal(signal.SIGTERM)
            code = bench.wait(90)
        assert code == 130, output.read_text()
        assert "interrupted" in output.read_text()
        wait_for(lambda: not leftovers.marked(mark), timeout=5, every=0.1)
    finally:
        left = leftovers.marked(mark)
        leftovers.kill(left)
    assert not left
