"""/healthz and /readyz, and the broker reachability /readyz reports.

``/healthz`` answers while the process serves HTTP at all (a liveness probe restarts a process
that stopped answering, not one that waits for the broker). ``/readyz`` lists what is still
missing: group membership, restored state, a broker that answers. The same answer sets the
``relance_ready`` gauge, so a dashboard and the probe never disagree.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from prometheus_client import Gauge

from relance.host.process import Problems
from relance.kafka.clients import CLIENT_LOG, bootstrap_servers
from relance.settings import Settings


class BrokerProbe:
    """A metadata request every ``interval`` seconds, off the event loop; readers get the
    last answer at once."""

    def __init__(self, settings: Settings, *, interval: float = 5.0, timeout: float = 5.0):
        self.interval = interval
        self.timeout = timeout
        self.problem: str | None = "the broker has not answered yet"
        self._admin = AdminClient({"bootstrap.servers": bootstrap_servers(settings.broker)},
                                  logger=CLIENT_LOG)

    def check(self) -> None:
        try:
            self._admin.list_topics(timeout=self.timeout)
        except KafkaException as exc:
            self.problem = f"the broker does not answer: {exc.args[0]}"
        else:
            self.problem = None

    def attach(self, app: faust.App) -> None:
        @app.task  # type: ignore[untyped-decorator]  # faust's own typing
        async def probe_broker() -> None:
            while True:
                await asyncio.to_thread(self.check)
                await asyncio.sleep(self.interval)


def add_health(app: faust.App, settings: Settings, loop_problems: Problems,
               ready: Gauge) -> None:
    """/healthz and /readyz: what the loop still misses, and whether the broker answers."""
    broker = BrokerProbe(settings)
    broker.attach(app)

    def problems() -> list[str]:
        return loop_problems() + ([broker.problem] if broker.problem else [])

    ready.set_function(lambda: 0.0 if problems() else 1.0)

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.text("ok\n")

    @app.page("/readyz")
    async def readyz(web: Any, request: Any) -> Any:
        missing = problems()
        if missing:
            return web.text("not ready:\n" + "".join(f"- {p}\n" for p in missing), status=503)
        return web.text("ready\n")
