"""Scenarios with steps, staleness, and transactional order notifications, in virtual time."""

from __future__ import annotations

import pytest

from relance.events import Event
from relance.scenario_file import load_config

from .timeline import at, cart, order, profile, replay, sent, suppressed, view

TWO_STEPS = load_config("""\
scenarios:
  cart_abandonment:
    stale_after: 2d
    steps:
      - {delay: 1h}
      - {delay: 24h, template: cart_last_call}
""")

STEP_CASES: dict[str, tuple[list[Event], float, list[tuple[float, int, str]]]] = {
    # name: (events, clock at the end in minutes, (minute, step, template) of each command)
    "both steps of an abandoned cart, counted from the last change":
        ([profile(), cart(0)], 3000,
         [(60, 1, "cart_abandonment"), (24 * 60, 2, "cart_last_call")]),
    "an order after step 1 stops step 2":
        ([profile(), cart(0), order(120)], 3000, [(60, 1, "cart_abandonment")]),
    "an order before step 1 stops both":
        ([profile(), cart(0), order(30)], 3000, []),
    "a cart change after step 1 starts over at step 1 (the quiet period holds it)":
        ([profile(), cart(0), cart(120, pid="p2")], 3000, [(60, 1, "cart_abandonment")]),
    "emptying the cart after step 1 stops step 2":
        ([profile(), cart(0), cart(120, "clear", pid=None)], 3000,
         [(60, 1, "cart_abandonment")]),
    "a clock jump past both deadlines fires both, in order":
        ([profile(), cart(0), view(2000, page_type="home")], 2000,
         [(60, 1, "cart_abandonment"), (24 * 60, 2, "cart_last_call")]),
}


@pytest.mark.parametrize("name", list(STEP_CASES))
def test_steps(name: str) -> None:
    events, until, expected = STEP_CASES[name]
    commands = sent(replay(events, until, TWO_STEPS))
    assert [(c.decided_at, c.step, c.template) for c in commands] == [
        (at(m), step, template) for m, step, template in expected]


def test_each_step_has_its_own_command_id_within_one_instance() -> None:
    events = [profile(), cart(0)]
    first, second = sent(replay(events, 3000, TWO_STEPS))
    assert first.command_id != second.command_id
    again = sent(replay(events, 3000, TWO_STEPS))
    assert [c.command_id for c in again] == [first.command_id, second.command_id]


def test_a_step_due_after_interest_went_stale_is_not_sent() -> None:
    config = load_config("scenarios:\n  cart_abandonment:\n    stale_after: 12h\n"
                         "    steps: [{delay: 1h}, {delay: 24h}]\n")
    outcomes = replay([profile(), cart(0)], 3000, config)
    assert [c.step for c in sent(outcomes)] == [1]
    assert suppressed(outcomes) == [("cart_abandonment", "stale")]


ORDERS = load_config("""\
scenarios:
  order_confirmation: {}
  shipping_update: {}
  order_cancellation: {}
  refund_notice: {kind: order_status, statuses: [refunded], template: refund}
""")


def test_order_confirmation_needs_no_marketing_consent_and_no_quiet_period() -> None:
    events = [profile(opt_in=False), order(0), order(1, contact="c1")]
    commands = sent(replay(events, 10, ORDERS))
    assert [(c.scenario, c.decided_at) for c in commands] == [
        ("order_confirmation", at(0)), ("order_confirmation", at(1))]
    assert commands[0].payload["order"]["items"][0]["product"]["id"] == "p1"
    assert commands[0].command_id != commands[1].command_id


def test_order_notifications_follow_the_status_and_still_need_an_address() -> None:
    events = [profile(opt_in=None), order(0, "shipped"), order(5, "cancelled"),
              order(6, "paid"), order(7, "refunded")]
    commands = sent(replay(events, 10, ORDERS))
    assert [(c.scenario, c.template) for c in commands] == [
        ("shipping_update", "shipping_update"), ("order_cancellation", "order_cancellation"),
        ("refund_notice", "refund")]
    assert suppressed(replay([order(0)], 10, ORDERS)) == [("order_confirmation", "no_address")]


def test_order_notifications_fire_without_a_later_event_once_time_moves() -> None:
    assert sent(replay([profile(), order(0)], None, ORDERS)) == []
    assert len(sent(replay([profile(), order(0)], 0, ORDERS))) == 1
