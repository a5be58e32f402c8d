"""The topics relance reads and writes: one list of specs, from the settings, that the worker
and the sender check and create at start and ``relance topics`` prints (or creates) for
teams that create topics themselves."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from relance.errors import BrokerError
from relance.settings import Settings

log = logging.getLogger(__name__)

WORKER = "worker"
SENDER = "sender"
GATEWAY = "gateway"  # writes engagement events; creates no topic


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic as relance needs it. ``exact``: an existing topic must have ``partitions``
    (the co-partitioned inputs and what is keyed like them); one read whole, like the
    catalog, may have any. ``replication`` -1 and ``min_insync`` ``None`` leave them to the
    broker's defaults."""

    name: str
    partitions: int
    compacted: bool = False
    replication: int = 1
    min_insync: int | None = None
    exact: bool = True
    purpose: str = ""
    users: tuple[str, ...] = ()

    @property
    def cleanup_policy(self) -> str:
        return "compact" if self.compacted else "delete"

    def config(self) -> dict[str, str]:
        """The topic configuration relance sets when it creates the topic."""
        config = {"cleanup.policy": "compact"} if self.compacted else {}
        if self.min_insync is not None:
            config["min.insync.replicas"] = str(self.min_insync)
        return config


def worker_changelog(settings: Settings) -> str:
    return f"{settings.app_id}-worker-contact-state-changelog"


def ledger_changelog(settings: Settings) -> str:
    return f"{settings.app_id}-sender-delivery-ledger-changelog"


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """Every topic this configuration needs, with who reads or writes it."""
    both = (WORKER, SENDER)
    wanted: list[tuple[str, bool, bool, str, tuple[str, ...]]] = [
        # name, compacted, exact, purpose, users
        (settings.topic_page_views, False, True, "input: page views", (WORKER,)),
        (settings.topic_carts, False, True, "input: cart changes", (WORKER,)),
        (settings.topic_orders, False, True, "input: orders", (WORKER,)),
        (settings.topic_contacts, True, True, "input: contact profiles", (WORKER,)),
        (settings.topic_engagement, False, True, "input: engagement", (WORKER, GATEWAY)),
        (settings.topic_catalog, True, False, "input: products, read whole", (WORKER,)),
        (worker_changelog(settings), True, True, "the worker's contact states", (WORKER,)),
        (settings.topic_deliveries, False, True, "output: send commands", both),
        (settings.topic_decisions, False, False, "output: every decision (JSON)", (WORKER,)),
        (settings.topic_dlq, False, False, "output: rejected messages", both),
        (settings.topic_results, False, False, "output: delivery results", (SENDER,)),
        (ledger_changelog(settings), True, True, "the sender's delivery ledger", (SENDER,)),
    ]
    return [
        TopicSpec(
            name,
            settings.partitions,
            compacted,
            settings.replication_factor,
            settings.min_insync_replicas,
            exact,
            purpose,
            users,
        )
        for name, compacted, exact, purpose, users in wanted
        if name
    ]


def of_scenario_file(
    settings: Settings, name: str, purpose: str, *, compacted: bool = False, exact: bool = True
) -> TopicSpec:
    """A topic the scenario file asks the worker for (a source, the identity stage's), with
    the replication settings of the others."""
    return TopicSpec(
        name,
        settings.partitions,
        compacted,
        settings.replication_factor,
        settings.min_insync_replicas,
        exact,
        purpose,
        (WORKER,),
    )


def used_by(settings: Settings, user: str) -> list[TopicSpec]:
    return [spec for spec in topic_specs(settings) if user in spec.users]


def _admin(client: Any) -> Any:
    """An AdminClient; a bootstrap string or a configuration makes one (the demo's)."""
    from confluent_kafka.admin import AdminClient

    if isinstance(client, str):
        client = {"bootstrap.servers": client}
    if isinstance(client, Mapping):
        config: dict[str, Any] = {"logger": logging.getLogger("relance.kafka"), **client}
        return AdminClient(config)
    return client


def create_topics(client: Any, topics: Iterable[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet (existing ones are left as they are); the
    names created. ``client``: an AdminClient, its configuration, or a bootstrap string."""
    from confluent_kafka.cimpl import NewTopic

    admin = _admin(client)
    existing = set(admin.list_topics(timeout=10).topics)
    wanted = [
        NewTopic(t.name, t.partitions, t.replication, config=t.config())
        for t in topics
        if t.name not in existing
    ]
    created = []
    for name, future in admin.create_topics(wanted).items() if wanted else ():
        try:
            future.result(timeout=30)
        except Exception as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise BrokerError(f"cannot create topic {name}: {exc}") from exc
        else:
            created.append(name)
    return created


def ensure(client: Any, specs: Iterable[TopicSpec]) -> list[str]:
    """Create what is missing, then check the partitions of those that must match; the
    names created. A topic with fewer replicas than asked for is logged, not changed."""
    admin = _admin(client)
    specs = list(specs)
    created = create_topics(admin, specs)
    found = admin.list_topics(timeout=10).topics
    for spec in specs:
        metadata = found.get(spec.name)
        if metadata is None:
            continue  # created a moment ago and not yet in this broker's metadata
        partitions = metadata.partitions
        if spec.exact and len(partitions) != spec.partitions:
            raise BrokerError(
                f"topic {spec.name} has {len(partitions)} partitions, expected "
                f"{spec.partitions} (RELANCE_PARTITIONS)"
            )
        replicas = min((len(p.replicas) for p in partitions.values()), default=0)
        if 0 < replicas < spec.replication:
            log.warning(
                "topic %s has %d replicas, RELANCE_REPLICATION_FACTOR asks for %d: "
                "relance does not change existing topics",
                spec.name,
                replicas,
                spec.replication,
            )
    for name in created:
        log.info("created topic %s", name)
    return created
