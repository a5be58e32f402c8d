"""The worker benchmark's implementations on a tiny traffic: each applies every event, and
the check the benchmark makes of them fails one that did not, so that a peer cannot rot
into a fast one that skips work."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import orjson
import pytest

from relance.codec.json import encode
from relance.demo.broker import Broker

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))  # the benchmark's modules import each other by name

import implementations  # noqa: E402  # found through the path set just above
import load  # noqa: E402  # likewise
import peer_state  # noqa: E402  # likewise

pytestmark = pytest.mark.integration


def test_every_implementation_applies_every_event(broker: Broker, tmp_path: Path) -> None:
    events = load.generate("realistic", 300, seed=7)
    tag = f"p{uuid.uuid4().hex[:8]}"
    topics = {fmt: implementations.topics_for(f"{tag}-in-{fmt}") for fmt in ("json", "avro")}
    for fmt, names in topics.items():
        load.create_input_topics(broker, names, implementations.PARTITIONS)
        assert load.load(
            broker.bootstrap, names, events, partitions=implementations.PARTITIONS, fmt=fmt
        ) == len(events)
    traffic = implementations.Traffic.of(events, topics)
    assert traffic.ordered and len(traffic.reference) > len(traffic.ordered)
    for name in implementations.IMPLEMENTATIONS:
        result = implementations.run(
            name, broker, tmp_path, traffic, tag, baseline_events=len(events)
        )
        assert (result.name, result.events) == (name, len(events))
        assert result.seconds > 0
        if name != "faust":  # it counts its own events; its changelog is not read
            assert result.contacts == traffic.contacts
            assert result.checked == len(traffic.reference)


def test_the_check_fails_a_peer_that_skipped_an_event() -> None:
    events = load.generate("realistic", 200, seed=7)
    traffic = implementations.Traffic.of(events, {})
    states: dict[bytes, peer_state.State] = {}
    for event in events:
        key = event.contact_id.encode()
        states[key] = peer_state.apply(states.get(key), orjson.loads(encode(event)))
    assert implementations.check_peer("peer", states, traffic) == len(traffic.reference)
    contact = next(iter(traffic.reference))
    one_short = {**states[contact.encode()], "events": states[contact.encode()]["events"] - 1}
    with pytest.raises(RuntimeError, match="applied"):
        implementations.check_peer("peer", {**states, contact.encode(): one_short}, traffic)
    stale = {**states[contact.encode()], "profile": {}}
    with pytest.raises(RuntimeError, match="state of"):
        implementations.check_peer("peer", {**states, contact.encode(): stale}, traffic)
