"""/healthz and /readyz, and the probe of what the process depends on outside.

``/healthz`` answers while the process serves HTTP at all (a liveness probe restarts a process
that stopped answering, not one that waits for the broker). ``/readyz`` lists what is still
missing: a broker (and schema registry) that answers, group membership, restored state. The
same answer sets the ``relance_ready`` gauge, so a dashboard and the probe never disagree.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from prometheus_client import Gauge

from relance.host.process import Probe, Problems

PROBE_INTERVAL = 5.0


def attach_probe(app: faust.App, probe: Probe, interval: float = PROBE_INTERVAL) -> None:
    """Check ``probe`` every ``interval`` seconds, off the event loop."""

    @app.task  # type: ignore[untyped-decorator]  # faust's own typing
    async def probe_dependencies() -> None:
        while True:
            await asyncio.to_thread(probe.check)
            await asyncio.sleep(interval)


def add_health(app: faust.App, probe: Probe, loop_problems: Problems, ready: Gauge) -> None:
    """/healthz and /readyz: what does not answer, and what the loop still misses."""
    attach_probe(app, probe)

    def problems() -> list[str]:
        return probe.problems() + loop_problems()

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
