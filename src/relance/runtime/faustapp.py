"""faust wiring shared by the worker and the sender: the app, raw topics, tables."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from relance.settings import Settings


def new_app(settings: Settings, app_id: str, web_port: int, *, kafka: bool = True) -> faust.App:
    """A faust app configured from settings; nothing is created at import time.

    ``kafka=False`` starts neither faust's consumer nor its producer (the worker has its own
    clients), only the web server and the app's tasks.
    """
    (settings.data_dir / app_id).mkdir(parents=True, exist_ok=True)
    app = faust.App(
        app_id,
        broker=settings.broker,
        store=settings.store,
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
    if not kafka:
        app.boot_strategy = app.BootStrategy(app, enable_kafka_consumer=False,
                                             enable_kafka_producer=False)
    return app


def add_metrics_page(app: faust.App, registry: CollectorRegistry) -> None:
    """Prometheus text format at /metrics on the app's web port."""

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


def raw_topic(app: faust.App, settings: Settings, *names: str) -> Any:
    """Bytes in, bytes out: relance decodes itself so poison messages reach the DLQ."""
    return app.topic(*names, key_type=bytes, value_type=bytes, key_serializer="raw",
                     value_serializer="raw", partitions=settings.partitions)


def raw_table(app: faust.App, name: str, partitions: int) -> Any:
    # key_type and value_type bytes are what make faust pick the raw serializer for the
    # changelog, in writes and in recovery alike.
    return app.Table(name, default=None, key_type=bytes, value_type=bytes,
                     partitions=partitions)


class StateTable(faust.Table[bytes, bytes]):
    """A raw table that tells the runtime which partitions it holds once recovered."""

    recovered_callback: Callable[[set[int]], None] | None = None

    @classmethod
    def attach(cls, app: faust.App, name: str, partitions: int) -> StateTable:
        table = cls(app, name=name, default=None, key_type=bytes, value_type=bytes,
                    partitions=partitions, beacon=app.tables.beacon)
        app.tables.add(table)
        return table

    async def on_recovery_completed(self, active_tps: set[Any], standby_tps: set[Any]) -> None:
        await super().on_recovery_completed(active_tps, standby_tps)
        if self.recovered_callback is not None:
            self.recovered_callback({tp.partition for tp in active_tps})

    def raw_items(self) -> Iterator[tuple[bytes, bytes]]:
        for key, value in self.items():
            if value is not None:
                yield key, value
