"""The Makefile's entry points as a newcomer types them: `make replay > file` holds only the
decided commands, `make demo ARGS=...` passes its arguments on."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]


def make(*args: str) -> subprocess.CompletedProcess[str]:
    # As typed in a shell: no MAKELEVEL or MAKEFLAGS from a `make test` around the suite (a
    # sub-make prints "Entering directory"). -o: the venv is never rebuilt here; BIN: this
    # interpreter's scripts, wherever the suite runs from.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    return subprocess.run(
        ["make", "-o", ".venv/.installed", f"BIN={Path(sys.executable).parent}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def test_make_replay_prints_only_the_decided_commands_on_stdout() -> None:
    replay = make("replay")
    lines = replay.stdout.splitlines()
    commands = [orjson.loads(line) for line in lines]  # make's echo would not parse
    assert commands and all(c["command_id"] and c["scenario"] for c in commands)
    assert "commands: browse_abandonment=" in replay.stderr


def test_make_replay_passes_its_args_to_relance_simulate() -> None:
    explained = make("replay", "ARGS=--explain").stdout.splitlines()
    assert {orjson.loads(line)["outcome"] for line in explained} == {
        "sent",
        "suppressed",
        "attributed",
    }


def test_make_demo_passes_its_args_to_relance_demo() -> None:
    planned = make("-n", "demo", "ARGS=--duration 60 --outbox mail").stdout
    assert planned.strip().endswith("relance demo --duration 60 --outbox mail")


def recipe(target: str) -> list[str]:
    makefile = (ROOT / "Makefile").read_text()
    found = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert found is not None, target
    joined = found.group(1).replace("\\\n", " ")  # a line continued with a backslash
    return [line.strip() for line in joined.splitlines() if line.strip()]


def test_the_venv_build_that_replay_may_start_prints_nothing_on_stdout() -> None:
    # On a fresh clone `make replay > file` first builds the venv: its lines must not echo,
    # and what they say goes to stderr.
    for line in recipe("$(STAMP)") + recipe("replay"):
        assert line.startswith("@"), line
    for line in recipe("$(STAMP)"):
        if "pip" in line or "echo" in line:
            assert line.endswith(">&2"), line
