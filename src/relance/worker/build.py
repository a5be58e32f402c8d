"""The stream worker's loop from settings: its topics, changelog, consumers and pipeline.

faust's per-message path costs about 200 µs and a table write with its changelog record
about 500 µs, which caps an agent at 1-2k events/s. The worker's input therefore goes
through ``BatchLoop`` (confluent-kafka, batches, one changelog record per touched contact
per batch) in a thread of its own; ``relance.host`` runs the process around it (the HTTP
server for /metrics, start-up, and a clean stop on SIGTERM).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from confluent_kafka import Consumer

from relance.core.scenarios import Config
from relance.kafka import clients as kafka
from relance.kafka import topics
from relance.kafka.changelog import Changelog
from relance.kafka.outputs import Outputs
from relance.settings import Settings
from relance.worker.holdings import Holdings
from relance.worker.loop import BatchLoop, LoopObserver
from relance.worker.pipeline import Decode, Inputs, Pipeline
from relance.worker.shared import shared_topics

log = logging.getLogger(__name__)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def inputs_of(settings: Settings) -> Inputs:
    return Inputs(
        (
            (settings.topic_page_views, "page_view"),
            (settings.topic_carts, "cart"),
            (settings.topic_orders, "order"),
            (settings.topic_contacts, "contact"),
            (settings.topic_engagement, "engagement"),
        )
    )


def changelog_topic(settings: Settings) -> str:
    return topics.worker_changelog(settings)


def build_loop(
    settings: Settings,
    config: Config,
    *,
    decode: Decode,
    outputs: Outputs,
    observer: LoopObserver,
    clock: Callable[[], int] = wall_clock_ms,
) -> BatchLoop:
    inputs = inputs_of(settings)
    kafka.ensure_topics(settings, topics.used_by(settings, topics.WORKER))
    changelog = Changelog(settings, changelog_topic(settings))

    def new_consumer() -> Consumer:
        static = {"group.instance.id": settings.instance_id} if settings.instance_id else {}
        return kafka.consumer(settings, f"{settings.app_id}-worker", **static)

    def new_shared_reader() -> Consumer:
        return kafka.consumer(
            settings, f"{settings.app_id}-worker-shared", **{"enable.partition.eof": True}
        )

    pipeline = Pipeline(
        config, inputs, decode, observer, clock, max_skew_ms=int(settings.max_clock_skew * 1000)
    )
    shared = shared_topics(
        pipeline,
        observer,
        new_shared_reader,
        catalog=settings.topic_catalog or None,
        orders=settings.topic_orders if _learns_baskets(config) else None,
    )
    return BatchLoop(
        pipeline,
        changelog,
        outputs,
        new_consumer,
        observer,
        clock=clock,
        batch_size=settings.batch_size,
        wait=settings.tick_interval,
        commit_interval=settings.commit_interval,
        merge_max_waiting=settings.merge_max_waiting,
        shared=shared,
        holdings=Holdings(settings.state_dir, f"{settings.app_id}-worker"),
    )


def _learns_baskets(config: Config) -> bool:
    """Only cross-sell uses related products: without it the orders are not read twice."""
    return bool(config.of_kind("cross_sell")) or any(s.cross_sell for s in config.enabled())
