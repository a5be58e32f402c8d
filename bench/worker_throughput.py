"""End to end: ``relance worker`` on the embedded broker, against a plain faust agent.

    python bench/worker_throughput.py [--contacts 50000] [--baseline-events 15000]
                                      [--latency-seconds 40] [--recovery-contacts 1000000]

One run, one broker, one worker process at a time:

1. throughput: generated traffic loaded into the input topics, then ``relance worker`` from
   the earliest offset; events/s from the first to the last event applied (scraped from the
   worker's /metrics every 0.2 s), resident memory, state bytes per contact (the latest
   changelog record of every contact);
2. the plain faust agent (``faust_baseline.py``: one table write per event) on the first
   ``--baseline-events`` of the same traffic, and the ratio of the two rates;
3. latency: fresh contacts produced live at half the measured rate with a 5 s delay on
   both scenarios; deadline -> command on the delivery topic, p50 and p99;
4. recovery: ``--recovery-contacts`` states written to a worker's changelog, then the
   worker started, killed and started again; seconds until it is ready each time.

A worker is ready when its ``/readyz`` answers 200 (in the group, states restored, the broker
answering) and ``relance_partitions_assigned`` counts all partitions. ``--quick`` runs every
step on small numbers (a minute or two) to check the benchmark itself, not to measure.

Every process it starts (the broker, the workers, the faust agent) is stopped when it ends,
also on an error, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from itertools import cycle
from pathlib import Path
from types import TracebackType

import orjson
from confluent_kafka import Consumer, Producer

from load import create_input_topics, load
from relance.codec.json import encode
from relance.core.events import Event
from relance.core.timestamps import parse_iso
from relance.demo.broker import Broker, EmbeddedBroker
from relance.demo.ports import free_port
from relance.demo.processes import interrupted_by_signals, running, spawn, stop_processes
from relance.demo.run import metrics
from relance.demo.samples.traffic import generate
from relance.kafka.changelog import Changelog
from relance.kafka.topics import TopicSpec
from relance.settings import load_settings
from relance.worker.store import Stored, decode_stored, encode_stored

PARTITIONS = 4
HERE = Path(__file__).resolve().parent
# --quick: every step on small numbers, to check the benchmark runs (figures mean little).
QUICK = {"contacts": 2_000, "baseline_events": 5_000, "latency_seconds": 10.0,
         "recovery_contacts": 20_000}
SHORT_DELAYS = """\
scenarios:
  cart_abandonment:   {delay: 5s, quiet_period: 1h}
  browse_abandonment: {delay: 5s, quiet_period: 1h}
