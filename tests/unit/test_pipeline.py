"""The worker's per-message path without Kafka: what a batch sends, writes and commits."""

from __future__ import annotations

from functools import partial

import pytest

from relance.codec import catalog as catalog_codec
from relance.codec import json as json_codec
from relance.core.commands import Outcome
from relance.core.events import CartChange, CatalogUpdate, ContactProfile, Event, PageView, Product
from relance.core.scenarios import DEFAULT_CONFIG
from relance.scenario_file import load_config
from relance.worker.pipeline import Inputs, Pipeline
from relance.worker.store import decode_stored

INPUTS = Inputs(
    (("views", "page_view"), ("carts", "cart"), ("orders", "order"), ("contacts", "contact"))
)
SHOE = Product("sku-1", "Shoe")
HOUR = 3_600_000


class Counts:
    """The pipeline's observer, keeping what it was told."""

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.outcomes: list[Outcome] = []
        self.duplicates: list[str] = []
        self.applied_counts: list[int] = []

    def consumed(self, topic: str, count: int) -> None: ...

    def applied(self, count: int = 1) -> None:
        self.applied_counts.append(count)

    def duplicate(self, topic: str, count: int = 1) -> None:
        self.duplicates.extend([topic] * count)

    def rejected(self, topic: str, reason: str) -> None:
        self.reasons.append(reason)

    def decided(self, outcome: Outcome, wall_now_ms: int) -> None:
        self.outcomes.append(outcome)

    def pending(self, deadlines: int) -> None: ...


def pipeline() -> tuple[Pipeline, Counts]:
    counts = Counts()
    decode = partial(json_codec.decode, rules=DEFAULT_CONFIG.inputs)
    made = Pipeline(DEFAULT_CONFIG, INPUTS, decode, counts, lambda: 0)
    made.assign(0, {})
    return made, counts


def everything_read(topic: str, partition: int) -> bool:
    return True


def feed(made: Pipeline, topic: str, offset: int, event: Event) -> None:
    made.handle(topic, 0, offset, event.contact_id.encode(), json_codec.encode(event))


def test_a_batch_writes_one_changelog_record_per_contact_it_touched() -> None:
    made, _ = pipeline()
    for offset in range(10):
        feed(made, "views", offset, PageView(f"v{offset}", "ann", 1000 + offset, "product", SHOE))
    feed(made, "views", 10, PageView("w", "bob", 2000, "product", SHOE))
    made.drain(0, everything_read)
    changes = made.commit_states()
    assert sorted(key for key, _ in changes[0]) == [b"ann", b"bob"]
    ann = decode_stored(dict(changes[0])[b"ann"])
    assert ann.offsets == (9, -1, -1, -1)
    assert ann.state.browse.viewed[0].views == 10
    assert made.commit_states() == {}


def test_a_message_waiting_for_a_lagging_input_is_not_committed_past() -> None:
    made, _ = pipeline()
    feed(made, "views", 7, PageView("v", "ann", 1000, "home"))
    made.drain(0, lambda topic, partition: topic == "views")  # carts etc. still behind
    assert made.positions([("views", 0), ("carts", 0)]) == {("views", 0): 7}
    made.drain(0, everything_read)
    assert made.positions([("views", 0), ("carts", 0)]) == {("views", 0): 8}


def test_a_poison_message_is_dead_lettered_counted_and_committed() -> None:
    made, counts = pipeline()
    made.handle("carts", 0, 3, b"ann", b"{not json")
    outbox = made.take_outbox()
    assert [(d.offset, d.error.reason) for d in outbox.dead_letters] == [(3, "not_json")]
    assert counts.reasons == ["not_json"]
    assert made.positions([("carts", 0)]) == {("carts", 0): 4}


def test_an_event_replayed_after_a_crash_is_not_applied_twice() -> None:
    made, _ = pipeline()
    feed(
        made,
        "contacts",
        0,
        ContactProfile("p", "ann", 1, email="a@x.example", marketing_opt_in=True),
    )
    feed(made, "carts", 0, CartChange("c", "ann", 2, "add", SHOE, 1))
    made.drain(0, everything_read)
    table = dict(made.commit_states()[0])
    restarted, _ = pipeline()
    restarted.assign(0, table)
    feed(restarted, "carts", 0, CartChange("c", "ann", 2, "add", SHOE, 1))
    restarted.drain(0, everything_read)
    state = restarted.transactions[0].get("ann")
    assert state is not None and state.cart.lines[0].quantity == 1
    assert restarted.pending() == 1


