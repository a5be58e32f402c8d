"""The worker's per-message path without Kafka: what a batch sends, writes and commits."""

from __future__ import annotations

from relance.codec import json as json_codec
from relance.commands import Outcome
from relance.events import CartChange, ContactProfile, Event, PageView, Product
from relance.runtime.pipeline import Inputs, Pipeline
from relance.runtime.store import decode_stored
from relance.scenarios import DEFAULT_CONFIG

INPUTS = Inputs((("views", "page_view"), ("carts", "cart"), ("orders", "order"),
                 ("contacts", "contact")))
SHOE = Product("sku-1", "Shoe")
HOUR = 3_600_000


class Counts:
    """The pipeline's observer, keeping what it was told."""

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.outcomes: list[Outcome] = []
        self.duplicates: list[str] = []

    def consumed(self, topic: str, count: int) -> None: ...
    def applied(self) -> None: ...

    def duplicate(self, topic: str, count: int = 1) -> None:
        self.duplicates.extend([topic] * count)

    def rejected(self, topic: str, reason: str) -> None:
        self.reasons.append(reason)

    def decided(self, outcome: Outcome, wall_now_ms: int) -> None:
        self.outcomes.append(outcome)

    def pending(self, deadlines: int) -> None: ...


def pipeline() -> tuple[Pipeline, Counts]:
    counts = Counts()
    made = Pipeline(DEFAULT_CONFIG, INPUTS, json_codec.decode, counts, lambda: 0)
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
    feed(made, "contacts", 0, ContactProfile("p", "ann", 1, email="a@x", marketing_opt_in=True))
    feed(made, "carts", 0, CartChange("c", "ann", 2, "add", SHOE, 1))
    made.drain(0, everything_read)
    table = dict(made.commit_states()[0])
    restarted, _ = pipeline()
    restarted.assign(0, table)
    feed(restarted, "carts", 0, CartChange("c", "ann", 2, "add", SHOE, 1))
    restarted.drain(0, everything_read)
    state = restarted.states[0].get("ann")
    assert state is not None and state.cart.lines[0].quantity == 1
    assert restarted.pending() == 1


def test_a_deadline_fires_once_event_time_passes_it_and_the_command_waits_in_the_outbox() -> None:
    made, counts = pipeline()
    feed(made, "contacts", 0, ContactProfile("p", "ann", 1, email="a@x", marketing_opt_in=True))
    feed(made, "carts", 0, CartChange("c", "ann", 2, "add", SHOE, 1))
    made.drain(0, everything_read)
    made.fire(0, lambda topic, partition: False, wall_now=10 * HOUR)
    assert made.take_outbox().commands == []
    made.fire(0, everything_read, wall_now=10 * HOUR)
    (command,) = made.take_outbox().commands
    assert command.scenario == "cart_abandonment" and command.contact_id == "ann"
    assert counts.outcomes == [command]
