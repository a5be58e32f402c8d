"""Which broker the integration suite runs against (tests/brokers.py), and the clear stop
when the environment asks for one it cannot have."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from relance.demo.broker import EmbeddedBroker, ExistingBroker

from .. import leftovers
from ..brokers import DEFAULT_IMAGE, BrokerChoiceError, Choice, broker_from, choose

ROOT = Path(__file__).resolve().parents[2]
NO_DOCKER = "unix:///nonexistent/docker.sock"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, Choice("embedded")),
        ({"RELANCE_TEST_BROKER": "embedded"}, Choice("embedded")),
        ({"RELANCE_TEST_BOOTSTRAP": "kafka:9092"}, Choice("existing", "kafka:9092")),
        ({"RELANCE_TEST_BROKER": "testcontainers"}, Choice("testcontainers", image=DEFAULT_IMAGE)),
        (
            {
                "RELANCE_TEST_BROKER": "testcontainers",
                "RELANCE_TEST_KAFKA_IMAGE": "apache/kafka:3.9.0",
            },
            Choice("testcontainers", image="apache/kafka:3.9.0"),
        ),
    ],
)
def test_the_environment_chooses_the_broker(env: dict[str, str], expected: Choice) -> None:
    assert choose(env) == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"RELANCE_TEST_BROKER": "docker"},
            "RELANCE_TEST_BROKER='docker' is not a broker the tests "
            "know (embedded, testcontainers; unset: embedded)",
        ),
        (
            {"RELANCE_TEST_BROKER": "testcontainers", "RELANCE_TEST_BOOTSTRAP": "kafka:9092"},
            "RELANCE_TEST_BROKER=testcontainers starts a broker and "
            "RELANCE_TEST_BOOTSTRAP=kafka:9092 "
            "names one: set one",
        ),
    ],
)
def test_a_contradiction_or_a_misspelling_is_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(BrokerChoiceError) as caught:
        choose(env)
    assert str(caught.value) == message


def test_the_embedded_and_an_existing_broker_are_built_without_starting(tmp_path: Path) -> None:
    assert isinstance(broker_from({}, tmp_path / "tansu.log"), EmbeddedBroker)
    with broker_from({"RELANCE_TEST_BOOTSTRAP": "kafka:9092"}, tmp_path / "x") as existing:
        assert existing == ExistingBroker("kafka:9092")


def test_testcontainers_without_a_docker_engine_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER)
    with pytest.raises(BrokerChoiceError) as caught:
        broker_from({"RELANCE_TEST_BROKER": "testcontainers"}, tmp_path / "x")
    assert str(caught.value).startswith(
        "RELANCE_TEST_BROKER=testcontainers needs a Docker engine, and none answers ("
    )
    assert str(caught.value).endswith(
        "): start Docker or set DOCKER_HOST, or unset RELANCE_TEST_BROKER for the embedded broker"
    )


def test_testcontainers_not_installed_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "testcontainers.community.kafka", None)  # import fails
    with pytest.raises(
        BrokerChoiceError,
        match=r"needs the testcontainers package .*: pip "
        r"install -e '\.\[dev\]'",
    ):
        broker_from({"RELANCE_TEST_BROKER": "testcontainers"}, tmp_path / "x")


def test_the_integration_suite_stops_at_once_with_the_reason() -> None:
    env = {**os.environ, "RELANCE_TEST_BROKER": "testcontainers", "DOCKER_HOST": NO_DOCKER}
    env.pop("RELANCE_TEST_BOOTSTRAP", None)
    # A mark of its own: the outer run's broker is not this run's leftover.
    env[leftovers.MARK] = uuid.uuid4().hex
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/integration/test_host.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    assert "integration tests: RELANCE_TEST_BROKER=testcontainers needs a Docker engine" in (
        run.stdout + run.stderr
    )
    assert " passed" not in run.stdout and " failed" not in run.stdout
