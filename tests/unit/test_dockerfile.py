"""The Dockerfile, read by a parser: stages, user, volume, entry point, health check, and
what it copies from the build context."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
from dockerfile_parse import DockerfileParser

from relance.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

Instruction = dict[str, Any]


def instructions() -> list[Instruction]:
    return [
        i
        for i in DockerfileParser(path=str(ROOT / "Dockerfile")).structure
        if i["instruction"] != "COMMENT"
    ]


def stages() -> list[list[Instruction]]:
    found: list[list[Instruction]] = []
    for instruction in instructions():
        if instruction["instruction"] == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def final(name: str) -> list[Instruction]:
    return [i for i in stages()[-1] if i["instruction"] == name]


def words(value: str) -> list[str]:
    """An exec-form (JSON) or shell-form argument list."""
    text = value.strip()
    return [str(w) for w in json.loads(text)] if text.startswith("[") else shlex.split(text)


def without_flags(value: str) -> tuple[list[str], list[str]]:
    parts = words(value)
    flags = [p for p in parts if p.startswith("--")]
    return flags, [p for p in parts if not p.startswith("--")]


def test_the_image_is_built_in_two_stages_on_a_slim_python() -> None:
    bases = [stage[0]["value"].split()[0] for stage in stages()]
    assert len(bases) >= 2
    assert all(re.fullmatch(r"python:3\.1\d+-slim(-\w+)?", base) for base in bases), bases


def test_the_runtime_stage_installs_the_wheel_the_builder_made() -> None:
    builder = " ".join(i["value"] for i in stages()[0] if i["instruction"] == "RUN")
    assert "pip wheel" in builder or "build --wheel" in builder
    assert any("pip install" in i["value"] and ".whl" in i["value"] for i in final("RUN"))


def test_the_builder_copies_everything_the_wheel_build_reads() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = [
        "pyproject.toml",
        project["project"]["readme"],
        *wheel["packages"],
        *wheel.get("force-include", {}),
    ]
    copied = [Path(source) for source in copy_sources(stages()[0])]
    for path in map(Path, needed):
        assert any(path == source or source in path.parents for source in copied), path


def test_the_dependencies_are_the_locked_ones_with_their_hashes_checked() -> None:
    assert "requirements.lock" in copy_sources(stages()[0])
    builder = " ".join(i["value"] for i in stages()[0] if i["instruction"] == "RUN")
    assert "--require-hashes" in builder and "requirements.lock" in builder
    commands = [command.strip() for i in final("RUN") for command in i["value"].split("&&")]
    locked = [c for c in commands if "pip install" in c and "requirements.lock" in c]
    assert locked and all("--require-hashes" in c and "--no-index" in c for c in locked)
    # The wheel itself brings nothing the lock did not pin, and pip checks they agree.
    wheel = [c for c in commands if "pip install" in c and ".whl" in c]
    assert wheel and all("--no-deps" in c for c in wheel)
    assert commands.index(locked[0]) < commands.index(wheel[0])
    assert any(c.endswith("pip check") for c in commands[commands.index(wheel[0]) :])


def test_the_process_runs_as_a_numeric_non_root_user_set_before_the_entrypoint() -> None:
    stage = stages()[-1]
    users = [n for n, i in enumerate(stage) if i["instruction"] == "USER"]
    entrypoint = next(n for n, i in enumerate(stage) if i["instruction"] == "ENTRYPOINT")
    assert users and users[-1] < entrypoint
    uid = stage[users[-1]]["value"].split(":")[0]
    assert uid.isdigit() and int(uid) != 0


def test_the_image_declares_no_volume_as_nothing_is_kept_on_disk() -> None:
    """States and the ledger are rebuilt from their changelog topics; faust keeps no files."""
    assert final("VOLUME") == []
    envs = DockerfileParser(path=str(ROOT / "Dockerfile")).envs
    assert not [name for name in envs if name.startswith("RELANCE_")]


def test_the_image_installs_the_plain_wheel_without_the_demo_extra() -> None:
    installs = [i["value"] for i in final("RUN") if "pip install" in i["value"]]
    assert installs
    assert not any("[" in value or "demo" in value for value in installs)


def test_relance_is_the_entrypoint_and_the_worker_the_default_command() -> None:
    (entrypoint,) = final("ENTRYPOINT")
    (cmd,) = final("CMD")
    assert words(entrypoint["value"]) == ["relance"]
    assert words(cmd["value"]) == ["worker"]


def test_both_web_ports_are_exposed() -> None:
    exposed = {int(port.split("/")[0]) for i in final("EXPOSE") for port in i["value"].split()}
    fields = Settings.model_fields
    assert {fields["web_port"].default, fields["sender_web_port"].default} <= exposed


def test_the_health_check_asks_the_process_own_health_endpoint() -> None:
    (check,) = final("HEALTHCHECK")
    command = check["value"].split("CMD", 1)[1]
    assert words(command)[:2] == ["relance", "healthcheck"] or "/healthz" in command


def copy_sources(stage: list[Instruction]) -> list[str]:
    sources: list[str] = []
    for instruction in stage:
        if instruction["instruction"] not in ("COPY", "ADD"):
            continue
        flags, paths = without_flags(instruction["value"])
        if not any(flag.startswith("--from=") for flag in flags):
            sources += paths[:-1]
    return sources


def ignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """.dockerignore as Docker reads it: the last matching line wins, `!` keeps."""
    patterns = []
    for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        glob = line.removeprefix("!").strip().strip("/")
        regex = ""
        for token in re.split(r"(\*\*/?|\*|\?|\[[^]]*\])", glob):
            if token.startswith("[") and len(token) > 2:
                body = token[1:-1]
                regex += "[" + ("^" + body[1:] if body[0] in "!^" else body) + "]"
                continue
            regex += {"**/": "(.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                token, re.escape(token)
            )
        patterns.append((keep, re.compile(regex)))
    return patterns


def ignored(path: str) -> bool:
    """A path is out when it or a folder above it is matched (Docker's rule)."""
    parts = Path(path).parts
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    verdict = False
    for keep, pattern in ignore_patterns():
        if any(pattern.fullmatch(prefix) for prefix in prefixes):
            verdict = not keep
    return verdict


@pytest.mark.parametrize(
    ("path", "out"),
    [
        (".venv/bin/python", True),
        ("src/relance/__pycache__/cli.cpython-311.pyc", True),
        ("src/relance/cli.pyc", True),
        ("outbox/1.eml", True),
        ("src/relance/cli.py", False),
        ("README.md", False),
    ],
)
def test_the_dockerignore_reading_follows_docker(path: str, out: bool) -> None:
    assert ignored(path) is out


def test_every_copied_file_exists_and_is_in_the_build_context() -> None:
    sources = [s for stage in stages() for s in copy_sources(stage)]
    assert sources
    for source in sources:
        path = ROOT / source
        assert path.exists(), source
        assert not ignored(source), f"{source} is excluded by .dockerignore"
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
        kept = [
            f
            for f in files
            if "__pycache__" not in f.parts
            and not any(part.endswith(".egg-info") for part in f.parts)
        ]
        for file in kept:
            assert not ignored(file.relative_to(ROOT).as_posix()), file
