"""``relance demo``: the live pipeline on one machine, fed by simulated shoppers in real time.

It starts the embedded broker, an SMTP sink saving every email into an outbox folder, and
``relance worker``, ``relance sender`` and ``relance gateway`` as subprocesses (the gateway on
a local port, which the links of the emails point to, signed with a key of this run), then
produces Avro events of shoppers who browse, leave carts or buy, and prints progress until
Ctrl-C or ``--duration``. Scenario delays are shortened (seconds, not hours) so reminders
arrive while you watch.
"""

from __future__ import annotations

import heapq
import os
import random
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Final

from confluent_kafka import Producer
from msgspec.structs import replace

from relance.codec import avro
from relance.core.events import Event
from relance.demo.broker import EmbeddedBroker
from relance.demo.mailsink import MailSink
from relance.demo.outbox_index import INDEX
from relance.demo.ports import free_port
from relance.demo.processes import interrupted_by_signals, spawn, stop_processes
from relance.demo.samples.traffic import Shop, session
from relance.kafka.topics import TopicSpec
from relance.settings import Settings

PARTITIONS: Final = 4
SCENARIOS: Final = """\
# Written by `relance demo`: delays in seconds so the reminders arrive while you watch.
scenarios:
  cart_abandonment:   {delay: 20s, quiet_period: 1h}
  browse_abandonment: {delay: 30s, quiet_period: 1h}
# Placeholders, as they say: a shop gives its own name, postal address and pages.
brand:
  name: Demo Shop (placeholder name)
  address: |
    1 Placeholder Street, 75000 Paris, France
    (a placeholder address: set brand.address in your scenario file)
  shop_url: https://shop.example/
  cart_url: https://shop.example/cart/restore/{cart_id}
  account_url: https://shop.example/account
  support_email: help@shop.example
"""
# Setting name -> the RELANCE_* variable naming that topic; names are the Settings defaults.
TOPIC_SETTINGS: Final = (
    "topic_page_views",
    "topic_carts",
    "topic_orders",
    "topic_contacts",
    "topic_engagement",
    "topic_deliveries",
    "topic_dlq",
    "topic_results",
)
INPUT_OF: Final = {
    "page_view": "topic_page_views",
    "cart": "topic_carts",
    "order": "topic_orders",
    "contact": "topic_contacts",
}
SHOPPERS_PER_SECOND: Final = 2.0
COMPRESSION: Final = 15  # a shopper's minute between two pages becomes four seconds
PROGRESS_EVERY: Final = 5.0


def topic(setting: str) -> str:
    return str(Settings.model_fields[setting].default)


class Traffic:
    """Shoppers arriving at random, each visit's events produced at their (compressed) time."""

    def __init__(self, producer: Producer, rng: random.Random | None = None) -> None:
        self.producer = producer
        self.rng = rng or random.Random()
        self.shop = Shop.build()
        self.shoppers = 0
        self.events = 0
        self._due: list[tuple[float, int, Event]] = []
        self._sequence = 0
        self._next_arrival = time.monotonic()

    def step(self) -> float:
        """Let due shoppers in, produce due events; return when there is work again."""
        now = time.monotonic()
        while self._next_arrival <= now:
            self._arrive(self._next_arrival)
            self._next_arrival += self.rng.expovariate(SHOPPERS_PER_SECOND)
        while self._due and self._due[0][0] <= now:
            _, _, event = heapq.heappop(self._due)
            self._produce(event)
        self.producer.poll(0)
        return min(self._next_arrival, self._due[0][0] if self._due else self._next_arrival)

    def _arrive(self, at: float) -> None:
        self.shoppers += 1
        contact = f"shopper-{self.shoppers}"
        start = time.time_ns() // 1_000_000
        # Most shoppers are known (a profile, opted in four times in five), as in a shop
        # whose visitors are mostly logged in.
        visit = session(self.shop, self.rng, contact, start, with_profile=self.rng.random() < 0.9)
        for event in visit:
            offset = (event.occurred_at - start) / COMPRESSION / 1000
            self._sequence += 1
            heapq.heappush(self._due, (at + offset, self._sequence, event))

    def _produce(self, event: Event) -> None:
        stamped = replace(event, occurred_at=time.time_ns() // 1_000_000)
        self.producer.produce(
            topic(INPUT_OF[event.type]), key=event.contact_id.encode(), value=avro.encode(stamped)
        )
        self.events += 1

    def flush(self) -> int:
        return int(self.producer.flush(10))


def new_producer(bootstrap: str) -> Producer:
    # murmur2 like faust, so all of a contact's inputs meet on one partition; one record per
    # batch because the embedded broker reports end offsets per batch.
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "partitioner": "murmur2_random",
            "batch.num.messages": 1,
            "linger.ms": 0,
            "log.connection.close": False,
        }
    )


