"""The sender: a faust agent over the delivery topic, with the delivered-ids ledger table."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import faust
from prometheus_client import CollectorRegistry

from relance.codec.outputs import OutputCodec
from relance.errors import InvalidEventError
from relance.metrics import Metrics
from relance.runtime.delivery import Delivery
from relance.runtime.faustapp import add_metrics_page, new_app, raw_table, raw_topic
from relance.runtime.health import BrokerProbe, add_health_pages
from relance.runtime.logs import about
from relance.settings import Settings

log = logging.getLogger(__name__)

LAG_INTERVAL = 5.0  # seconds; each check asks the consumer thread for every position


class ResultSink(Protocol):
    """Where the sender writes; every call returns once the broker acknowledged."""

    async def dead_letter(self, topic: str, partition: int, offset: int, key: bytes | None,
                          value: bytes | None, error: InvalidEventError) -> None: ...
    async def result(self, record: dict[str, Any]) -> None: ...


def build_sender(settings: Settings, *, codec: OutputCodec,
                 delivery_factory: Callable[[faust.App, Any, ResultSink], Delivery],
                 sink_factory: Callable[[faust.App], ResultSink],
                 registry: CollectorRegistry, metrics: Metrics) -> faust.App:
    """On SIGTERM faust stops fetching, waits for the message in hand (its send finishes,
    its outcome is in the ledger) and commits: nothing is cut off halfway."""
    app = new_app(settings, f"{settings.app_id}-sender", settings.sender_web_port)
    broker = BrokerProbe(settings)
    broker.attach(app)
    commands = raw_topic(app, settings, settings.topic_deliveries)
    ledger = raw_table(app, "delivery-ledger", settings.partitions)
    sink = sink_factory(app)
    delivery = delivery_factory(app, ledger, sink)

    @app.agent(commands)
    async def send(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            try:
                command = codec.decode_command(message.value)
            except InvalidEventError as error:
                log.warning("%s[%d]@%d rejected: %s", message.topic, message.partition,
                            message.offset, error, extra=about(
                                message.topic, message.partition, message.offset, message.key))
                await sink.dead_letter(message.topic, message.partition, message.offset,
                                       message.key, message.value, error)
                continue
            await delivery.handle(command, {"topic": message.topic,
                                            "partition": message.partition,
                                            "offset": message.offset})

    @app.timer(LAG_INTERVAL)  # type: ignore[untyped-decorator]  # faust's own typing
    async def report_lag() -> None:
        behind = 0
        for tp in app.consumer.assignment():
            high = app.consumer.highwater(tp)
            position = await app.consumer.position(tp)
            if high is not None and position is not None:
                behind += max(0, high - position)
        metrics.consumer_lag.labels(settings.topic_deliveries).set(behind)
        metrics.partitions_assigned.set(len(app.consumer.assignment()))

    def problems() -> list[str]:
        recovery = app.tables.recovery  # type: ignore[attr-defined]  # on the concrete class
        joining = app.rebalancing or recovery.in_recovery or not recovery.completed.is_set()
        missing = ["joining the consumer group or restoring the delivery ledger"] if joining else []
        return missing + ([broker.problem] if broker.problem else [])

    add_metrics_page(app, registry)
    add_health_pages(app, problems, metrics.ready)
    return app
