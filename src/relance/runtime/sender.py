"""The sender: a faust agent over the delivery topic, with the delivered-ids ledger table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import faust
from prometheus_client import CollectorRegistry

from relance.codec.outputs import OutputCodec
from relance.errors import InvalidEventError
from relance.runtime.delivery import Delivery
from relance.runtime.faustapp import add_metrics_page, new_app, raw_table, raw_topic
from relance.settings import Settings


class ResultSink(Protocol):
    """Where the sender writes; every call returns once the broker acknowledged."""

    async def dead_letter(self, topic: str, partition: int, offset: int, key: bytes | None,
                          value: bytes | None, error: InvalidEventError) -> None: ...
    async def result(self, record: dict[str, Any]) -> None: ...


def build_sender(settings: Settings, *, codec: OutputCodec,
                 delivery_factory: Callable[[faust.App, Any, ResultSink], Delivery],
                 sink_factory: Callable[[faust.App], ResultSink],
                 registry: CollectorRegistry) -> faust.App:
    app = new_app(settings, f"{settings.app_id}-sender", settings.sender_web_port)
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
                await sink.dead_letter(message.topic, message.partition, message.offset,
                                       message.key, message.value, error)
                continue
            await delivery.handle(command)

    add_metrics_page(app, registry)
    return app
