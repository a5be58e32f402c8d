"""The worker's hot path without Kafka: what ``BatchLoop`` does with each batch, timed.

    python bench/hot_path.py [--profile realistic|classic] [--contacts 20000] [--repeat 5]
                             [--batch 5000] [--commit-every 4] [--cprofile FILE]

Generated traffic is encoded as JSON once, split by contact over 4 partitions as the
producer's partitioner would, and handed to a ``Pipeline`` in batches of ``--batch``
messages as the consumer hands them to ``BatchLoop.step``: decode, event-time merge, apply,
fire, take the outbox and encode its commands, commit the states and encode their changelog
records, with the real metrics observer. The changelog records are only counted: the
broker's share (produce, acknowledgement) is not here, and ``bench/worker_throughput.py``
measures the whole. ``--commit-every`` is how many batches a commit interval holds (at the
benchmark's rate, 1 s is 4-6 batches of 5,000). Prints the best and the median µs of CPU
per event (the process's CPU time: the machine is shared) of ``--repeat`` runs and the
changelog records written per event; ``--cprofile FILE`` writes the profile of one more run.
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
import statistics
import time
import zlib
from collections import Counter, deque
from functools import partial
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from load import DEFAULT_TOPICS, PROFILES, generate
from relance.codec import json as json_codec
from relance.codec.outputs import AvroOutputCodec
from relance.core.commands import decision_record
from relance.core.scenarios import DEFAULT_CONFIG
from relance.gc_tuning import rare_collections
from relance.metrics import Metrics
from relance.wiring import MetricsObserver
from relance.worker.pipeline import Inputs, Pipeline

PARTITIONS = 4
FETCH = 1000
WALL_NOW = 1_764_633_600_000  # 2025-12-02: the traffic's times are long past
INPUTS = Inputs(tuple((topic, kind) for kind, topic in DEFAULT_TOPICS.items()))  # type: ignore[misc]  # EventType keys
Message = tuple[str, int, int, bytes, bytes]


def messages(profile: str, contacts: int) -> list[Message]:
    """Every event as (topic, partition, offset, key, value), in the order a consumer reading
    the loaded topics from the start gets them: fetches of up to ``FETCH`` messages of one
    topic-partition in turn (so the small topics are read to their end first, as live)."""
    queues: dict[tuple[str, int], deque[Message]] = {}
    for event in generate(profile, contacts):
        topic = DEFAULT_TOPICS[event.type]
        key = event.contact_id.encode()
        partition = zlib.crc32(key) % PARTITIONS
        queue = queues.setdefault((topic, partition), deque())
        queue.append((topic, partition, len(queue), key, json_codec.encode(event)))
    found: list[Message] = []
    while queues:
        for place, queue in list(queues.items()):
            found.extend(queue.popleft() for _ in range(min(FETCH, len(queue))))
            if not queue:
                del queues[place]
    return found


def run(batches: list[list[Message]], commit_every: int) -> tuple[float, int]:
    """Seconds for every batch, and the changelog records the commits wrote."""
    decode = partial(json_codec.decode, rules=DEFAULT_CONFIG.inputs)
    observer = MetricsObserver(Metrics.create(CollectorRegistry()))
    pipeline = Pipeline(
        DEFAULT_CONFIG, INPUTS, decode, observer, lambda: WALL_NOW, max_skew_ms=1 << 62
    )
    for partition in range(PARTITIONS):
        pipeline.assign(partition, {})
    left = Counter((m[0], m[1]) for batch in batches for m in batch)
    codec = AvroOutputCodec()
    send = getattr(codec, "encode_send", lambda command: codec.encode_command(command.to_record()))
    with rare_collections():  # as the worker's loop runs
        return _batches(pipeline, batches, left, send, commit_every)


def _batches(
    pipeline: Pipeline,
    batches: list[list[Message]],
    left: Counter[tuple[str, int]],
    send: Any,
    commit_every: int,
) -> tuple[float, int]:
    def caught_up(topic: str, partition: int) -> bool:
        return left[topic, partition] == 0

    written = 0
    started = time.process_time()
    for number, batch in enumerate(batches, 1):
        for topic, partition, offset, key, value in batch:
            pipeline.handle(topic, partition, offset, key, value)
            left[topic, partition] -= 1
        for partition in range(PARTITIONS):
            pipeline.drain(partition, caught_up)
            pipeline.fire(partition, caught_up, WALL_NOW)
        outbox = pipeline.take_outbox()  # encoded as Outputs does (Avro, decisions JSON)
        for command in outbox.commands:
            send(command)
        for outcome in outbox.decisions:
            orjson.dumps(decision_record(outcome))
        written += _commit(pipeline, last=number == len(batches), every=commit_every, number=number)
    return time.process_time() - started, written


def _commit(pipeline: Pipeline, *, last: bool, every: int, number: int) -> int:
    commit: Any = pipeline.commit_states
    if "save" not in inspect.signature(commit).parameters:
        changes = commit()  # before the changelog was written once per commit interval
    else:
        changes = commit(save=last or number % every == 0)
    return sum(len(records) for records in changes.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="realistic")
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--commit-every", type=int, default=4)
    parser.add_argument("--cprofile")
    args = parser.parse_args()
    found = messages(args.profile, args.contacts)
    batches = [found[at : at + args.batch] for at in range(0, len(found), args.batch)]
    run(batches, args.commit_every)  # warm up
    times, written = [], 0
    for _ in range(args.repeat):
        seconds, written = run(batches, args.commit_every)
        times.append(seconds / len(found) * 1e6)
    print(
        f"{len(found):,} events: best {min(times):.2f} µs/event, median "
        f"{statistics.median(times):.2f} µs/event ({args.repeat} runs); "
        f"{written / len(found):.3f} changelog records an event"
    )
    if args.cprofile:
        profiler = cProfile.Profile()
        profiler.enable()
        run(batches, args.commit_every)
        profiler.disable()
        profiler.dump_stats(args.cprofile)


if __name__ == "__main__":
    main()
