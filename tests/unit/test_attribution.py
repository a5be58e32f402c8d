"""Attribution in virtual time: which marketing message an order is credited to, once."""

from __future__ import annotations

from itertools import count

from relance.core.commands import Attribution, Outcome, SendCommand, Suppression, command_id
from relance.core.engine import Engine
from relance.core.events import (
    CartChange,
    Engagement,
    EngagementKind,
    Event,
    Order,
    OrderItem,
    OrderStatus,
)
from relance.core.scenarios import Config
from relance.core.state import ContactState
from relance.core.timestamps import DAY_MS, MINUTE_MS
from relance.scenario_file import load_config

from .timeline import at, product, profile

_ids = count(1)
TWO_STEPS = load_config("""\
scenarios:
  cart_abandonment:
    steps: [{delay: 1h}, {delay: 1d}]
""")
ONE_STEP = load_config("scenarios:\n  cart_abandonment: {}\n")
CART = CartChange("k-cart", "c1", at(0), "add", product("p1"), 1)
STEP_1 = command_id("c1", "cart_abandonment", "k-cart", 1)
STEP_2 = command_id("c1", "cart_abandonment", "k-cart", 2)
DAY = DAY_MS / MINUTE_MS  # a day, in the timeline's minutes


def placed(
    minute: float,
    order_id: str = "o-1",
    status: OrderStatus = "placed",
    total: float = 42.5,
    event_id: str | None = None,
) -> Order:
    return Order(
        event_id or f"e{next(_ids)}",
        "c1",
        at(minute),
        order_id,
        status,
        (OrderItem(product("p1"), 1),),
        total,
        "EUR",
    )


def engaged(
    minute: float, kind: EngagementKind = "click", command: str | None = STEP_1
) -> Engagement:
    return Engagement(f"g{next(_ids)}", "c1", at(minute), kind, command_id=command)


def run(
    events: list[Event], config: Config = ONE_STEP, until: float | None = None
) -> tuple[list[Outcome], Engine]:
    engine = Engine(config)
    outcomes: list[Outcome] = []
    for event in [profile(), CART, *events]:
        outcomes.extend(engine.feed(event).outcomes)
    if until is not None:
        outcomes.extend(engine.advance(at(until)))
    return outcomes, engine


def credits(outcomes: list[Outcome]) -> list[Attribution]:
    return [o for o in outcomes if isinstance(o, Attribution)]


def test_an_order_within_the_window_is_the_reminders_and_its_record_says_so() -> None:
    outcomes, _ = run([placed(3 * 60, total=89.9)])
    (command,) = [o for o in outcomes if isinstance(o, SendCommand)]
    (credit,) = credits(outcomes)
    assert (credit.command_id, credit.scenario, credit.step, credit.touch) == (
        command.command_id,
        "cart_abandonment",
        1,
        "sent",
    )
    assert credit.to_record() == {
        "outcome": "attributed",
        "contact_id": "c1",
        "order_id": "o-1",
        "revenue": 89.9,
        "currency": "EUR",
        "command_id": STEP_1,
        "scenario": "cart_abandonment",
        "step": 1,
        "variant": None,
        "holdout": False,
        "touch": "sent",
        "decided_at": "2024-05-01T13:00:00.000Z",
    }


def test_the_send_window_ends_exactly_five_days_after_the_send() -> None:
    sent_at = 60
    edge = sent_at + 5 * DAY
    assert len(credits(run([placed(edge)])[0])) == 1
    assert credits(run([placed(edge + 1 / 60_000)])[0]) == []  # one millisecond later


def test_an_order_placed_before_the_message_is_not_its() -> None:
    assert credits(run([placed(30)], until=120)[0]) == []


def test_last_touch_credits_the_latest_message_and_first_touch_the_earliest() -> None:
    order = [placed(DAY + 60)]
    (last,) = credits(run(order, TWO_STEPS)[0])
    first_touch = load_config("""\
policy: {attribution: first_touch}
scenarios:
  cart_abandonment:
    steps: [{delay: 1h}, {delay: 1d}]
""")
    (first,) = credits(run(order, first_touch)[0])
    assert (last.command_id, last.step) == (STEP_2, 2)
    assert (first.command_id, first.step) == (STEP_1, 1)


def test_a_click_within_its_window_takes_precedence_over_a_later_send() -> None:
    # Step 2 is sent at 1 d; the contact clicks step 1's message after that, then orders.
    (credit,) = credits(run([engaged(DAY + 10), placed(DAY + 60)], TWO_STEPS)[0])
    assert (credit.command_id, credit.touch) == (STEP_1, "clicked")


def test_past_the_click_window_the_send_window_decides() -> None:
    click = DAY + 10
    (credit,) = credits(run([engaged(click), placed(click + DAY + 1)], TWO_STEPS)[0])
    assert (credit.command_id, credit.touch) == (STEP_2, "sent")
    (edge,) = credits(run([engaged(click), placed(click + DAY)], TWO_STEPS)[0])
    assert (edge.command_id, edge.touch) == (STEP_1, "clicked")


def test_a_click_naming_no_message_counts_for_the_latest_sent_before_it() -> None:
    (credit,) = credits(run([engaged(DAY + 10, command=None), placed(DAY + 60)], TWO_STEPS)[0])
    assert (credit.command_id, credit.touch) == (STEP_2, "clicked")


