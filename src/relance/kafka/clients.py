"""Every confluent-kafka client relance makes, from one configuration: the settings'
broker, the ``RELANCE_KAFKA_*`` properties (TLS, SASL ...) and relance's own; the schema
registry client too. Nothing else constructs a client (tests/unit/test_clients.py)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import (  # type: ignore[attr-defined]  # exported, not in __all__
    AdminClient,
    ConfigResource,
)
from confluent_kafka.schema_registry import SchemaRegistryClient

from relance.errors import BrokerError, ConfigProblem
from relance.kafka import topics
from relance.kafka.topics import TopicSpec
from relance.settings import Settings

# librdkafka's own lines go through logging too, so they get the chosen format.
CLIENT_LOG = logging.getLogger("relance.kafka")
log = logging.getLogger(__name__)


def bootstrap_servers(broker_url: str) -> str:
    """``kafka://h1:9092;h2:9092`` (faust's form) as ``h1:9092,h2:9092``."""
    hosts = []
    for part in broker_url.replace(",", ";").split(";"):
        part = part.strip()
        if "://" in part:
            part = part.split("://", 1)[1]
        if part:
            hosts.append(part.rstrip("/"))
    return ",".join(hosts)


def consumer_config(settings: Settings, group: str, **overrides: Any) -> dict[str, Any]:
    """A consumer's configuration: relance's tuning, then the ``RELANCE_KAFKA_*`` properties
    (which may change that tuning), then what relance's guarantees rest on (the settings
    refuse those as properties), then ``overrides`` (a reader's own)."""
    return {
        # How long the broker may hold a fetch with nothing new; some brokers (Tansu) hold
        # it that long even when records arrive, which would add to every deadline's lag.
        "fetch.wait.max.ms": 100,
        "heartbeat.interval.ms": max(200, int(settings.session_timeout * 100)),
        # A record larger than the fetch sizes is still returned whole when it comes first
        # (fetch.max.bytes, max.partition.fetch.bytes), so an oversized message reaches the
        # decoder and the dead-letter topic; only a response over this limit would stall
        # the partition, so it is librdkafka's largest rather than its 100 MB.
        "receive.message.max.bytes": 2**31 - 1,
        **settings.kafka_properties(),
        "bootstrap.servers": bootstrap_servers(settings.broker),
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": int(settings.session_timeout * 1000),
        # Inputs are co-partitioned: the range assignor gives one member the same partition
        # number of every input topic.
        "partition.assignment.strategy": "range",
        "enable.partition.eof": False,
        "logger": CLIENT_LOG,
        **overrides,
    }


