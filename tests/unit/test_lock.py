"""requirements.lock (``make lock``) pins what the image installs: every dependency of
pyproject.toml at a version it allows, each with its hashes, for the image's Python, and
nothing of the extras."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def pinned() -> dict[str, tuple[str, list[str]]]:
    """Each locked package: its version and the hashes that follow it."""
    found: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match[1])
            found[current] = (match[2], [])
        elif line.strip().startswith("--hash=") and current is not None:
            found[current][1].append(line.strip().removeprefix("--hash=").rstrip(" \\"))
        elif line.strip() and not line.lstrip().startswith("#"):
            current = None
    return found


def project() -> dict[str, object]:
    data: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    return data


def test_every_dependency_is_pinned_at_a_version_it_allows() -> None:
    locked = pinned()
    dependencies = project()["project"]["dependencies"]  # type: ignore[index]
    assert dependencies
    for text in dependencies:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock: run make lock"
        version, _ = locked[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{name}=={version} does not satisfy {text}: run make lock"
        )


def test_every_pin_carries_its_hashes() -> None:
    locked = pinned()
    assert len(locked) > 20
    for name, (_, hashes) in locked.items():
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name


def test_nothing_of_the_extras_is_locked() -> None:
    extras = project()["project"]["optional-dependencies"]  # type: ignore[index]
    names = {
        canonicalize_name(Requirement(text).name) for group in extras.values() for text in group
    } - {"relance"}
    assert names and not names & set(pinned())


def test_the_lock_is_for_the_python_of_the_image() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    (locked,) = re.findall(r"--python-version (3\.\d+)", makefile)
    bases = re.findall(
        r"^FROM python:(3\.\d+)-slim", (ROOT / "Dockerfile").read_text("utf-8"), re.MULTILINE
    )
    assert bases and set(bases) == {locked}
