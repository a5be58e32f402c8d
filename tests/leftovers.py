"""Processes a test run started and left running, found by a mark in their environment.

The integration conftest puts ``MARK`` into the test run's environment. Every process the run
starts inherits it, and so does every process those start, even once a dead parent has left
it to init: a leftover is found however far down it was started. The name does not start
with ``RELANCE_``, as ``relance demo`` passes none of those to its children.
"""

from __future__ import annotations

import os
import signal
from contextlib import suppress
from pathlib import Path

MARK = "TEST_RUN_MARK"
PROC = Path("/proc")


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def marked(mark: str) -> dict[int, str]:
    """Running processes whose environment holds ``MARK=mark``, but this one: pid -> command."""
    entry = f"{MARK}={mark}".encode()
    found: dict[int, str] = {}
    for folder in PROC.iterdir():
        if not folder.name.isdigit() or int(folder.name) == os.getpid():
            continue
        try:
            if entry not in (folder / "environ").read_bytes().split(b"\0"):
                continue
            command = (
                (folder / "cmdline")
                .read_bytes()
                .replace(b"\0", b" ")
                .decode(errors="replace")
                .strip()
            )
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if alive(int(folder.name)):
            found[int(folder.name)] = command
    return found


def kill(pids: dict[int, str]) -> None:
    """SIGKILL each of ``pids`` (found by ``marked``, so started by this run)."""
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
