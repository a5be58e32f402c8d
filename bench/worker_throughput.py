"""End to end: ``relance worker`` on the embedded broker, beside Quix Streams, a hand-written
confluent-kafka loop and a plain faust agent doing the same per-contact work.

    python bench/worker_throughput.py [--profile realistic|classic] [--contacts N]
                                      [--rounds 3] [--baseline-events 15000]
                                      [--latency-seconds 40] [--recovery-contacts 1000000]

One run, one broker, one process at a time:

1. traffic: generated (``--profile``, realistic by default: a large shop's many contacts
   with few events each, ``relance.demo.samples.shop_traffic``), its measures printed beside
   the target's and the OTTO sample's, and loaded once as JSON and once as plain Avro into
   input topics of 4 partitions;
2. throughput, in ``--rounds`` rounds, the order of the implementations turned by one each
   round (``implementations.py``): the relance worker on the JSON and on the Avro inputs,
   Quix Streams and the hand-written loop on the JSON inputs, each from the earliest offset
   with a group and a changelog of its own, and the plain faust agent on the first
   ``--baseline-events``. Events/s from the first to the last event applied; each run's
   changelog is then read to check that every event was applied. Per round, the ratios of
   relance to Quix and to the hand-written loop; then the median and the lowest rate of
   each over the rounds, and the relance worker's resident memory and state bytes per
   contact (the latest changelog record of every contact);
3. latency: fresh contacts produced live at half the median rate with a 5 s delay on both
   scenarios; deadline -> command on the delivery topic, p50 and p99;
4. recovery: ``--recovery-contacts`` states written to a worker's changelog, then the
   worker started, killed and started again; seconds until it is ready each time, and of
   them the wait for the group (to the partitions assigned) and the restore (to ready).
   Twice: with the defaults, and as deploy/k8s runs a worker (static membership and a
   state folder, so the restart reads its partitions while it waits for the group).

It prints the yardstick of ``simulate_throughput.py`` (a fixed Python loop's time) before
and after, as the machine's speed differs from day to day.

A worker is ready when its ``/readyz`` answers 200 (in the group, states restored, the broker
answering) and ``relance_partitions_assigned`` counts all partitions. ``--quick`` runs every
step on small numbers (a few minutes) to check the benchmark itself, not to measure.

Every process it starts (the broker, the workers, the peers) is stopped when it ends, also
on an error, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import cycle
from pathlib import Path

import msgspec
import orjson
from confluent_kafka import Consumer, Producer

from implementations import (
    IMPLEMENTATIONS,
    PARTITIONS,
    Result,
    Traffic,
    Worker,
    read_changelog,
    topics_for,
    worker_changelog,
)
from implementations import run as run_one
from load import DEFAULT_CONTACTS, PROFILES, create_input_topics, generate, load
from relance.codec.json import encode
from relance.core.events import Event
from relance.core.timestamps import parse_iso
from relance.demo.broker import EmbeddedBroker
from relance.demo.processes import interrupted_by_signals
from relance.demo.samples import otto
from relance.demo.samples.measures import TARGET, measure, side_by_side
from relance.kafka.topics import TopicSpec
from relance.worker.store import Stored, decode_stored, encode_stored
from simulate_throughput import yardstick

__all__ = ["Worker", "main", "topics_for"]

HERE = Path(__file__).resolve().parent
OTTO_SAMPLE = HERE.parent / "tests" / "data" / "otto-sessions-sample.jsonl.gz"
# --quick: every step on small numbers, to check the benchmark runs (figures mean little).
QUICK = {
    "contacts": 2_000,
    "rounds": 1,
    "baseline_events": 5_000,
    "latency_seconds": 10.0,
    "recovery_contacts": 20_000,
}
FULL = {
    "rounds": 3,
    "baseline_events": 15_000,
    "latency_seconds": 40.0,
    "recovery_contacts": 1_000_000,
}
SHORT_DELAYS = """\
scenarios:
  cart_abandonment:   {delay: 5s, quiet_period: 1h}
  browse_abandonment: {delay: 5s, quiet_period: 1h}
