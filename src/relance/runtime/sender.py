"""The sender: a faust agent over the delivery topic, with the delivered-ids ledger table."""

from __future__ import annotations

import asyncio
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

LAG_INTERVAL = 5.0  # seconds


class ResultSink(Protocol):
    """Where the sender writes; every call returns once the broker acknowledged."""

    async def dead_letter(self, topic: str, partition: int, offset: int, key: bytes | None,
                          value: bytes | None, error: InvalidEventError) -> None: ...
    async def result(self, record: dict[str, Any]) -> None: ...


def build_sender(settings: Settings, *, codec: OutputCodec,
                 delivery_factory: Callable[[faust.App, Any, ResultSink], Delivery],
                 sink_factory: Callable[[faust.App], ResultSink],
                 registry: CollectorRegistry, metrics: Metrics) -> faust.App:
    """On SIGTERM faust stops fetching, lets the agent finish the message in hand (its send
    completes, its outcome is in the ledger) and commits: nothing is cut off halfway."""
    app = new_app(settings, f"{settings.app_id}-sender", settings.sender_web_port)
    broker = BrokerProbe(settings)
    broker.attach(app)
    commands = raw_topic(app, settings, settings.topic_deliveries)
    ledger = raw_table(app, "delivery-ledger", settings.partitions)
    sink = sink_factory(app)
    delivery = delivery_factory(app, ledger, sink)

    read: dict[Any, int] = {}  # the last offset read, per delivery partition

    @app.agent(commands)
    async def send(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            read[message.tp] = message.offset
            try:
                command = codec.decode_command(message.value)
            except InvalidEventError as error:
                log.warning("%s[%d]@%d rejected: %s", message.topic, message.partition,
                            message.offset, error, extra=about(
                                message.topic, message.partition, message.offset, message.key))
                await sink.dead_letter(message.topic, message.partition, message.offset,
                                       message.key, message.value, error)
                continue
            handling = asyncio.ensure_future(delivery.handle(
                command, {"topic": message.topic, "partition": message.partition,
                          "offset": message.offset}))
            try:
                await asyncio.shield(handling)
            except asyncio.CancelledError:
                # Stopping: faust acknowledges the message in hand when the agent ends, and
                # its offset is committed; the send must be complete (sent, in the ledger,
                # reported) by then, or the message would be skipped on restart.
                await handling
                raise

    @app.timer(LAG_INTERVAL)  # type: ignore[untyped-decorator]  # faust's own typing
    async def report_lag() -> None:
        # Only cached figures: asking the consumer for positions can wait on a partition
        # being recovered or sought, in the middle of faust's own calls.
        mine = [tp for tp in app.consumer.assignment() if tp.topic == settings.topic_deliveries]
        behind = 0
        for tp in mine:
            high, last = app.consumer.highwater(tp), read.get(tp)
            if high is not None and last is not None:
                behind += max(0, high - last - 1)
        metrics.consumer_lag.labels(settings.topic_deliveries).set(behind)
        metrics.partitions_assigned.set(len(mine))

    def problems() -> list[str]:
        recovery = app.tables.recovery  # type: ignore[attr-defined]  # on the concrete class
        joining = app.rebalancing or recovery.in_recovery or not recovery.completed.is_set()
        missing = ["joining the consumer group or restoring the delivery ledger"] if joining else []
        return missing + ([broker.problem] if broker.problem else [])

    add_metrics_page(app, registry)
    add_health_pages(app, problems, metrics.ready)
    return app
