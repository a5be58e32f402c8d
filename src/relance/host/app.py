"""faust wiring shared by the worker and the sender: the app around a consume loop.

Neither process lets faust consume: their loops use confluent-kafka and commit what they
handled. faust runs the web server, the start-up and the signals.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from relance.settings import Settings


def new_app(settings: Settings, app_id: str, web_port: int) -> faust.App:
    """A faust app configured from settings, without faust's own Kafka clients: only the
    web server and the app's tasks run."""
    (settings.data_dir / app_id).mkdir(parents=True, exist_ok=True)
    app = faust.App(
        app_id,
        broker=settings.broker,
        store="memory://",  # no faust table: states and ledger have their own changelogs
        datadir=str(settings.data_dir / app_id),
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=max(0.2, settings.session_timeout / 10),
        broker_commit_interval=settings.commit_interval,
        consumer_auto_offset_reset="earliest",
        producer_max_batch_size=settings.producer_max_batch_size,
        web_port=web_port,
        web_bind="0.0.0.0",
        web_enabled=True,
        autodiscover=False,
        # faust's exactly-once is unreliable (and needs idempotent producers some brokers
        # lack): relance is at-least-once with idempotent sends.
        processing_guarantee="at_least_once",
    )
    app.boot_strategy = app.BootStrategy(app, enable_kafka_consumer=False,
                                         enable_kafka_producer=False)
    return app


def host_loop(app: faust.App, run: Callable[[threading.Event], Awaitable[None]]) -> None:
    """Run ``run(stopping)`` as the app's task; SIGTERM sets ``stopping`` and the app waits
    for ``run`` to return (its last work settled and committed) before it stops."""
    stopping = threading.Event()
    stopped = asyncio.Event()

    @app.task  # type: ignore[untyped-decorator]  # faust's own typing
    async def consume() -> None:
        try:
            await run(stopping)
        except Exception as exc:
            # The loop is the process: without it the process must not look alive.
            await app.crash(exc)
        finally:
            stopped.set()

    @app.on_before_shutdown.connect  # type: ignore[arg-type]  # mode's signal typing
    async def stop(app: Any, **kwargs: Any) -> None:
        stopping.set()
        await stopped.wait()


def stop_with(app: faust.App, stop: Callable[[], None]) -> None:
    """Call ``stop`` (blocking, so in a thread) when ``app`` shuts down: a thread the process
    runs beside the app, such as the sender's catalog follower."""

    @app.on_before_shutdown.connect  # type: ignore[arg-type]  # mode's signal typing
    async def stop_beside(app: Any, **kwargs: Any) -> None:
        await asyncio.to_thread(stop)


def add_metrics_page(app: faust.App, registry: CollectorRegistry) -> None:
    """Prometheus text format at /metrics on the app's web port."""

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
