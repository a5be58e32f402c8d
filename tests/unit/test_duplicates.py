"""The same event read twice is applied once: in the core, in simulate, in the worker's path."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

from relance.codec import json as json_codec
from relance.core import duplicates
from relance.core.engine import Engine
from relance.core.events import CartChange, Event, Order, OrderItem, PageView
from relance.core.scenarios import DEFAULT_CONFIG, Config
from relance.core.state import ContactState
from relance.scenario_file import load_config
from relance.worker.pipeline import Pipeline
from relance.worker.store import Stored, decode_stored, encode_stored

from .test_pipeline import INPUTS, Counts, everything_read
from .timeline import T0, at, cart, order, product, profile, view

ORDERS = load_config("scenarios:\n  order_confirmation: {}\n")
HOUR_WINDOW = load_config("scenarios:\n  cart_abandonment: {}\ninputs:\n  dedupe_window: 1h\n")


def taken(events: list[Event], config: Config = DEFAULT_CONFIG) -> tuple[Engine, list[bool]]:
    """The engine after ``events``, and which of them it reported as duplicates."""
    engine = Engine(config)
    return engine, [engine.feed(event).duplicate for event in events]


def quantity(engine: Engine, contact: str = "c1") -> int:
    (line,) = engine.states[contact].cart.lines
    return line.quantity


def test_a_cart_add_read_twice_adds_one() -> None:
    add = cart(0)
    engine, reported = taken([profile(), add, add])
    assert reported == [False, False, True]
    assert quantity(engine) == 1


def test_a_view_read_twice_counts_one_view() -> None:
    seen = view(0, "p1")
    engine, reported = taken([profile(), seen, view(1, "p2"), seen])
    assert reported == [False, False, False, True]
    assert [(v.product.id, v.views) for v in engine.states["c1"].browse.viewed] == [
        ("p1", 1),
        ("p2", 1),
    ]


def test_an_order_read_twice_decides_one_command() -> None:
    placed = order(0)
    engine = Engine(ORDERS)
    first = engine.feed(profile())
    applied = [engine.feed(placed), engine.feed(placed)]
    assert not first.outcomes
    assert [a.duplicate for a in applied] == [False, True]
    assert [o.scenario for a in applied for o in a.outcomes] == ["order_confirmation"]
    assert engine.advance(at(60)) == []


def test_a_duplicate_within_the_window_is_skipped_and_one_older_is_applied_again() -> None:
    add = cart(0)
    within = [profile(), add, cart(60, pid="p2"), add]  # the window is 1h: 0 is still in it
    engine, reported = taken(within, HOUR_WINDOW)
    assert reported[-1] is True and quantity_of(engine, "p1") == 1
    past = [profile(), add, cart(60 + 1 / 60, pid="p2"), add]  # one second more
    engine, reported = taken(past, HOUR_WINDOW)
    assert reported[-1] is False and quantity_of(engine, "p1") == 2


def quantity_of(engine: Engine, pid: str) -> int:
    return next(line.quantity for line in engine.states["c1"].cart.lines if line.product.id == pid)


def test_at_most_max_ids_are_remembered_the_oldest_go_first() -> None:
    adds = [cart(n / 60, pid=f"p{n}") for n in range(duplicates.MAX_IDS + 1)]
    roomy = replace(DEFAULT_CONFIG, inputs=replace(DEFAULT_CONFIG.inputs, cart_lines=100))
    engine, _ = taken([*adds, adds[1], adds[0]], roomy)
    assert len(engine.states["c1"].seen) == duplicates.MAX_IDS * duplicates.ENTRY
    assert quantity_of(engine, "p1") == 1  # still remembered: skipped
    assert quantity_of(engine, "p0") == 2  # pushed out by the cap: applied again


def test_an_event_that_changes_nothing_is_not_remembered() -> None:
    home = view(0, None, page_type="home")
    engine, reported = taken([home, home])
    assert reported == [False, False]
    assert engine.states["c1"].seen == b""


def test_ids_out_of_order_keep_the_memory_in_time_order() -> None:
    memory = b""
    for n, minute in enumerate((10, 30, 20, 0)):
        memory = duplicates.remember(memory, duplicates.fingerprint(f"e{n}"), at(minute), 3_600_000)
    assert duplicates.times(memory) == [(at(m)) // 1000 for m in (0, 10, 20, 30)]
    assert all(duplicates.known(memory, duplicates.fingerprint(f"e{n}")) for n in range(4))
    assert not duplicates.known(memory, duplicates.fingerprint("e4"))
    late = duplicates.remember(memory, duplicates.fingerprint("old"), at(-31), 3_600_000)
    assert late == memory  # older than the window before the latest: not kept


def test_a_fingerprint_is_found_only_at_the_start_of_an_entry() -> None:
    mark = duplicates.fingerprint("e1")
    memory = duplicates.remember(b"", duplicates.fingerprint("e0"), T0, 3_600_000)
    # The bytes of ``mark`` straddling two entries are not an entry.
    straddling = memory[:6] + mark + memory[6:]
    assert mark in straddling and not duplicates.known(straddling, mark)


def test_fingerprints_are_stable_across_processes() -> None:
    code = "from relance.core.duplicates import fingerprint; print(fingerprint('e-1').hex())"
    printed = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert printed == {duplicates.fingerprint("e-1").hex()}


def test_a_state_with_remembered_ids_is_stored_and_read_back() -> None:
    engine, _ = taken([profile(), cart(0)])
    state = engine.states["c1"]
    assert state.seen
    stored = Stored(0, (1, 2), state)
    assert decode_stored(encode_stored(stored)) == stored
    without = Stored(0, (1, 2), ContactState("c1"))
    assert decode_stored(encode_stored(without)) == without


def test_the_worker_path_counts_a_duplicate_by_topic_and_writes_nothing_for_it() -> None:
    counts = Counts()
    made = Pipeline(
        DEFAULT_CONFIG,
        INPUTS,
        partial(json_codec.decode, rules=DEFAULT_CONFIG.inputs),
        counts,
        lambda: 0,
    )
    made.assign(0, {})
    add = CartChange("k1", "ann", 1000, "add", product("p1"))
    made.handle("carts", 0, 0, b"ann", json_codec.encode(add))
    made.drain(0, everything_read)
    assert made.commit_states()
    made.handle("carts", 0, 1, b"ann", json_codec.encode(add))  # produced twice: offset 1
    made.drain(0, everything_read)
    assert counts.duplicates == ["carts"]
    assert made.commit_states() == {}


def test_simulate_reports_the_duplicates_it_skipped(tmp_path: Path) -> None:
    events = [
        profile(),
        cart(0),
        view(5, "p9", contact="c2"),
        profile(contact="c4"),
        Order("o1", "c4", at(10), "order-1", "placed", (OrderItem(product("p1"), 1),), 10.0, "EUR"),
        PageView("v-home", "c3", at(11), "home"),
    ]
    once = b"".join(json_codec.encode(e) + b"\n" for e in events)
    twice = b"".join(json_codec.encode(e) + b"\n" for e in events for _ in range(2))
    (tmp_path / "twice.jsonl").write_bytes(twice)
    (tmp_path / "shop.yaml").write_text(
        "scenarios:\n  cart_abandonment: {}\n  order_confirmation: {}\n"
    )
    runs = {}
    for name, path, stdin in (("once", "-", once), ("twice", str(tmp_path / "twice.jsonl"), b"")):
        runs[name] = subprocess.run(
            [
                sys.executable,
                "-m",
                "relance",
                "simulate",
                "--workers",
                "2",
                "--until",
                "2024-05-02T00:00:00Z",
                "--config",
                str(tmp_path / "shop.yaml"),
                "--events",
                path,
            ],
            input=stdin,
            capture_output=True,
            check=True,
            timeout=60,
        )
    assert len(runs["once"].stdout.splitlines()) == 2  # the cart reminder, the confirmation
    assert runs["twice"].stdout == runs["once"].stdout
    # No scenario of the file looks at views: they change nothing, are not remembered, and
    # their copies are applied again (changing nothing); the other four copies are skipped.
    assert "events read: 12, invalid lines: 0, duplicates: 4," in runs["twice"].stderr.decode()
    assert "duplicates: 0," in runs["once"].stderr.decode()