def metrics(port: int) -> dict[str, float]:
    """A process's /metrics as {'name{labels}': value}; empty while it is not serving."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as page:
            text = page.read().decode()
    except OSError:
        return {}
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                samples[name] = float(value)
            except ValueError:
                continue
    return samples


def total(samples: dict[str, float], name: str, label: str = "") -> int:
    return int(sum(v for k, v in samples.items() if k.startswith(name + "{") and label in k))


class Pipeline:
    """The worker, sender and gateway processes, with the settings the demo gives them."""

    def __init__(self, folder: Path, broker: EmbeddedBroker, smtp_port: int) -> None:
        self.folder = folder
        self.worker_port = free_port()
        self.sender_port = free_port()
        self.gateway_port = free_port()
        self.gateway_url = f"http://127.0.0.1:{self.gateway_port}"
        scenarios = folder / "scenarios.yaml"
        scenarios.write_text(SCENARIOS, encoding="utf-8")
        # Only the demo's settings: RELANCE_* and SCHEMA_REGISTRY_* variables of the caller's
        # shell (a production cluster's, its credentials) are left out.
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("RELANCE_", "SCHEMA_REGISTRY_"))
        }
        self.env = {
            **inherited,
            "RELANCE_BROKER": broker.url,
            "RELANCE_APP_ID": "relance-demo",
            "RELANCE_PARTITIONS": str(PARTITIONS),
            "RELANCE_SESSION_TIMEOUT": "6",
            "RELANCE_COMMIT_INTERVAL": "0.5",
            "RELANCE_WEB_PORT": str(self.worker_port),
            "RELANCE_SENDER_WEB_PORT": str(self.sender_port),
            "RELANCE_SMTP_HOST": "127.0.0.1",
            "RELANCE_SMTP_PORT": str(smtp_port),
            "RELANCE_RETRY_BACKOFF": "0.2",
            "RELANCE_SCENARIOS": str(scenarios),
            "RELANCE_MAIL_FROM": "Demo Shop <shop@example.com>",
            # The links of the emails lead to the demo's gateway, signed with a key
            # of this run only.
            "RELANCE_GATEWAY_WEB_PORT": str(self.gateway_port),
            "RELANCE_GATEWAY_URL": self.gateway_url,
            "RELANCE_LINK_KEYS": f"demo:{secrets.token_urlsafe(24)}",
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        for kind in ("worker", "sender", "gateway"):
            log = self.folder / f"{kind}.log"
            log.unlink(missing_ok=True)
            # A group of its own: Ctrl-C reaches the demo only, which stops them in order.
            self.processes[kind] = spawn(
                [sys.executable, "-m", "relance", kind], log=log, env=self.env, cwd=self.folder
            )

    def exited(self) -> str | None:
        """The first process that stopped on its own, if any."""
        return next((kind for kind, p in self.processes.items() if p.poll() is not None), None)

    def stop(self) -> None:
        stop_processes(self.processes.values())
        self.processes.clear()


def shield() -> None:
    """From here on the shutdown runs to its end: a second Ctrl-C must not cut it short."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def prepare(folder: Path) -> Path:
    """The demo folder, emptied of a previous run's broker log."""
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "broker.log").unlink(missing_ok=True)
    return folder


def say(line: str) -> None:
    print(f"relance demo: {line}", flush=True)