"""


def topics_for(prefix: str) -> dict[str, str]:
    return {"page_view": f"{prefix}-page-views", "cart": f"{prefix}-carts",
            "order": f"{prefix}-orders", "contact": f"{prefix}-contacts"}


class Worker:
    """One ``relance worker`` process on its own topics, app id and port; ``with Worker(...)``
    stops it at the end of the block, however the block ends."""

    def __init__(self, broker: Broker, root: Path, prefix: str, **env: str) -> None:
        self.broker, self.prefix = broker, prefix
        self.topics = topics_for(prefix)
        self.port = free_port()
        self.log = root / f"{prefix}-worker.log"
        self.env = {
            **os.environ, "RELANCE_BROKER": broker.url, "RELANCE_APP_ID": prefix,
            "RELANCE_PARTITIONS": str(PARTITIONS), "RELANCE_SESSION_TIMEOUT": "6",
            "RELANCE_WEB_PORT": str(self.port),
            "RELANCE_INPUT_FORMAT": "json",
            "RELANCE_TOPIC_PAGE_VIEWS": self.topics["page_view"],
            "RELANCE_TOPIC_CARTS": self.topics["cart"],
            "RELANCE_TOPIC_ORDERS": self.topics["order"],
            "RELANCE_TOPIC_CONTACTS": self.topics["contact"],
            "RELANCE_TOPIC_DELIVERIES": f"{prefix}-deliveries",
            "RELANCE_TOPIC_DLQ": f"{prefix}-dlq", **env}
        create_input_topics(broker, self.topics, PARTITIONS)
        broker.create_topics([TopicSpec(f"{prefix}-deliveries", PARTITIONS),
                              TopicSpec(f"{prefix}-dlq", PARTITIONS)])
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def start(self) -> float:
        self.process = spawn([sys.executable, "-m", "relance", "worker"], log=self.log,
                             env=self.env)
        return time.perf_counter()

    def consumed(self) -> int:
        return int(sum(v for k, v in metrics(self.port).items()
                       if k.startswith("relance_events_consumed_total{")))

    def memory_mb(self) -> tuple[float, float]:
        """Resident and peak resident set of the process, MB."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)

    def ready(self) -> bool:
        """/readyz answers 200, and every partition is assigned: the gauge is set once the
        states are restored, so a moment of the assignment that /readyz could see as ready
        (joined, restoring not yet marked) does not count."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz",
                                        timeout=2) as page:
                if page.status != 200:
                    return False
        except OSError:  # not serving yet, or 503 (HTTPError is an OSError)
            return False
        return metrics(self.port).get("relance_partitions_assigned") == PARTITIONS

    def until(self, check: Callable[[], bool], timeout: float, every: float = 0.2) -> float:
        """Poll ``check`` until true; the perf_counter time it first was. Fails at once if
        the worker exits meanwhile."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the worker exited with code {self.process.returncode}; "
                                   f"see {self.log}")
            if check():
                return time.perf_counter()
            time.sleep(every)
        raise TimeoutError(f"not done within {timeout:.0f}s; see {self.log}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None:
            stop_processes([self.process])


def throughput(broker: EmbeddedBroker, root: Path, events: list[Event]) -> dict[str, float]:
    with Worker(broker, root, "thr") as worker:
        started = time.perf_counter()
        count = load(broker.bootstrap, worker.topics, events, partitions=PARTITIONS)
        print(f"loaded {count:,} events in {time.perf_counter() - started:.1f}s")
        worker.start()
        first = worker.until(lambda: worker.consumed() > 0, 120, every=0.05)
        last = worker.until(lambda: worker.consumed() >= count, 1800)
        rss, peak = worker.memory_mb()
    seconds = last - first
    settings = load_settings(broker=broker.url, app_id="thr", partitions=PARTITIONS)
    tables = Changelog(settings, "thr-worker-contact-state-changelog").recover(
        range(PARTITIONS))
    sizes = [len(value) for table in tables.values() for value in table.values()]
    return {"events": count, "seconds": seconds, "rate": count / seconds, "rss_mb": rss,
            "peak_mb": peak, "contacts": len(sizes),
            "state_bytes": sum(sizes) / max(1, len(sizes)), "max_state_bytes": max(sizes)}


def baseline(broker: EmbeddedBroker, root: Path, events: list[Event]) -> float:
    topics = topics_for("faust")
    create_input_topics(broker, topics, PARTITIONS)
    broker.create_topics([TopicSpec("faust-base-contact-state-changelog", PARTITIONS)])
    count = load(broker.bootstrap, topics, events, partitions=PARTITIONS)
    log = root / "faust-baseline.log"
    with log.open("ab") as errors, running(
            [sys.executable, str(HERE / "faust_baseline.py"), "--broker", broker.url,
             "--app-id", "faust-base", "--data-dir", str(root / "faust"), "--partitions",
             str(PARTITIONS), "--store", "memory://", "--topics",
             ",".join(topics[t] for t in ("page_view", "cart", "order", "contact")),
             "--expect", str(count)], stdout=subprocess.PIPE, stderr=errors) as agent:
        out, _ = agent.communicate(timeout=1800)
    if agent.returncode != 0 or not out.strip():
        raise RuntimeError(f"the faust agent exited with code {agent.returncode}; see {log}")
    result = orjson.loads(out.strip().splitlines()[-1])
    return float(result["events_per_s"])


def latency(broker: EmbeddedBroker, root: Path, events: list[Event], rate: float,
            seconds: float) -> dict[str, float]:
    scenarios = root / "short.yaml"
    scenarios.write_text(SHORT_DELAYS)
    lags: list[float] = []
    stop = threading.Event()
    reader = threading.Thread(target=_read_lags, args=(broker, "lat-deliveries", lags, stop),
                              daemon=True)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5,
                         "partitioner": "murmur2_random"})
    with Worker(broker, root, "lat", RELANCE_SCENARIOS=str(scenarios),
                RELANCE_OUTPUT_FORMAT="json") as worker:
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
    return {"sent": sent, "rate": sent / seconds, "commands": len(lags),
            "p50": lags[len(lags) // 2], "p99": lags[min(len(lags) - 1, int(len(lags) * 0.99))],
            "max": lags[-1], "kept_up": float(kept_up)}


def _produce_live(producer: Producer, worker: Worker, events: list[Event], rate: float,
                  seconds: float) -> tuple[int, bool]:
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
            event = dataclasses.replace(event, occurred_at=now_ms,
                                        contact_id=f"{event.contact_id}-{lap}")
            producer.produce(worker.topics[event.type], encode(event),
                             event.contact_id.encode())
            sent += 1
        producer.poll(0)
        time.sleep(0.005)
    producer.flush(30)
    time.sleep(8)  # the last deadlines (5 s) fire
    return sent, worker.consumed() >= sent


def _read_lags(broker: EmbeddedBroker, topic: str, lags: list[float],
               stop: threading.Event) -> None:
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "lat-reader",
                         "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
                         "fetch.wait.max.ms": 20})
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


