"""Whether the broker (and the schema registry, when there is one) answer: what a process
waits for at start, with a capped backoff, and what ``/readyz`` reports all along.

A probe is a metadata request (and a registry's subject list); its failure is reported
with the client's own last error ("Connect to ipv4#127.0.0.1:9092 failed: Connection
refused", "SSL handshake failed ..."), which says more than the request's time-out.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.schema_registry.error import SchemaRegistryError

from relance.kafka import clients as kafka
from relance.settings import Settings

log = logging.getLogger(__name__)

FIRST_WAIT = 0.5
_SILENT = logging.getLogger("relance.kafka.probe")
_SILENT.propagate = False
_SILENT.addHandler(logging.NullHandler())


def origin(url: str) -> str:
    """``url`` without its credentials or path: what may be shown."""
    parts = urllib.parse.urlsplit(url.split(",")[0].strip())
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


class Reachability:
    def __init__(self, settings: Settings, *, timeout: float = 5.0) -> None:
        self.servers = kafka.bootstrap_servers(settings.broker)
        self.timeout = timeout
        self.backoff_max = settings.connect_backoff_max
        self._last_error: str | None = None
        # Its own lines would repeat every reconnection; what it found is in ``problems``.
        self._admin = kafka.admin(settings, error_cb=self._client_error, logger=_SILENT)
        self._lock = threading.Lock()  # the start-up wait and the periodic probe
        self._registry = kafka.schema_registry(settings, timeout=timeout)
        self._registry_at = origin(settings.schema_registry_url or "")
        self._problems = [f"the broker {self.servers} has not answered yet"]

    def _client_error(self, error: KafkaError) -> None:
        # "all brokers down" follows every other error and says less than it.
        if error.code() != KafkaError._ALL_BROKERS_DOWN:
            self._last_error = error.str()

    def problems(self) -> list[str]:
        """What did not answer at the last check (read from the web thread)."""
        return list(self._problems)

    def check(self) -> list[str]:
        """Ask both now (blocking up to ``timeout`` each); what did not answer."""
        with self._lock:
            self._problems = found = self._ask()
        return found

    def _ask(self) -> list[str]:
        found = []
        broker = self._broker_problem()
        if broker is not None:
            found.append(broker)
        registry = self._registry_problem() if broker is None else None
        if registry is not None:
            found.append(registry)
        return found

    def _broker_problem(self) -> str | None:
        self._last_error = None
        try:
            self._admin.list_topics(timeout=self.timeout)
        except KafkaException as exc:
            self._admin.poll(0)  # serves the error callback, which says more
            reason = self._last_error or exc.args[0].str()
            return f"the broker {self.servers} does not answer: {reason}"
        return None

    def _registry_problem(self) -> str | None:
        if self._registry is None:
            return None
        try:
            self._registry.get_subjects()
        except SchemaRegistryError as exc:
            if exc.http_status_code == 403:
                return None  # it answers; a key for some subjects may not list them all
            return (
                f"the schema registry {self._registry_at} answers {exc.http_status_code}: "
                f"{_said(exc.error_message)}"
            )
        except Exception as exc:  # refused, timed out, a TLS failure: all alike here
            return f"the schema registry {self._registry_at} does not answer: {_said(exc)}"
        return None

    def wait(self, stopping: threading.Event) -> bool:
        """Check until everything answers (True) or ``stopping`` is set (False), waiting
        0.5 s after the first failure, doubling up to ``backoff_max``; each failure logged."""
        wait = FIRST_WAIT
        started = time.monotonic()
        while not stopping.is_set():
            missing = self.check()
            if not missing:
                if time.monotonic() - started > self.timeout:
                    log.info("the broker %s answers", self.servers)
                return True
            log.warning("%s; trying again in %.1f s", "; ".join(missing), wait)
            stopping.wait(wait)
            wait = min(wait * 2, self.backoff_max)
        return False


def _said(exc: Any) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "..."