def run_demo(outbox: Path, folder: Path, duration: float | None = None) -> int:
    """Run the whole pipeline until Ctrl-C (or ``duration`` seconds); 0 when stopped cleanly."""
    folder, outbox = prepare(folder), outbox.resolve()
    started = time.monotonic()
    with interrupted_by_signals(), ExitStack() as stack:
        try:
            say(
                "starting the embedded broker, the SMTP sink, the worker, the sender and the "
                "gateway ..."
            )
            broker = EmbeddedBroker(log=folder / "broker.log")
            stack.callback(broker.stop)  # also when Ctrl-C comes while it starts
            broker.start()
            broker.create_topics(
                TopicSpec(topic(name), PARTITIONS, compacted=name == "topic_contacts")
                for name in TOPIC_SETTINGS
            )
            sink = stack.enter_context(MailSink(outbox, index=True))
            pipeline = Pipeline(folder, broker, sink.port)
            stack.callback(pipeline.stop)
            pipeline.start()
            traffic = Traffic(new_producer(broker.bootstrap))
        except KeyboardInterrupt:
            shield()
            say("interrupted while starting; stopping ...")
            return 0
        banner(pipeline, outbox, duration)
        code, decided = watch(traffic, pipeline, sink, started, duration)
        ran = time.monotonic() - started
        shield()
        say("stopping ...")
        traffic.flush()
        decided = max(
            decided, total(metrics(pipeline.worker_port), "relance_commands_decided_total")
        )
    say(
        f"ran {ran:.0f}s: {traffic.events} events of {traffic.shoppers} "
        f"shoppers produced, {decided} commands decided, {len(sink.paths())} emails saved "
        f"in {outbox}"
    )
    return code


def banner(pipeline: Pipeline, outbox: Path, duration: float | None) -> None:
    say(f"emails land in   {outbox}  (.eml files, any mail client opens them)")
    say(f"outbox page      {outbox / INDEX}  (open it in a browser: every email caught)")
    say(f"worker metrics   http://127.0.0.1:{pipeline.worker_port}/metrics")
    say(f"sender metrics   http://127.0.0.1:{pipeline.sender_port}/metrics")
    say(f"gateway          {pipeline.gateway_url}  (the emails' unsubscribe and preference links)")
    say(f"logs             {pipeline.folder}  (broker.log, worker.log, sender.log, gateway.log)")
    say("scenarios        cart left 20s -> reminder; products viewed, no cart, 30s -> reminder")
    until = f" (or after {duration:g}s)" if duration is not None else ""
    say(f"shoppers arrive now; stop with Ctrl-C{until}")


def watch(
    traffic: Traffic, pipeline: Pipeline, sink: MailSink, started: float, duration: float | None
) -> tuple[int, int]:
    """Drive the traffic and print progress until the end; (exit code, commands decided)."""
    decided = 0
    next_report = started + PROGRESS_EVERY
    end = started + duration if duration is not None else float("inf")
    try:
        while (now := time.monotonic()) < end:
            wake = traffic.step()
            if now >= next_report:
                decided = max(decided, report(traffic, pipeline, sink, now - started))
                next_report += PROGRESS_EVERY
            if (stopped := pipeline.exited()) is not None:
                say(f"the {stopped} stopped unexpectedly: see {pipeline.folder}/{stopped}.log")
                return 1, decided
            time.sleep(max(0.005, min(wake, next_report, end) - time.monotonic()))
    except KeyboardInterrupt:
        print(file=sys.stdout, flush=True)  # past the ^C the terminal echoed
    return 0, decided


def report(traffic: Traffic, pipeline: Pipeline, sink: MailSink, elapsed: float) -> int:
    """Print one progress line; return the commands decided so far."""
    worker = metrics(pipeline.worker_port)
    sender = metrics(pipeline.sender_port)
    decided = total(worker, "relance_commands_decided_total")
    state = "" if worker and sender else "  (worker/sender still starting)"
    say(
        f"[{elapsed:4.0f}s] shoppers {traffic.shoppers}, events produced {traffic.events}, "
        f"consumed {total(worker, 'relance_events_consumed_total')}, commands decided "
        f"{decided}, delivered {total(sender, 'relance_deliveries_total', 'delivered')}, "
        f"emails in outbox {len(sink.paths())}{state}"
    )
    return decided