def test_one_order_counts_once_whatever_comes_twice() -> None:
    twice = placed(120, event_id="e-same")
    events: list[Event] = [
        twice,
        twice,  # the same event read twice
        placed(130),  # the same order placed again, another event id
        placed(140, status="paid"),
        placed(150, status="delivered"),
    ]
    outcomes, engine = run(events)
    assert [c.order_id for c in credits(outcomes)] == ["o-1"]
    # Read again after the dedupe window: still remembered as attributed.
    assert not engine.feed(placed(3 * DAY, event_id="e-same")).outcomes


def test_each_order_counts_for_one_message_and_a_second_order_counts_too() -> None:
    outcomes, _ = run([placed(120, "o-1"), placed(180, "o-2")], TWO_STEPS, until=2 * DAY)
    assert [(c.order_id, c.step) for c in credits(outcomes)] == [("o-1", 1), ("o-2", 1)]


def test_orders_of_held_out_contacts_within_the_window_are_holdout_conversions() -> None:
    held_out = load_config("""\
scenarios:
  cart_abandonment:
    experiment: {holdout: 99.99%}
""")
    outcomes, _ = run([placed(5 * DAY), placed(5 * DAY + 120, "o-2")], held_out)
    (decision,) = [o for o in outcomes if isinstance(o, Suppression)]
    assert decision.reason == "holdout"
    (credit,) = credits(outcomes)  # o-2 is past the window
    assert (credit.holdout, credit.command_id, credit.variant, credit.order_id) == (
        True,
        decision.command_id,
        None,
        "o-1",
    )


def test_a_variants_conversions_name_the_variant() -> None:
    variants = load_config("""\
scenarios:
  cart_abandonment:
    experiment: {variants: {only: {weight: 1, template: cart_abandonment}}}
""")
    (credit,) = credits(run([placed(120)], variants)[0])
    assert (credit.variant, credit.holdout) == ("only", False)


def test_no_attribution_when_the_policy_says_none_and_nothing_is_remembered() -> None:
    off = load_config("policy: {attribution: none}\nscenarios:\n  cart_abandonment: {}\n")
    outcomes, engine = run([placed(120)], off)
    assert credits(outcomes) == [] and engine.states["c1"].reach is None


def test_a_transactional_message_is_no_touch() -> None:
    confirmations = load_config("scenarios:\n  order_confirmation: {}\n")
    outcomes, engine = run([placed(10, "o-1")], confirmations, until=20)
    assert [o.scenario for o in outcomes if isinstance(o, SendCommand)] == ["order_confirmation"]
    assert credits(outcomes) == [] and engine.states["c1"].reach is None


def test_a_contact_remembers_at_most_four_messages_within_the_longest_window() -> None:
    many = load_config("""\
scenarios:
  cart_abandonment:
    steps: [{delay: 1h}, {delay: 2h}, {delay: 3h}, {delay: 4h}, {delay: 5h}, {delay: 6h}]
""")
    _, engine = run([], many, until=7 * 60)
    state: ContactState = engine.states["c1"]
    assert state.reach is not None
    assert [t.step for t in state.reach.touches] == [3, 4, 5, 6]
    engine.feed(profile(7 * 60 + 5 * DAY + 1))  # any event lets go of what is past use
    assert engine.states["c1"].reach is None


def test_the_example_in_docs_attribution_prints_what_the_page_shows() -> None:
    import re
    import subprocess
    import sys
    from pathlib import Path

    import orjson

    root = Path(__file__).resolve().parents[2]
    page = (root / "docs" / "attribution.md").read_text()
    config = page.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert config in (root / "examples" / "attribution.yaml").read_text()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "relance",
            "simulate",
            "--events",
            "examples/attribution.jsonl",
            "--config",
            "examples/attribution.yaml",
            "--until",
            "2024-05-10T00:00:00Z",
            "--explain",
        ],
        cwd=root,
        capture_output=True,
        timeout=60,
        check=True,
    )
    rate = re.compile(r", [\d,]+ events/s$")
    printed = [rate.sub("", line) for line in result.stderr.decode().splitlines()]
    shown = [
        rate.sub("", line) for line in page.splitlines() if line.startswith("relance simulate: ")
    ]
    assert printed == shown
    attributed = [line for line in result.stdout.decode().splitlines() if '"attributed"' in line]
    assert [orjson.loads(line) for line in attributed] == [
        orjson.loads(line) for line in page.splitlines() if line.startswith('{"outcome"')
    ]


def test_a_contact_remembers_the_last_eight_orders_attributed() -> None:
    from relance.core.attribution import ORDERS_KEPT

    _, engine = run([placed(120 + n, f"o-{n}") for n in range(ORDERS_KEPT + 3)])
    reach = engine.states["c1"].reach
    assert reach is not None and len(reach.orders) == 8 * ORDERS_KEPT
    # The latest are the ones kept: an order among them counts no more, an older one would.
    assert not engine.feed(placed(200, f"o-{ORDERS_KEPT + 2}")).outcomes
    assert [c.order_id for c in credits(list(engine.feed(placed(201, "o-0")).outcomes))] == ["o-0"]
