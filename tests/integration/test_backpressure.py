"""The merge cap on the real broker: inputs paused and resumed many times over, and still
every message read exactly once and the commands those of ``relance simulate``."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from relance.core.events import Event, EventType
from relance.core.scenarios import InputRules
from relance.demo.samples import traffic
from relance.wiring import input_decoder
from relance.worker.build import inputs_of

from .conftest import Stack, wait_for
from .test_durability import (
    Deliveries,
    Running,
    committed,
    new_loop,
    settings_of,
    simulated,
)
from .test_live_pipeline import produce

pytestmark = pytest.mark.integration

CAP = 5
BATCH = 50


def test_paused_inputs_lose_and_repeat_nothing(
    stack: Stack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    events = traffic.generate(60)
    expected = simulated(stack, events, tmp_path)
    produce(stack, events)  # read as history: the merge holds what one input is ahead by
    settings = settings_of(stack, batch_size=BATCH, merge_max_waiting=CAP)
    inputs = inputs_of(settings).names
    decode = input_decoder(settings, InputRules())
    decoded: Counter[bytes] = Counter()

    def counting(raw: bytes, of: EventType) -> Event:
        decoded[raw] += 1
        return decode(raw, of)

    loop, _ = new_loop(settings, decode=counting)
    deliveries = Deliveries(stack)
    most = 0
    sampling = threading.Event()

    def sample() -> None:
        nonlocal most
        while not sampling.is_set():
            merge = loop.pipeline.merge
            most = max([most, *(merge.waiting(p) for p in range(settings.partitions))])
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    caplog.set_level(logging.INFO, logger="relance.worker.loop")
    try:
        sampler.start()
        running = Running(loop)
        wait_for(
            lambda: (
                sum(max(0, o) for o in committed(stack, inputs, settings.partitions).values())
                == len(events)
            ),
            timeout=240,
        )
        wait_for(lambda: deliveries.ids() >= set(expected), timeout=60)
        time.sleep(2)
        records = deliveries.read(1)
        running.stop()
        assert running.error is None
    finally:
        sampling.set()
        deliveries.consumer.close()
    pauses = [r for r in caplog.records if "pausing" in r.getMessage()]
    resumes = [r for r in caplog.records if "resuming" in r.getMessage()]
    assert len(pauses) >= 5 and len(resumes) >= 5, (len(pauses), len(resumes))
    assert len(decoded) == len(events) and set(decoded.values()) == {1}
    assert most <= CAP + BATCH * len(inputs)  # an input is read only while its queue is empty
    assert sorted(r["command_id"] for r in records) == sorted(expected)
    assert all(record == expected[record["command_id"]] for record in records)
    print(
        f"\nevents {len(events)}, pauses {len(pauses)}, resumes {len(resumes)}, most waiting "
        f"in a partition {most} (cap {CAP}), commands {len(records)} = simulate {len(expected)}"
    )
