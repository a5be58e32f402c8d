"""The broker the integration tests run against, as the environment asks (docs/testing.md):

- nothing set: the embedded broker (Tansu, from the demo extra), as CI runs them;
- ``RELANCE_TEST_BOOTSTRAP=host:port``: a Kafka that is already running;
- ``RELANCE_TEST_BROKER=testcontainers``: Apache Kafka in KRaft mode in a container that
  testcontainers starts for the session, on the Docker engine it finds (``DOCKER_HOST``, the
  Docker context, ``~/.testcontainers.properties``); the image is
  ``RELANCE_TEST_KAFKA_IMAGE`` (``confluentinc/cp-kafka:7.6.0`` by default, Confluent's
  build of Apache Kafka, the one testcontainers' ``KafkaContainer`` configures).

A choice that cannot be had is a ``BrokerChoiceError`` saying what to do, raised before any
test runs: a misspelt value, both variables, testcontainers not installed, no Docker engine.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relance.demo.broker import Broker, EmbeddedBroker, ExistingBroker

KINDS = ("embedded", "testcontainers")
DEFAULT_IMAGE = "confluentinc/cp-kafka:7.6.0"


class BrokerChoiceError(Exception):
    """The environment asks for a broker the tests cannot have."""


@dataclass(frozen=True)
class Choice:
    kind: str  # "embedded", "existing" or "testcontainers"
    bootstrap: str | None = None
    image: str = DEFAULT_IMAGE


def choose(env: Mapping[str, str]) -> Choice:
    kind = env.get("RELANCE_TEST_BROKER", "").strip() or "embedded"
    bootstrap = env.get("RELANCE_TEST_BOOTSTRAP", "").strip()
    if kind not in KINDS:
        raise BrokerChoiceError(
            f"RELANCE_TEST_BROKER={kind!r} is not a broker the tests know "
            f"({', '.join(KINDS)}; unset: embedded)"
        )
    if kind == "testcontainers":
        if bootstrap:
            raise BrokerChoiceError(
                "RELANCE_TEST_BROKER=testcontainers starts a broker and "
                f"RELANCE_TEST_BOOTSTRAP={bootstrap} names one: set one"
            )
        return Choice(
            "testcontainers", image=env.get("RELANCE_TEST_KAFKA_IMAGE", "").strip() or DEFAULT_IMAGE
        )
    return Choice("existing", bootstrap) if bootstrap else Choice("embedded")


def kafka_container(image: str) -> Any:
    """testcontainers' KafkaContainer in KRaft mode, once a Docker engine has answered."""
    try:
        kafka = importlib.import_module("testcontainers.community.kafka")
        docker_client = importlib.import_module("testcontainers.core.docker_client")
    except ImportError as exc:
        raise BrokerChoiceError(
            f"RELANCE_TEST_BROKER=testcontainers needs the testcontainers package ({exc}): "
            "pip install -e '.[dev]' (or unset RELANCE_TEST_BROKER for the embedded "
            "broker)"
        ) from None
    try:
        docker_client.DockerClient().client.ping()
    except Exception as exc:  # docker raises DockerException, requests' errors, OSError ...
        raise BrokerChoiceError(
            "RELANCE_TEST_BROKER=testcontainers needs a Docker engine, and none answers "
            f"({type(exc).__name__}: {exc}): start Docker or set DOCKER_HOST, or unset "
            "RELANCE_TEST_BROKER for the embedded broker"
        ) from None
    return kafka.KafkaContainer(image).with_kraft()


def broker_from(env: Mapping[str, str], log: Path) -> AbstractContextManager[Broker]:
    """The chosen broker, to run for a block; ``log`` is the embedded broker's log file.
    What cannot be had fails here, before the block: ``BrokerChoiceError``."""
    choice = choose(env)
    if choice.kind == "existing":
        assert choice.bootstrap is not None
        return nullcontext(ExistingBroker(choice.bootstrap))
    if choice.kind == "testcontainers":
        return _in_container(kafka_container(choice.image))
    return EmbeddedBroker(log=log)


@contextmanager
def _in_container(container: Any) -> Iterator[Broker]:
    with container as started:
        yield ExistingBroker(started.get_bootstrap_server())
