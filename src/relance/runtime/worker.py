"""The stream worker: faust agents around the pipeline, a timer for deadlines, /metrics.

One agent reads every input topic and the tick topic (all co-partitioned), so every state
write happens inside stream iteration, where faust writes the changelog. The timer never
writes state: when a partition's event time reaches a deadline (or waiting events may be
applied because a lagging input caught up) it sends a tick to that partition, and the agent
does the work when the tick comes round.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from relance.runtime.faustapp import StateTable, add_metrics_page, new_app, raw_topic
from relance.runtime.pipeline import Decode, Inputs, Observer, Pipeline, Sink
from relance.scenarios import Config
from relance.settings import Settings

log = logging.getLogger(__name__)
_TICK = struct.Struct(">q")
TICK_TIMEOUT_MS = 5000


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def inputs_of(settings: Settings) -> Inputs:
    return Inputs(((settings.topic_page_views, "page_view"), (settings.topic_carts, "cart"),
                   (settings.topic_orders, "order"), (settings.topic_contacts, "contact")))


def build_worker(settings: Settings, config: Config, *, decode: Decode,
                 sink_factory: Callable[[faust.App], Sink], observer: Observer,
                 registry: CollectorRegistry,
                 clock: Callable[[], int] = wall_clock_ms) -> faust.App:
    app = new_app(settings, f"{settings.app_id}-worker", settings.web_port)
    inputs = inputs_of(settings)
    source = raw_topic(app, settings, *inputs.names, settings.topic_ticks)
    ticks = raw_topic(app, settings, settings.topic_ticks)
    table = StateTable.attach(app, "contact-state", settings.partitions)
    sink = sink_factory(app)
    pipeline = Pipeline(config, inputs, table, decode, sink, observer, clock)
    # A partition with a tick in flight gets no other until it arrives (or looks lost).
    ticking: dict[int, int] = {}

    def on_recovered(partitions: set[int]) -> None:
        ticking.clear()
        pipeline.revoke(set(pipeline.engines) - partitions)
        pipeline.assign(partitions, table.raw_items())
        log.info("ready: partitions %s, %d deadlines pending", sorted(partitions),
                 pipeline.pending())

    table.recovered_callback = on_recovered

    def caught_up(topic: str, partition: int) -> bool:
        tp = faust.types.TP(topic, partition)
        highwater = app.consumer.highwater(tp)
        if highwater is None:
            return False
        last = pipeline.received.get((topic, partition))
        if last is not None:
            return last + 1 >= highwater
        # Nothing processed since assignment: caught up only if there was nothing to read
        # from where the group stands (faust keeps the committed offsets private).
        committed = getattr(app.consumer, "_committed_offset", {}).get(tp)
        return highwater == 0 or (committed is not None and committed >= highwater)

    @app.agent(source)
    async def process(stream: Any) -> None:
        # Acks are manual: a message waiting for older events of another topic must not
        # have its offset committed before it is applied.
        async for event in stream.noack().events():
            message = event.message
            if message.topic == settings.topic_ticks:
                ticking.pop(message.partition, None)
                (moment,) = _TICK.unpack(message.value)
                await pipeline.fire(message.partition, moment, caught_up)
                event.ack()
            else:
                await pipeline.handle(message.topic, message.partition, message.offset,
                                      message.key, message.value, event.ack, caught_up)

    @app.timer(settings.tick_interval)  # type: ignore[untyped-decorator]  # faust's own typing
    async def tick() -> None:
        now = clock()
        for partition, moment in pipeline.due_partitions(caught_up, now):
            if now - ticking.get(partition, now - TICK_TIMEOUT_MS) >= TICK_TIMEOUT_MS:
                ticking[partition] = now
                await ticks.send(value=_TICK.pack(moment), partition=partition)

    add_metrics_page(app, registry)
    return app