def test_a_deadline_fires_once_event_time_passes_it_and_the_command_waits_in_the_outbox() -> None:
    made, counts = pipeline()
    feed(
        made,
        "contacts",
        0,
        ContactProfile("p", "ann", 1, email="a@x.example", marketing_opt_in=True),
    )
    feed(made, "carts", 0, CartChange("c", "ann", 2, "add", SHOE, 1))
    made.drain(0, everything_read)
    made.fire(0, lambda topic, partition: False, wall_now=10 * HOUR)
    assert made.take_outbox().commands == []
    made.fire(0, everything_read, wall_now=10 * HOUR)
    (command,) = made.take_outbox().commands
    assert command.scenario == "cart_abandonment" and command.contact_id == "ann"
    assert counts.outcomes == [command]


def skewed_pipeline(wall: int) -> tuple[Pipeline, Counts]:
    counts = Counts()
    decode = partial(json_codec.decode, rules=DEFAULT_CONFIG.inputs)
    made = Pipeline(DEFAULT_CONFIG, INPUTS, decode, counts, lambda: wall, max_skew_ms=HOUR)
    made.assign(0, {})
    return made, counts


def test_an_event_far_ahead_of_the_wall_clock_is_dead_lettered_and_moves_no_clock() -> None:
    wall = 1_000 * HOUR
    made, counts = skewed_pipeline(wall)
    feed(
        made,
        "contacts",
        0,
        ContactProfile("p", "ann", wall, email="a@x.example", marketing_opt_in=True),
    )
    feed(made, "carts", 0, CartChange("c", "ann", wall, "add", SHOE, 1))
    feed(made, "carts", 1, CartChange("d", "ann", wall + HOUR + 1, "add", SHOE, 1))
    (letter,) = made.take_outbox().dead_letters
    assert (letter.offset, letter.error.reason) == (1, "bad_value")
    assert letter.error.detail == (
        "occurred_at 1970-02-11T17:00:00.001Z is more than 1h ahead of the wall clock "
        "(1970-02-11T16:00:00.000Z)"
    )
    assert counts.reasons == ["bad_value"]
    made.drain(0, everything_read)
    made.fire(0, everything_read, wall_now=wall)
    # Applied, it would have fired the reminder due at wall + 1h.
    assert made.take_outbox().commands == []
    assert made.positions([("carts", 0)]) == {("carts", 0): 2}


def test_an_event_within_the_clock_skew_is_applied() -> None:
    wall = 1_000 * HOUR
    made, _ = skewed_pipeline(wall)
    feed(made, "carts", 0, CartChange("c", "ann", wall + HOUR, "add", SHOE, 1))
    assert not made.take_outbox().dead_letters
    made.drain(0, everything_read)
    state = made.transactions[0].get("ann")
    assert state is not None and state.cart.is_open


def test_a_catalog_update_far_ahead_of_the_wall_clock_is_dead_lettered() -> None:
    made, _ = pipeline()  # the wall clock reads 0
    update = CatalogUpdate("u1", 2 * HOUR, SHOE)
    made.catalog_update("catalog", 0, 5, b"sku-1", catalog_codec.encode_json(update))
    (letter,) = made.take_outbox().dead_letters
    assert letter.error.reason == "bad_value" and "occurred_at" in letter.error.detail
    assert made.catalog.get("sku-1") is None
    made.catalog_update(
        "catalog", 0, 6, b"sku-1", catalog_codec.encode_json(CatalogUpdate("u2", HOUR, SHOE))
    )
    assert made.catalog.get("sku-1") == SHOE


def test_a_round_stages_its_states_until_the_loop_commits_it() -> None:
    made, _ = pipeline()
    feed(made, "views", 4, PageView("v", "ann", 1000, "product", SHOE))
    made.drain(0, everything_read)
    first = made.transactions[0]
    assert set(first.staged) == {"ann"} and made.tables[0] == {}
    changes = made.commit_states()
    assert first.committed and made.transactions[0] is not first
    assert {key for key, _ in changes[0]} == set(made.tables[0]) == {b"ann"}
    assert made.transactions[0].offsets("ann") == (4, -1, -1, -1)
    with pytest.raises(RuntimeError, match="committed"):
        first.apply(made.engines[0], PageView("w", "ann", 2000, "home"), 0, 5)


def test_a_state_a_deadline_writes_keeps_the_offsets_of_the_events_it_holds() -> None:
    made, _ = pipeline()
    feed(
        made,
        "contacts",
        3,
        ContactProfile("p", "ann", 1, email="a@x.example", marketing_opt_in=True),
    )
    feed(made, "carts", 8, CartChange("c", "ann", 2, "add", SHOE, 1))
    made.drain(0, everything_read)
    made.commit_states()
    made.fire(0, everything_read, wall_now=10 * HOUR)
    assert len(made.take_outbox().commands) == 1  # so the deadline wrote the state
    (record,) = made.commit_states()[0]
    assert decode_stored(record[1]).offsets == (-1, 8, -1, 3)


