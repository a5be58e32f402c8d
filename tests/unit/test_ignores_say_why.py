"""Every ``# type: ignore`` and ``# noqa`` in ``src/`` names what it silences and says why,
on its line: ``# type: ignore[code]  # reason`` or ``# noqa: CODE  # reason`` (or
``(reason)``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import relance

PACKAGE = Path(relance.__file__).parent
IGNORE = re.compile(r"#\s*(type:\s*ignore|noqa)\b(?P<rest>.*)$")
EXPLAINED = re.compile(r"(\[[\w\-, ]+\]|:\s*[A-Z]+\d+(,\s*[A-Z]+\d+)*)\s*(#\s*\S|\(\S)")


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def unexplained(path: Path) -> list[str]:
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        ignore = IGNORE.search(line)
        if ignore and not EXPLAINED.match(ignore.group("rest").strip()):
            found.append(f"{path}:{number}: {line.strip()}")
    return found


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_ignore_names_its_code_and_says_why(path: Path) -> None:
    assert unexplained(path) == []


@pytest.mark.parametrize(
    ("line", "ok"),
    [
        ("x = f()  # type: ignore[arg-type]  # the library's stub is wrong", True),
        ("def handle_DATA(self):  # noqa: N802 (aiosmtpd hook)", True),
        ("class Abandoned(Exception):  # noqa: N818  # an outcome, not an error", True),
        ("x = f()  # type: ignore[arg-type]", False),
        ("x = f()  # type: ignore", False),
        ("import os  # noqa", False),
        ("import os  # noqa: F401", False),
    ],
)
def test_the_check_tells_a_reason_from_none(tmp_path: Path, line: str, ok: bool) -> None:
    module = tmp_path / "m.py"
    module.write_text(line + "\n")
    assert (unexplained(module) == []) is ok