def recovery(broker: EmbeddedBroker, root: Path, templates: list[bytes],
             contacts: int) -> dict[str, float]:
    topic = "rec-worker-contact-state-changelog"
    broker.create_topics([TopicSpec(topic, PARTITIONS, compacted=True)])
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 50,
                         "batch.num.messages": 10000, "queue.buffering.max.messages": 1_000_000})
    started = time.perf_counter()
    states = [decode_stored(raw) for raw in templates]
    total = 0
    for n, stored in zip(range(contacts), cycle(states), strict=False):
        key = f"rc-{n}"
        value = encode_stored(Stored(n % PARTITIONS, stored.offsets,
                                     stored.state._replace(contact_id=key)))
        total += len(value)
        while True:
            try:
                producer.produce(topic, value, key.encode(), n % PARTITIONS)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(120)
    print(f"wrote {contacts:,} states ({total / 1e6:.0f} MB) to {topic} in "
          f"{time.perf_counter() - started:.1f}s")
    with Worker(broker, root, "rec") as worker:
        began = worker.start()
        cold = worker.until(worker.ready, 600) - began
        rss, _ = worker.memory_mb()
        worker.kill()
        began = worker.start()
        again = worker.until(worker.ready, 600) - began
    restored = [line for line in worker.log.read_text().splitlines() if "restored" in line]
    print("  worker log: " + "\n  worker log: ".join(restored))
    return {"contacts": contacts, "first_start": cold, "after_kill": again, "rss_mb": rss}


@contextmanager
def embedded_broker(root: Path) -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(log=root / "tansu.log") as broker:
        yield broker


def report(name: str, figures: Mapping[str, float]) -> None:
    print(f"{name}: " + ", ".join(f"{k}={v:,.2f}" if isinstance(v, float) else f"{k}={v:,}"
                                  for k, v in figures.items()), flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, help="default 50,000")
    parser.add_argument("--baseline-events", type=int, help="default 15,000")
    parser.add_argument("--latency-seconds", type=float, help="default 40")
    parser.add_argument("--latency-rate", type=float,
                        help="events/s of the latency run (default: half the measured rate)")
    parser.add_argument("--recovery-contacts", type=int, help="default 1,000,000")
    parser.add_argument("--quick", action="store_true",
                        help="defaults for a quick check of the benchmark: "
                        + ", ".join(f"{k}={v:,}" for k, v in QUICK.items()))
    parser.add_argument("--keep", type=Path,
                        help="a folder to keep the logs in (default: a temporary one)")
    parser.add_argument("--skip", action="append", default=[],
                        choices=["baseline", "latency", "recovery"])
    args = parser.parse_args()
    defaults = QUICK if args.quick else {"contacts": 50_000, "baseline_events": 15_000,
                                         "latency_seconds": 40.0,
                                         "recovery_contacts": 1_000_000}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def run(args: argparse.Namespace, root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    with embedded_broker(root) as broker:
        events = generate(args.contacts)
        print(f"generated {len(events):,} events for {args.contacts:,} contacts")
        fast = throughput(broker, root, events)
        report("relance worker", fast)
        if "baseline" not in args.skip:
            slow = baseline(broker, root, events[:args.baseline_events])
            print(f"plain faust agent: {slow:,.0f} events/s; relance worker / faust = "
                  f"{fast['rate'] / slow:.1f}x")
        if "latency" not in args.skip:
            fresh = generate(min(20_000, args.contacts), seed=2)
            report("latency at half rate (seconds)",
                   latency(broker, root, fresh, args.latency_rate or fast["rate"] / 2,
                           args.latency_seconds))
        if "recovery" not in args.skip:
            settings = load_settings(broker=broker.url, app_id="thr", partitions=PARTITIONS)
            tables = Changelog(settings, "thr-worker-contact-state-changelog").recover(
                range(PARTITIONS))
            templates = [v for t in tables.values() for v in t.values()][:10_000]
            report("recovery", recovery(broker, root, templates, args.recovery_contacts))


def main() -> None:
    args = parse_args()
    try:
        # SIGTERM unwinds like Ctrl-C: each step's worker, then the broker, are stopped.
        with interrupted_by_signals(), tempfile.TemporaryDirectory() as tmp:
            run(args, args.keep or Path(tmp))
    except KeyboardInterrupt:
        print("interrupted: the broker and the workers it started are stopped",
              file=sys.stderr, flush=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