def test_rounds_of_one_commit_interval_write_each_contact_to_the_changelog_once() -> None:
    made, _ = pipeline()
    feed(made, "views", 0, PageView("v0", "ann", 1000, "product", SHOE))
    made.drain(0, everything_read)
    assert made.commit_states(save=False) == {}  # committed to the table, not yet saved
    assert made.tables[0][b"ann"].offsets == (0, -1, -1, -1)  # kept decoded until saved
    feed(made, "views", 1, PageView("v1", "ann", 2000, "product", SHOE))
    feed(made, "views", 2, PageView("w", "bob", 2000, "product", SHOE))
    made.drain(0, everything_read)
    assert made.commit_states(save=False) == {}
    records = made.commit_states()[0]
    assert sorted(key for key, _ in records) == [b"ann", b"bob"]
    ann = decode_stored(dict(records)[b"ann"])
    assert ann.offsets == (1, -1, -1, -1) and ann.state.browse.viewed[0].views == 2
    assert made.tables[0] == dict(records)  # the table holds the bytes the changelog got
    assert made.commit_states() == {}


def test_a_state_committed_in_an_earlier_round_of_the_interval_is_not_applied_twice() -> None:
    made, _ = pipeline()
    feed(made, "carts", 0, CartChange("c", "ann", 2, "add", SHOE, 1))
    made.drain(0, everything_read)
    made.commit_states(save=False)
    feed(made, "carts", 0, CartChange("c", "ann", 2, "add", SHOE, 1))  # read again
    made.drain(0, everything_read)
    state = made.transactions[0].get("ann")
    assert state is not None and state.cart.lines[0].quantity == 1


def test_the_events_a_batch_applied_are_counted_once_for_the_batch() -> None:
    made, counts = pipeline()
    for offset in range(3):
        feed(made, "views", offset, PageView(f"v{offset}", "ann", 1000 + offset, "product", SHOE))
    feed(made, "views", 3, PageView("v0", "ann", 1000, "product", SHOE))  # a duplicate
    made.drain(0, everything_read)
    assert counts.applied_counts == [3] and counts.duplicates == ["views"]
    made.drain(0, everything_read)  # nothing waiting: nothing counted
    assert counts.applied_counts == [3]


def test_a_drain_asks_once_per_input_whether_it_is_caught_up() -> None:
    made, _ = pipeline()
    for offset in range(50):
        feed(made, "views", offset, PageView(f"v{offset}", "ann", 1000 + offset, "home"))
    asked: list[str] = []

    def caught_up(topic: str, partition: int) -> bool:
        asked.append(topic)
        return True

    made.drain(0, caught_up)
    assert made.positions([("views", 0)]) == {("views", 0): 50}  # all applied
    assert sorted(asked) == ["carts", "contacts", "orders", "views"]  # once each


def test_a_restored_state_is_indexed_for_its_deadlines_and_the_products_it_watches() -> None:
    config = load_config("scenarios:\n  back_in_stock: {}\n  cart_abandonment: {}\n")
    decode = partial(json_codec.decode, rules=config.inputs)
    made = Pipeline(config, INPUTS, decode, Counts(), lambda: 0)
    made.assign(0, {})
    boot = Product("sku-2", "Boot", in_stock=False)
    made.catalog_update("catalog", 0, 0, b"sku-2", catalog_encoded("u0", 1, boot))
    feed(made, "contacts", 0, ContactProfile("p", "ann", 1, email="a@x", marketing_opt_in=True))
    feed(made, "views", 0, PageView("v", "ann", 2, "product", boot))
    feed(made, "carts", 0, CartChange("c", "ann", 3, "add", SHOE, 1))
    made.drain(0, everything_read)
    table = dict(made.commit_states()[0])
    restarted = Pipeline(config, INPUTS, decode, Counts(), lambda: 0)
    restarted.catalog = made.catalog  # as read up from the catalog topic at start
    restarted.assign(0, table)  # indexed from a view of each state, not the whole state
    assert restarted.engines[0].indexed == ("watching",)
    assert restarted.pending() == 1  # the cart's deadline: ann is due
    back = Product("sku-2", "Boot", in_stock=True)
    restarted.catalog_update("catalog", 0, 1, b"sku-2", catalog_encoded("u1", 4, back))
    # The watcher was found: the message waits for its sending hour.
    state = restarted.transactions[0].get("ann")
    assert state is not None
    assert sorted(j.scenario for j in state.journeys) == ["back_in_stock", "cart_abandonment"]


def catalog_encoded(update_id: str, at: int, product: Product) -> bytes:
    return catalog_codec.encode_json(CatalogUpdate(update_id, at, product))
