"""Load generated shop traffic into the input topics, as fast as one Python producer can.

    python bench/load.py --bootstrap 127.0.0.1:9092 [--profile realistic|classic]
                         [--contacts N] [--partitions 4] [--format json|avro]

Benchmarks time the consumers, not the load, so the load must not be the slow part: one
``produce`` per event, one delivery callback for the whole producer, and ``poll`` only every
few thousand events. Keys are the contact ids and the partitioner is murmur2, so a contact
lands on the partition faust and Java clients would pick for it.

Two traffic profiles: ``realistic`` (the default: ``relance.demo.samples.shop_traffic``, a
large shop's many contacts with few events each) and ``classic`` (``traffic``, the earlier
benchmarks' shoppers with about 20 events each).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable, Mapping

import msgspec
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from relance.codec import avro
from relance.codec.json import encode
from relance.core.events import Event
from relance.demo.broker import Broker, ExistingBroker
from relance.demo.samples import shop_traffic
from relance.demo.samples import traffic as classic

DEFAULT_TOPICS: Mapping[str, str] = {
    "page_view": "page-views",
    "cart": "carts",
    "order": "orders",
    "contact": "contacts",
}

_POLL_EVERY = 4096
PROFILES = ("realistic", "classic")
DEFAULT_CONTACTS = {"realistic": 100_000, "classic": 50_000}  # about 0.5M and 1M events


class LoadError(RuntimeError):
    """Some events were not acknowledged by the broker."""


# Stated on every input topic: Quix Streams derives its changelog topics' retention from
# their inputs', and the embedded broker describes only the configs a topic was created with.
RETENTION = {"retention.ms": "-1", "retention.bytes": "-1"}


def create_input_topics(broker: Broker, topics: Mapping[str, str], partitions: int) -> None:
    """The broker does not auto-create topics; the profile topic is compacted, as in prod.
    Existing topics are left as they are."""
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    existing = set(admin.list_topics(timeout=10).topics)
    wanted = [
        NewTopic(
            name,
            partitions,
            1,
            config={**RETENTION, **({"cleanup.policy": "compact"} if kind == "contact" else {})},
        )
        for kind, name in topics.items()
        if name not in existing
    ]
    for name, future in admin.create_topics(wanted).items() if wanted else ():
        try:
            future.result(timeout=30)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise LoadError(f"cannot create topic {name}: {exc}") from exc


def generate(profile: str, contacts: int, *, seed: int = 1) -> list[Event]:
    """The events of ``contacts`` contacts of a traffic profile, sorted by time."""
    if profile == "realistic":
        return shop_traffic.generate(contacts, seed=seed)
    if profile == "classic":
        return classic.generate(contacts, seed=seed)
    raise ValueError(f"profile must be one of {', '.join(PROFILES)}, not {profile!r}")


def load(
    bootstrap: str,
    topics: Mapping[str, str],
    events: Iterable[Event],
    *,
    partitions: int,
    fmt: str = "json",
) -> int:
    """Produce every event (keyed by contact id) to its type's topic, as JSON or as plain
    Avro (``fmt``); the count sent.

    ``partitions`` is what the topics were created with; it is checked against the broker so
    a benchmark never consumes more partitions than were loaded, or the other way round.
    """
    failures: list[KafkaError] = []

    def on_delivery(error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            failures.append(error)

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "partitioner": "murmur2_random",
            "linger.ms": 50,
            "batch.num.messages": 10000,
            "queue.buffering.max.messages": 1_000_000,
            "compression.type": "none",
            # Set once here rather than per message, and called for failures only, so a
            # delivered event costs no Python call.
            "on_delivery": on_delivery,
            "delivery.report.only.error": True,
        }
    )
    _check_partitions(producer, topics.values(), partitions)
    produce, poll, dumps = producer.produce, producer.poll, msgspec.json.encode
    heads: dict[str, bytes] = {}
    slow: set[str] = set()
    count = 0
    for event in events:
        if fmt == "avro":
            value = avro.encode(event)
        else:
            try:
                value = heads[event.type] + dumps(event)[1:]
            except KeyError:
                value = _learn_head(heads, slow, event)
        topic, key = topics[event.type], event.contact_id.encode()
        while True:
            try:
                produce(topic, value, key)
                break
            except BufferError:  # the local queue is full: let deliveries drain, then retry
                poll(0.05)
        count += 1
        if count % _POLL_EVERY == 0:
            poll(0)
    left = producer.flush(60)
    if left:
        raise LoadError(f"{left} events were still unacknowledged after 60 s")
    if failures:
        raise LoadError(f"{len(failures)} events were refused, the first: {failures[0]}")
    return count


def _learn_head(heads: dict[str, bytes], slow: set[str], event: Event) -> bytes:
    """The codec's JSON for the first event of a type, and the fast way for the rest.

    ``encode`` builds a dict per event, which alone caps the load near 160k events/s.
    msgspec writes the event struct itself with the same fields in the same order; only
    the leading ``type`` is missing, so it is prepended. Checked once per type against the
    codec, so a change to the codec's layout falls back to it instead of loading other bytes.
    """
    expected = encode(event)
    if event.type not in slow:
        head = b'{"type":' + msgspec.json.encode(event.type) + b","
        if head + msgspec.json.encode(event)[1:] == expected:
            heads[event.type] = head
        else:
            slow.add(event.type)
    return expected


def _check_partitions(producer: Producer, names: Iterable[str], partitions: int) -> None:
    metadata = producer.list_topics(timeout=10).topics
    for name in names:
        found = metadata.get(name)
        if found is None or found.error is not None:
            raise LoadError(f"topic {name} does not exist: create it first")
        if len(found.partitions) != partitions:
            raise LoadError(
                f"topic {name} has {len(found.partitions)} partitions, not {partitions}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True, help="host:port of a running broker")
    parser.add_argument("--profile", choices=PROFILES, default="realistic")
    parser.add_argument(
        "--contacts",
        type=int,
        help="default: " + ", ".join(f"{k} {v:,}" for k, v in DEFAULT_CONTACTS.items()),
    )
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--format", choices=("json", "avro"), default="json")
    args = parser.parse_args()

    create_input_topics(ExistingBroker(args.bootstrap), DEFAULT_TOPICS, args.partitions)
    events = generate(args.profile, args.contacts or DEFAULT_CONTACTS[args.profile])
    started = time.perf_counter()
    count = load(
        args.bootstrap, DEFAULT_TOPICS, events, partitions=args.partitions, fmt=args.format
    )
    seconds = time.perf_counter() - started
    print(f"loaded {count:,} events in {seconds:.2f}s = {count / seconds:,.0f} events/s")


if __name__ == "__main__":
    main()
