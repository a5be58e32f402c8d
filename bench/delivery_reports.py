"""What a delivery report per record costs the thread that produces: ``Outputs``' producer
with a report for every record against one for failed records only.

    python bench/delivery_reports.py [--records 100000] [--rounds 5]

On the embedded broker, a topic of 4 partitions; each round produces ``--records`` records
of 230 bytes (a contact state's size) as ``Outputs.write`` does (a partition each, a
callback each, ``poll(0)`` every 5,000), then flushes, once with each setting, the order
turned every round. Prints, per setting, the median (min-max) over the rounds of the
process's CPU time per record (the client's threads included) and of the wall time of
produce and flush (the producing thread's share).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from relance.demo.broker import EmbeddedBroker, TopicSpec
from relance.kafka.clients import producer_config
from relance.kafka.outputs import FAILURES_ONLY
from relance.settings import Settings

SETTINGS: dict[str, dict[str, Any]] = {"every record": {}, "failures only": FAILURES_ONLY}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def produce(broker: str, records: int, extra: dict[str, Any]) -> tuple[float, float]:
    """CPU µs a record and wall seconds, for ``records`` produced and flushed by the
    processes' producer (``producer_config``) with ``extra`` on top."""
    failed: list[object] = []

    def report(error: object, _message: object) -> None:
        if error is not None:
            failed.append(error)

    producer = Producer(producer_config(Settings(broker=broker), **extra))
    producer.produce("reports", b"warm", b"up", 0, on_delivery=report)
    producer.flush(30)
    value = b"x" * 230
    cpu, wall = cpu_seconds(), time.perf_counter()
    for n in range(records):
        producer.produce("reports", value, b"contact-%d" % n, n % 4, on_delivery=report)
        if n % 5000 == 4999:
            producer.poll(0)
    if producer.flush(60) or failed:
        raise RuntimeError(f"not every record was stored ({len(failed)} failed)")
    return 1e6 * (cpu_seconds() - cpu) / records, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(time.strftime("%Y-%m-%d %H:%M"), flush=True)
    found: dict[str, list[tuple[float, float]]] = {name: [] for name in SETTINGS}
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedBroker(log=Path(tmp) / "tansu.log") as broker,
    ):
        broker.create_topics([TopicSpec("reports", 4)])
        names = list(SETTINGS)
        for number in range(args.rounds):
            for name in names[number % 2 :] + names[: number % 2]:
                found[name].append(produce(broker.url, args.records, SETTINGS[name]))
    for name, runs in found.items():
        cpu = [c for c, _ in runs]
        wall = [w for _, w in runs]
        print(
            f"{name}: {statistics.median(cpu):.2f} µs CPU a record "
            f"({min(cpu):.2f}-{max(cpu):.2f}), "
            f"{statistics.median(wall):.2f} s wall for {args.records:,} "
            f"({min(wall):.2f}-{max(wall):.2f}), {len(runs)} rounds"
        )


if __name__ == "__main__":
    main()
