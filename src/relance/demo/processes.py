"""Child processes that do not outlive what started them, whatever fails.

The demo, the benchmarks and the integration tests start the embedded broker, workers,
senders and faust agents. Each child leads a process group of its own: Ctrl-C in a terminal
reaches the parent only, which stops its children in order, and the stop signal reaches
whatever a child started in its group. Stopping is SIGTERM, a grace period, then SIGKILL;
an interruption during the grace (a second Ctrl-C) goes straight to SIGKILL, so nothing is
left running either way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Any

STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def spawn(
    args: Sequence[str], *, log: Path | None = None, **options: Any
) -> subprocess.Popen[bytes]:
    """Start ``args`` in a process group of its own; stdout and stderr appended to ``log``
    unless ``options`` (any ``subprocess.Popen`` keyword) say otherwise."""
    if log is None:
        return subprocess.Popen(args, start_new_session=True, **options)
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            args, start_new_session=True, **{"stdout": out, "stderr": subprocess.STDOUT, **options}
        )


@contextmanager
def running(
    args: Sequence[str], *, grace: float = 15.0, log: Path | None = None, **options: Any
) -> Iterator[subprocess.Popen[bytes]]:
    """``spawn`` for the block; stopped when it ends, by an exception or an interrupt too."""
    process = spawn(args, log=log, **options)
    try:
        yield process
    finally:
        stop_processes([process], grace)


def stop_processes(processes: Iterable[subprocess.Popen[bytes]], grace: float = 15.0) -> None:
    """SIGTERM every process still running, wait up to ``grace`` seconds for all of them,
    then SIGKILL what is left; an exception while waiting (Ctrl-C) kills at once."""
    left = [process for process in processes if process.poll() is None]
    try:
        for process in left:
            _signal(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in left:
            with suppress(subprocess.TimeoutExpired):
                process.wait(max(0.0, deadline - time.monotonic()))
    finally:
        for process in left:
            if process.poll() is None:
                _signal(process, signal.SIGKILL)
                process.wait()


def _signal(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """The process's group when it leads one (``spawn``), else the process alone: never the
    caller's own group."""
    with suppress(ProcessLookupError):  # it exited since poll()
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)


@contextmanager
def interrupted_by_signals() -> Iterator[None]:
    """SIGTERM (and SIGINT) raise ``KeyboardInterrupt`` in the block, so the ``finally``
    blocks and context managers that stop children run when the program itself is stopped.
    The previous handlers are put back at the end.

    A child forked by the block (a multiprocessing pool) inherits the handler but not the
    block: there the signal does what it did before.
    """
    owner = os.getpid()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != owner:
            signal.signal(signum, previous[signal.Signals(signum)] or signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in STOPPING_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