def producer_config(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """A producer's configuration, layered as ``consumer_config``'s."""
    return {
        "linger.ms": 5,
        "batch.num.messages": 10_000,
        "queue.buffering.max.messages": 1_000_000,
        **settings.kafka_properties(),
        "bootstrap.servers": bootstrap_servers(settings.broker),
        # Sends are idempotent downstream (command ids and the ledger); retries may reorder
        # nothing that matters, but a lost record would.
        "acks": "all",
        "partitioner": "murmur2_random",
        "message.max.bytes": settings.producer_message_max_bytes,
        "logger": CLIENT_LOG,
        **overrides,
    }


def admin_config(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """An admin client's configuration (topic creation and checks, the health probe)."""
    return {
        **settings.kafka_properties(),
        "bootstrap.servers": bootstrap_servers(settings.broker),
        "logger": CLIENT_LOG,
        **overrides,
    }


def consumer(settings: Settings, group: str, **overrides: Any) -> Consumer:
    return Consumer(consumer_config(settings, group, **overrides))


def producer(settings: Settings, **overrides: Any) -> Producer:
    return Producer(producer_config(settings, **overrides))


def admin(settings: Settings, **overrides: Any) -> AdminClient:
    return AdminClient(admin_config(settings, **overrides))


def schema_registry_config(settings: Settings) -> dict[str, Any] | None:
    """The schema registry client's configuration (its URL, basic auth, TLS), or ``None``
    without a registry."""
    if not settings.schema_registry_url:
        return None
    config: dict[str, Any] = {"url": settings.schema_registry_url}
    if settings.schema_registry_basic_auth_user_info is not None:
        config["basic.auth.user.info"] = (
            settings.schema_registry_basic_auth_user_info.get_secret_value()
        )
    for key, path in (
        ("ssl.ca.location", settings.schema_registry_ssl_ca_location),
        ("ssl.certificate.location", settings.schema_registry_ssl_certificate_location),
        ("ssl.key.location", settings.schema_registry_ssl_key_location),
    ):
        if path is not None:
            config[key] = str(path)
    return config


def schema_registry(settings: Settings, **overrides: Any) -> SchemaRegistryClient | None:
    """The schema registry client; ``overrides`` such as ``timeout`` (seconds) for a probe."""
    config = schema_registry_config(settings)
    return SchemaRegistryClient({**config, **overrides}) if config is not None else None


def ensure_topics(settings: Settings, specs: Iterable[TopicSpec]) -> list[str]:
    """Create the missing ones of ``specs`` and check the others; the names created."""
    return topics.ensure(admin(settings), specs)


def retention_ms(settings: Settings, topic: str) -> int | None:
    """The topic's ``retention.ms`` as the broker reports it (-1: forever), or ``None`` when
    the broker does not say (some, Tansu among them, report only what was set)."""
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    # Kept while its future is waited for: a client collected first destroys its handle,
    # and the answer is an error (the retention was then taken as unknown).
    client = admin(settings)
    try:
        (future,) = client.describe_configs([resource]).values()
        entry = future.result(timeout=10).get("retention.ms")
    except KafkaException as exc:
        log.warning("cannot read the configuration of topic %s: %s", topic, exc)
        return None
    if entry is None or entry.value is None:
        return None
    return int(entry.value)


def read_to_end(
    reader: Consumer,
    partitions: Iterable[tuple[str, int]],
    take: Callable[[Message[bytes, bytes]], None],
    *,
    what: str,
    timeout: float = 600.0,
    strict: bool = False,
) -> int:
    """Consume the assigned ``partitions`` until each reports its end (partition EOF, which
    ``reader`` must enable), handing every record to ``take``; the count read.

    The end is the fetch's, not the high watermark: some brokers (Tansu) answer ListOffsets
    with the base offset of the last batch. ``strict`` fails on any consumer error, else only
    on fatal ones; past ``timeout`` it fails naming what was not read to its end.
    """
    open_ = set(partitions)
    started = time.monotonic()
    read = 0
    while open_:
        if time.monotonic() - started > timeout:
            raise BrokerError(
                f"{what}: {sorted(open_)} not read to their end within {timeout:.0f}s"
            )
        for message in reader.consume(10_000, 0.5):
            error = message.error()
            if error is None:
                take(message)
                read += 1
            elif error.code() == KafkaError._PARTITION_EOF:
                open_.discard((message.topic() or "", message.partition() or 0))
            elif strict or error.fatal():
                raise BrokerError(f"{what}: {error}")
    return read


def key_partition(key: bytes, partitions: int) -> int:
    """The partition of ``key`` under murmur2 (the Java clients', faust's and librdkafka's
    ``murmur2_random`` partitioner)."""
    mask = 0xFFFFFFFF
    m = 0x5BD1E995
    length = len(key)
    h = (0x9747B28C ^ length) & mask
    tail = length & ~3
    for i in range(0, tail, 4):
        k = int.from_bytes(key[i : i + 4], "little")
        k = (k * m) & mask
        k ^= k >> 24
        k = (k * m) & mask
        h = ((h * m) & mask) ^ k
    rest = length & 3
    if rest:
        for shift, byte in enumerate(key[tail:]):
            h ^= byte << (8 * shift)
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return (h & 0x7FFFFFFF) % partitions


def readable(message: Message[bytes, bytes]) -> bool:
    """Whether ``message`` carries a record: a consumer error in its place is logged and
    skipped, or raised when fatal."""
    error = message.error()
    if error is None:
        return True
    if error.fatal():
        raise KafkaException(error)
    log.warning("consumer: %s", error)
    return False


def commit(consumer: Consumer, offsets: list[TopicPartition], *, sync: bool) -> None:
    """Commit ``offsets`` (the next offset to read per partition); nothing to commit is not
    an error."""
    if not offsets:
        return
    try:
        if sync:
            consumer.commit(offsets=offsets, asynchronous=False)
        else:
            consumer.commit(offsets=offsets, asynchronous=True)
    except KafkaException as exc:
        if exc.args[0].code() != KafkaError._NO_OFFSET:
            raise


_QUIET = logging.getLogger("relance.kafka.check")
_QUIET.propagate = False  # the check's clients have no broker: their warnings say so
_QUIET.addHandler(logging.NullHandler())
_NAMED = re.compile(r"[\"`]([a-z][a-z0-9._]*)")


def property_problems(settings: Settings) -> list[ConfigProblem]:
    """What librdkafka refuses of the ``RELANCE_KAFKA_*`` properties, found by building a
    producer, a consumer and an admin client with them (and no broker, so nothing connects),
    each problem naming the variable; and a schema registry configuration its client
    refuses."""
    given: dict[str, Any] = {**settings.kafka_properties(), "logger": _QUIET}
    problems = []
    builds: tuple[Callable[[dict[str, Any]], object], ...] = (
        Producer,
        lambda c: Consumer({**c, "group.id": "relance-check"}),
        AdminClient,
    )
    for build in builds:
        try:
            build(given)
        except (KafkaException, ValueError, TypeError) as exc:
            text = exc.args[0].str() if isinstance(exc.args[0], KafkaError) else str(exc)
            problems.append(_property_problem(settings, text))
            break  # one client says it; the next would say the same
    config = schema_registry_config(settings)
    if config is not None:
        try:
            SchemaRegistryClient(config)
        except (ValueError, TypeError, OSError) as exc:  # OSError: a certificate not read
            problems.append(
                ConfigProblem(
                    "environment", None, "SCHEMA_REGISTRY_URL", mask(str(exc), settings.secrets())
                )
            )
    return problems


def _property_problem(settings: Settings, text: str) -> ConfigProblem:
    """librdkafka's words, under the variable of the property they name."""
    named = [
        settings.kafka[name].variable for name in _NAMED.findall(text) if name in settings.kafka
    ]
    variable = named[0] if named else "RELANCE_KAFKA_*"
    text = text.removeprefix("Failed to create producer: ")
    return ConfigProblem("environment", None, variable, mask(text, settings.secrets()))


def mask(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "******")
    return text