"""
SKIPPABLE = {
    "avro": "relance-avro",
    "quix": "quix",
    "hand-written": "hand-written",
    "baseline": "faust",
}


def prepare(broker: EmbeddedBroker, events: list[Event], formats: Sequence[str]) -> Traffic:
    """Load the traffic once per format into input topics of its own."""
    topics: dict[str, dict[str, str]] = {}
    for fmt in formats:
        topics[fmt] = topics_for(f"in-{fmt}")
        create_input_topics(broker, topics[fmt], PARTITIONS)
        started = time.perf_counter()
        count = load(broker.bootstrap, topics[fmt], events, partitions=PARTITIONS, fmt=fmt)
        print(
            f"loaded {count:,} events as {fmt} in {time.perf_counter() - started:.1f}s", flush=True
        )
    return Traffic.of(events, topics)


def rounds(
    broker: EmbeddedBroker,
    root: Path,
    traffic: Traffic,
    names: Sequence[str],
    count: int,
    baseline_events: int,
) -> list[dict[str, Result]]:
    """``count`` rounds of every implementation, the order turned by one each round."""
    results: list[dict[str, Result]] = []
    for number in range(count):
        turn = number % len(names)
        done: dict[str, Result] = {}
        for name in [*names[turn:], *names[:turn]]:
            result = run_one(name, broker, root, traffic, f"r{number + 1}", baseline_events)
            done[name] = result
            print(
                f"round {number + 1} {name}: {result.rate:,.0f} events/s ({result.events:,} "
                f"events in {result.seconds:.1f}s"
                + (
                    f"; states of {result.contacts:,} contacts, {result.checked} checked"
                    if result.contacts
                    else ""
                )
                + ")",
                flush=True,
            )
        results.append(done)
        ratios = round_ratios(done)
        if ratios:
            print(
                f"round {number + 1} ratios: "
                + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()),
                flush=True,
            )
    return results


def round_ratios(done: Mapping[str, Result]) -> dict[str, float]:
    return {
        f"{mine}/{other}": done[mine].rate / done[other].rate
        for mine in ("relance-json", "relance-avro")
        if mine in done
        for other in ("quix", "hand-written")
        if other in done
    }


def summary(results: list[dict[str, Result]], traffic: str) -> None:
    names = [name for name in IMPLEMENTATIONS if name in results[0]]
    print(f"\n| implementation | events/s, median (min) over {len(results)} round(s) |")
    print("|---|---|")
    medians: dict[str, float] = {}
    for name in names:
        rates = [done[name].rate for done in results]
        medians[name] = statistics.median(rates)
        print(f"| {name} | {medians[name]:,.0f} ({min(rates):,.0f}) |")
    ratios = [round_ratios(done) for done in results]
    medians_of_ratios = {key: statistics.median(r[key] for r in ratios) for key in ratios[0]}
    if medians_of_ratios:
        print(
            "ratios within a round, median (min): "
            + ", ".join(
                f"{key} {value:.2f} ({min(r[key] for r in ratios):.2f})"
                for key, value in medians_of_ratios.items()
            )
        )
    json_runs = [done["relance-json"] for done in results]
    report(
        "relance worker",
        {
            "rate": statistics.median(r.rate for r in json_runs),
            **{
                key: statistics.median(r.extra[key] for r in json_runs)
                for key in json_runs[0].extra
            },
            "contacts": json_runs[0].contacts,
        },
    )
    print(
        f"summary ({traffic}, {len(results)} round(s)): "
        + "; ".join(f"{name} {medians[name]:,.0f} events/s" for name in names)
        + (
            " (medians); relance/others within a round: "
            + ", ".join(f"{key} {value:.2f}x" for key, value in medians_of_ratios.items())
            if medians_of_ratios
            else " (medians)"
        ),
        flush=True,
    )


def latency(
    broker: EmbeddedBroker, root: Path, events: list[Event], rate: float, seconds: float
) -> dict[str, float]:
    scenarios = root / "short.yaml"
    scenarios.write_text(SHORT_DELAYS)
    lags: list[float] = []
    stop = threading.Event()
    reader = threading.Thread(
        target=_read_lags, args=(broker, "lat-deliveries", lags, stop), daemon=True
    )
    producer = Producer(
        {"bootstrap.servers": broker.bootstrap, "linger.ms": 5, "partitioner": "murmur2_random"}
    )
    with Worker(
        broker, root, "lat", RELANCE_SCENARIOS=str(scenarios), RELANCE_OUTPUT_FORMAT="json"
    ) as worker:
        worker.start()
        worker.until(worker.ready, 120)
        reader.start()
        try:
            sent, kept_up = _produce_live(producer, worker, events, rate, seconds)
        finally:
            stop.set()
            reader.join()
    lags.sort()
    if not lags:
        raise RuntimeError("no command arrived")
    return {
        "sent": sent,
        "rate": sent / seconds,
        "commands": len(lags),
        "p50": lags[len(lags) // 2],
        "p99": lags[min(len(lags) - 1, int(len(lags) * 0.99))],
        "max": lags[-1],
        "kept_up": float(kept_up),
    }


def _produce_live(
    producer: Producer, worker: Worker, events: list[Event], rate: float, seconds: float
) -> tuple[int, bool]:
    """Fresh contacts at ``rate`` for ``seconds``; how many were sent, and whether the worker
    had consumed them all once the last deadlines fired."""
    sent = 0
    started = time.perf_counter()
    source = cycle(events)
    while (elapsed := time.perf_counter() - started) < seconds:
        due = int(rate * elapsed)
        now_ms = time.time_ns() // 1_000_000
        while sent < due:
            event = next(source)
            lap = sent // len(events)
            event = msgspec.structs.replace(
                event, occurred_at=now_ms, contact_id=f"{event.contact_id}-{lap}"
            )
            producer.produce(worker.topics[event.type], encode(event), event.contact_id.encode())
            sent += 1
        producer.poll(0)
        time.sleep(0.005)
    producer.flush(30)
    time.sleep(8)  # the last deadlines (5 s) fire
    return sent, worker.consumed() >= sent


def _read_lags(
    broker: EmbeddedBroker, topic: str, lags: list[float], stop: threading.Event
) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "lat-reader",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "fetch.wait.max.ms": 20,
        }
    )
    consumer.subscribe([topic])
    try:
        while not stop.is_set():
            message = consumer.poll(0.05)  # one at a time: each is timed as it arrives
            if message is not None and message.error() is None:
                arrived = time.time_ns() // 1_000_000
                decided = parse_iso(orjson.loads(message.value())["decided_at"])
                lags.append((arrived - decided) / 1000)
    finally:
        consumer.close()


def recovery(
    broker: EmbeddedBroker,
    root: Path,
    templates: list[bytes],
    contacts: int,
    prefix: str = "rec",
    **env: str,
) -> dict[str, float]:
    topic = worker_changelog(prefix)
    broker.create_topics([TopicSpec(topic, PARTITIONS, compacted=True)])
    producer = Producer(
        {
            "bootstrap.servers": broker.bootstrap,
            "linger.ms": 50,
            "batch.num.messages": 10000,
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    started = time.perf_counter()
    states = [decode_stored(raw) for raw in templates]
    total = 0
    for n, stored in zip(range(contacts), cycle(states), strict=False):
        key = f"rc-{n}"
        value = encode_stored(
            Stored(n % PARTITIONS, stored.offsets, stored.state._replace(contact_id=key))
        )
        total += len(value)
        while True:
            try:
                producer.produce(topic, value, key.encode(), n % PARTITIONS)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(120)
    print(
        f"wrote {contacts:,} states ({total / 1e6:.0f} MB) to {topic} in "
        f"{time.perf_counter() - started:.1f}s"
    )
    with Worker(broker, root, prefix, **env) as worker:
        began = worker.start()
        cold = worker.until(worker.ready, 600) - began
        rss, _ = worker.memory_mb()
        worker.kill()
        began = worker.start()
        again = worker.until(worker.ready, 600) - began
    lines = worker.log.read_text().splitlines()
    restored = [line for line in lines if "restored" in line]
    print("  worker log: " + "\n  worker log: ".join(restored))
    (cold_join, cold_restore), (kill_join, kill_restore) = phases(lines)[-2:]
    return {
        "contacts": contacts,
        "first_start": cold,
        "first_group_wait": cold_join,
        "first_restore": cold_restore,
        "after_kill": again,
        "kill_group_wait": kill_join,
        "kill_restore": kill_restore,
        "rss_mb": rss,
    }


def phases(lines: Sequence[str]) -> list[tuple[float, float]]:
    """Per start in a worker's log: seconds from its first line to the partitions assigned
    (the group join, the broker's), and from there to ready (restoring the states)."""
    found: list[tuple[float, float]] = []
    started = assigned = 0.0
    for line in lines:
        if not line.startswith("[") or "] [INFO] " not in line:
            continue
        at = time.mktime(time.strptime(line[1:20], "%Y-%m-%d %H:%M:%S")) + int(line[21:24]) / 1000
        if "worker starting" in line:
            started = at
        elif "assigned partitions" in line:
            assigned = at
        elif ": ready: partitions" in line:
            found.append((assigned - started, at - assigned))
    return found


@contextmanager
def embedded_broker(root: Path) -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(log=root / "tansu.log") as broker:
        yield broker


def report(name: str, figures: Mapping[str, float]) -> None:
    print(
        f"{name}: "
        + ", ".join(
            f"{k}={v:,.2f}" if isinstance(v, float) else f"{k}={v:,}" for k, v in figures.items()
        ),
        flush=True,
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default="realistic",
        help="the generated traffic (default: realistic)",
    )
    parser.add_argument(
        "--contacts",
        type=int,
        help="default: " + ", ".join(f"{k} {v:,}" for k, v in DEFAULT_CONTACTS.items()),
    )
    parser.add_argument("--rounds", type=int, help="default 3")
    parser.add_argument("--baseline-events", type=int, help="default 15,000")
    parser.add_argument("--latency-seconds", type=float, help="default 40")
    parser.add_argument(
        "--latency-rate",
        type=float,
        help="events/s of the latency run (default: half the measured rate)",
    )
    parser.add_argument("--recovery-contacts", type=int, help="default 1,000,000")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="defaults for a quick check of the benchmark: "
        + ", ".join(f"{k}={v:,}" for k, v in QUICK.items()),
    )
    parser.add_argument(
        "--keep", type=Path, help="a folder to keep the logs in (default: a temporary one)"
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=[*SKIPPABLE, "latency", "recovery"],
        help="leave out a step or an implementation (baseline: the faust agent)",
    )
    args = parser.parse_args()
    defaults = QUICK if args.quick else {**FULL, "contacts": DEFAULT_CONTACTS[args.profile]}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def run(args: argparse.Namespace, root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    print(f"{time.strftime('%Y-%m-%d %H:%M')}; yardstick before: {yardstick():.2f}s", flush=True)
    started = time.perf_counter()
    events = generate(args.profile, args.contacts)
    print(
        f"traffic: {args.profile}, {len(events):,} events of {args.contacts:,} contacts, "
        f"generated in {time.perf_counter() - started:.1f}s"
    )
    print(
        "\n".join(
            side_by_side(
                {
                    "this traffic": measure(events),
                    "target": TARGET,
                    "OTTO sample": measure(otto.load(OTTO_SAMPLE)),
                }
            )
        ),
        flush=True,
    )
    skipped = {SKIPPABLE[s] for s in args.skip if s in SKIPPABLE}
    names = [name for name in IMPLEMENTATIONS if name not in skipped]
    with embedded_broker(root) as broker:
        traffic = prepare(broker, events, ["json", "avro"] if "relance-avro" in names else ["json"])
        results = rounds(broker, root, traffic, names, args.rounds, args.baseline_events)
        summary(results, f"{args.profile} traffic, {len(events):,} events")
        rate = statistics.median(done["relance-json"].rate for done in results)
        if "latency" not in args.skip:
            fresh = generate(args.profile, min(20_000, args.contacts), seed=2)
            report(
                "latency at half rate (seconds)",
                latency(broker, root, fresh, args.latency_rate or rate / 2, args.latency_seconds),
            )
        if "recovery" not in args.skip:
            table = read_changelog(broker, worker_changelog("r1-relance-json"))
            templates = list(table.values())[:10_000]
            report("recovery", recovery(broker, root, templates, args.recovery_contacts))
            # As deploy/k8s runs a worker: a static member, with a folder kept across
            # restarts, so a restart reads its partitions while it joins.
            deployed = {"RELANCE_INSTANCE_ID": "recd-0", "RELANCE_STATE_DIR": str(root / "state")}
            report(
                "recovery as deployed (RELANCE_INSTANCE_ID, RELANCE_STATE_DIR)",
                recovery(broker, root, templates, args.recovery_contacts, "recd", **deployed),
            )
    print(f"yardstick after: {yardstick():.2f}s", flush=True)


def main() -> None:
    args = parse_args()
    try:
        # SIGTERM unwinds like Ctrl-C: each step's process, then the broker, are stopped.
        with interrupted_by_signals(), tempfile.TemporaryDirectory() as tmp:
            run(args, args.keep or Path(tmp))
    except KeyboardInterrupt:
        print(
            "interrupted: the broker and the processes it started are stopped",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(130)


if __name__ == "__main__":
    main()
