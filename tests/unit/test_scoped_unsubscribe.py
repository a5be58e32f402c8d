"""Unsubscribes from one scenario family: that family stops, the others and transactional
messages go on; a consent given anew lifts them, one merely repeated does not."""

from __future__ import annotations

import pytest

from relance.core.events import Engagement
from relance.core.scenarios import CATALOGUE, Scenario
from relance.core.state import Profile
from relance.errors import ConfigError
from relance.scenario_file import load_config

from .timeline import at, cart, order, profile, replay, sent, suppressed, view

# Cart reminders are reminders; browse reminders are made recommendations here.
TWO_FAMILIES = load_config(
    "scenarios:\n  cart_abandonment: {}\n"
    "  browse_abandonment: {family: recommendations}\n"
    "  order_confirmation: {}\n"
)


def leave(minute: float, scope: str, channel: str = "email") -> Engagement:
    return Engagement(f"u{minute}{scope}", "c1", at(minute), "unsubscribe", channel, scope=scope)


def test_leaving_one_family_suppresses_it_and_another_family_still_goes() -> None:
    outcomes = replay(
        [profile(), leave(0, "reminders"), view(1, pid="p2"), cart(100)], 600, TWO_FAMILIES
    )
    assert suppressed(outcomes) == [("cart_abandonment", "unsubscribed")]
    assert [c.scenario for c in sent(outcomes)] == ["browse_abandonment"]


def test_leaving_a_family_on_sms_leaves_email_alone() -> None:
    outcomes = replay([profile(), leave(0, "reminders", "sms"), cart(1)], 600, TWO_FAMILIES)
    assert [c.scenario for c in sent(outcomes)] == ["cart_abandonment"]


def test_an_order_confirmation_still_reaches_a_contact_who_left_everything() -> None:
    events = [
        profile(),
        leave(0, "reminders"),
        leave(0, "recommendations"),
        leave(0, "all"),
        order(5),
    ]
    assert [c.scenario for c in sent(replay(events, 600, TWO_FAMILIES))] == ["order_confirmation"]


def test_a_repeated_consent_does_not_lift_a_family_unsubscribe_but_a_new_one_does() -> None:
    repeated = [profile(), leave(0, "reminders"), profile(5), cart(10)]
    assert suppressed(replay(repeated, 600, TWO_FAMILIES)) == [("cart_abandonment", "unsubscribed")]
    first = [leave(0, "reminders"), profile(5), cart(10)]  # the first profile known
    assert suppressed(replay(first, 600, TWO_FAMILIES)) == [("cart_abandonment", "unsubscribed")]
    anew = [profile(), leave(0, "reminders"), profile(5, opt_in=False), profile(6), cart(10)]
    assert [c.scenario for c in sent(replay(anew, 600, TWO_FAMILIES))] == ["cart_abandonment"]


def test_the_same_family_unsubscribe_twice_is_kept_once() -> None:
    once = Profile().engaged(leave(0, "digests"))
    assert once.engaged(leave(5, "digests")) is once
    assert once.blocked == (("email", "unsubscribed:digests", at(0)),)
    assert once.blocked_on("email", "digests") == "unsubscribed"
    assert once.blocked_on("email", "reminders") is None
    assert once.blocked_on("email") is None


def test_every_catalogue_scenario_has_its_family() -> None:
    families = {name: s.family for name, s in CATALOGUE.items()}
    assert families == {
        "cart_abandonment": "reminders",
        "browse_abandonment": "reminders",
        "category_abandonment": "reminders",
        "search_abandonment": "reminders",
        "back_in_stock": "reminders",
        "price_drop": "reminders",
        "cross_sell": "recommendations",
        "review_request": "recommendations",
        "welcome": "recommendations",
        "reactivation": "recommendations",
        "birthday": "recommendations",
        "order_confirmation": "transactional",
        "shipping_update": "transactional",
        "delivery_update": "transactional",
        "order_cancellation": "transactional",
        "subscription_expiry": "transactional",
    }


def test_a_file_sets_a_family_and_a_digest_makes_one_a_digest() -> None:
    config = load_config(
        "scenarios:\n  price_drop: {family: recommendations}\n"
        "  back_in_stock: {digest: daily}\n"
        "  subscription_expiry: {transactional: false}\n"
    )
    assert {s.name: s.family for s in config.scenarios} == {
        "price_drop": "recommendations",
        "back_in_stock": "digests",
        "subscription_expiry": "reminders",
        "digest_daily": "digests",
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("cart_abandonment: {family: promotions}", "must be one of reminders, recommendations"),
        ("order_confirmation: {family: reminders}", "a transactional scenario is in no family"),
    ],
)
def test_a_bad_family_is_named_at_its_line(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as refused:
        load_config(f"scenarios:\n  {text}\n", "shop.yaml")
    assert "shop.yaml:2" in str(refused.value)


def test_a_scenario_built_in_code_takes_its_kinds_family() -> None:
    scenario = Scenario("x", "cross_sell", CATALOGUE["cross_sell"].steps, 0, 1, "email")
    assert scenario.family == "recommendations"
