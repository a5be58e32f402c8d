"""relance.demo.processes: a child never outlives the block, the program or the signal that ended
them. Real child processes (Python one-liners), no fakes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from relance.demo.processes import running

from ..leftovers import alive

SLEEPS = "import time; print('up', flush=True); time.sleep(600)"
DEAF = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('up', flush=True); time.sleep(600)"
)
# A parent like a benchmark: its child started by the helper, SIGTERM and Ctrl-C turned into
# KeyboardInterrupt; it prints the child's pid once the child is up.
PARENT = """\
import sys, time
from relance.demo.processes import interrupted_by_signals, running
with interrupted_by_signals(), running([sys.executable, "-c", sys.argv[1]], grace=60,
                                       stdout=-1) as child:
    child.stdout.readline()
    print(child.pid, flush=True)
    time.sleep(600)
"""


def python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


def gone(pid: int, timeout: float = 10.0) -> bool:
    """Whether ``pid`` stops running within ``timeout`` (it may be reaped a little later)."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_the_child_is_stopped_when_the_block_raises() -> None:
    with (
        pytest.raises(RuntimeError, match="the benchmark failed"),
        running(python(SLEEPS), stdout=subprocess.PIPE) as child,
    ):
        assert child.stdout is not None and child.stdout.readline() == b"up\n"
        raise RuntimeError("the benchmark failed")
    assert child.returncode == -signal.SIGTERM


def test_a_child_deaf_to_sigterm_is_killed_after_the_grace() -> None:
    started = time.monotonic()
    with running(python(DEAF), grace=0.5, stdout=subprocess.PIPE) as child:
        assert child.stdout is not None and child.stdout.readline() == b"up\n"
    assert child.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 10


def test_what_the_child_started_stops_with_it() -> None:
    starts_another = (
        "import subprocess, sys, time; p = subprocess.Popen([sys.executable, "
        "'-c', 'import time; time.sleep(600)']); print(p.pid, flush=True); "
        "time.sleep(600)"
    )
    with running(python(starts_another), stdout=subprocess.PIPE) as child:
        assert child.stdout is not None
        grandchild = int(child.stdout.readline())
        assert alive(grandchild)
    assert gone(grandchild)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_parent_stops_its_child(sig: signal.Signals) -> None:
    with running(python(PARENT, SLEEPS), stdout=subprocess.PIPE, stderr=subprocess.PIPE) as parent:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        parent.send_signal(sig)
        parent.wait(30)
        assert gone(child, timeout=1)


def test_a_second_signal_during_the_grace_kills_at_once() -> None:
    with running(python(PARENT, DEAF), stdout=subprocess.PIPE, stderr=subprocess.PIPE) as parent:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        parent.send_signal(signal.SIGTERM)
        time.sleep(1)  # the parent is waiting out the child's 60 s grace now
        assert alive(child)
        started = time.monotonic()
        parent.send_signal(signal.SIGINT)
        parent.wait(30)
        assert time.monotonic() - started < 10
        assert gone(child, timeout=1)


def test_a_forked_worker_inherits_the_handler_but_dies_quietly() -> None:
    """A multiprocessing pool (the simulate benchmark's) is terminated with SIGTERM: its
    workers die of it as before instead of raising KeyboardInterrupt with a traceback."""
    pool = (
        "import multiprocessing\n"
        "from relance.demo.processes import interrupted_by_signals\n"
        "with interrupted_by_signals():\n"
        "    with multiprocessing.get_context('fork').Pool(2) as pool:\n"
        "        assert pool.map(abs, [-1, -2]) == [1, 2]\n"
    )
    done = subprocess.run(python(pool), capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert b"KeyboardInterrupt" not in done.stderr and b"Traceback" not in done.stderr
