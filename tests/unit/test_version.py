"""One version, pyproject.toml's: what the package metadata, ``relance --version`` and the
``relance_build_info`` gauge say."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

import relance
from relance.cli import main
from relance.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]


def test_the_version_is_the_one_in_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert relance.__version__ == version("relance") == project["project"]["version"]


def test_relance_version_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"relance {relance.__version__}\n"


def test_build_info_is_one_labelled_with_the_version() -> None:
    registry = CollectorRegistry()
    Metrics.create(registry)
    assert registry.get_sample_value("relance_build_info", {"version": relance.__version__}) == 1.0
    samples = [
        s
        for family in registry.collect()
        if family.name == "relance_build_info"
        for s in family.samples
    ]
    assert len(samples) == 1
