"""The process faust hosts around each loop: its pages answer, it keeps no files (no data
directory, no volume needed), and SIGTERM stops the loop and the catalog follower."""

from __future__ import annotations

import pytest

import relance

from .conftest import Stack, wait_for
from .test_health import get

pytestmark = pytest.mark.integration


def test_worker_and_sender_serve_their_pages_keep_no_files_and_stop_on_sigterm(
    stack: Stack,
) -> None:
    before = {path.name for path in stack.root.iterdir()}
    stack.start("worker")
    stack.start("sender")  # the stack has a catalog topic: the sender follows it
    for variable in ("RELANCE_WEB_PORT", "RELANCE_SENDER_WEB_PORT"):
        port = int(stack.env[variable])
        wait_for(lambda port=port: get(port, "/readyz") == (200, "ready\n"), timeout=90)
        assert get(port, "/healthz") == (200, "ok\n")
        status, page = get(port, "/metrics")
        assert status == 200
        assert "relance_ready 1.0" in page.splitlines()
        assert f'relance_build_info{{version="{relance.__version__}"}} 1.0' in page.splitlines()
    # Left in stack.processes: stop_all stops them if they outlast the wait.
    processes = [stack.processes["sender"], stack.processes["worker"]]
    for process in processes:
        process.terminate()
    assert [process.wait(timeout=60) for process in processes] == [0, 0]
    # Their working directory is the test's folder: only their logs are new.
    assert {path.name for path in stack.root.iterdir()} - before == {"worker.log", "sender.log"}
    assert "Traceback" not in stack.log("worker") + stack.log("sender")
    for kind in ("worker", "sender"):
        first = stack.log(kind).splitlines()[0]
        assert f"relance {relance.__version__} {kind} starting (Python " in first, first
