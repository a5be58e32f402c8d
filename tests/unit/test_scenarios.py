"""Scenario configuration: defaults, durations, and errors that name file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from relance.core.detectors import registry
from relance.core.scenarios import CATALOGUE, DEFAULT_CONFIG
from relance.core.timestamps import DAY_MS, HOUR_MS, MINUTE_MS
from relance.errors import ConfigError
from relance.scenario_file import load_config, load_config_file, parse_duration

KNOWN_KINDS = ", ".join(registry.configurable())
SPEC_DEFAULTS = """\
scenarios:
  cart_abandonment:   {delay: 1h, quiet_period: 24h, priority: 100, channel: email, template: cart_abandonment}
  browse_abandonment: {delay: 1h, quiet_period: 24h, priority: 50,  channel: email, template: browse_abandonment}
"""  # noqa: E501 -- the issue's YAML, verbatim


def test_built_in_defaults_equal_the_documented_yaml() -> None:
    assert load_config(SPEC_DEFAULTS) == DEFAULT_CONFIG


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("30m", 30 * MINUTE_MS),
        ("1h", HOUR_MS),
        ("2d", 2 * DAY_MS),
        ("1h30m", 90 * MINUTE_MS),
        ("45s", 45_000),
        ("500ms", 500),
        ("1w", 7 * DAY_MS),
        ("0m", 0),
    ],
)
def test_durations(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "1", "h", "1x", "-1h", "1.5h", "1h 30m", "1hh"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_a_key_left_out_takes_its_default_and_a_scenario_left_out_is_off() -> None:
    config = load_config("scenarios:\n  cart_abandonment: {delay: 30m}\n")
    cart = config.get("cart_abandonment")
    assert config.get("browse_abandonment") is None
    assert cart is not None
    assert cart.delay_ms == 30 * MINUTE_MS
    assert cart.quiet_period_ms == 24 * HOUR_MS


def test_enabled_false_turns_a_scenario_off() -> None:
    config = load_config(
        "scenarios:\n  cart_abandonment: {enabled: false}\n  browse_abandonment: {}\n"
    )
    assert config.get("cart_abandonment") is None
    assert config.get("browse_abandonment") is not None


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(text, "shop.yaml")
    return [str(p) for p in caught.value.problems]


def test_every_problem_is_reported_with_file_line_and_key() -> None:
    text = (
        "scenarios:\n"
        "  cart_abandonment:\n"
        "    delay: 1x\n"
        "    priority: high\n"
        "    colour: red\n"
        "  browse_abandonment:\n"
        "    channel: pigeon\n"
        "  cart_abandonmint: {}\n"
        "extra: 1\n"
    )
    assert problems(text) == [
        "shop.yaml:3: scenarios.cart_abandonment.delay: '1x' is not a duration "
        "(write e.g. 30m, 1h, 2d or 1h30m)",
        "shop.yaml:4: scenarios.cart_abandonment.priority: must be a whole number, not 'high'",
        # The kinds' own keys in the registry's order, from their detectors.
        "shop.yaml:5: scenarios.cart_abandonment.colour: unknown key "
        "(allowed: kind, delay, steps, quiet_period, stale_after, priority, channel, "
        "template, transactional, min_views, min_drop_percent, statuses, cross_sell, send_at, "
        "days_before, window, if_ordered, otherwise, digest, when, exit_when, on_hold, "
        "experiment, family, "
        "enabled, attribution)",
        "shop.yaml:7: scenarios.browse_abandonment.channel: channel 'pigeon' is not supported "
        "(email, sms)",
        "shop.yaml:8: scenarios.cart_abandonmint: unknown scenario: give its kind (one of "
        f"{KNOWN_KINDS}) or use a built-in name ({', '.join(sorted(CATALOGUE))})",
        "shop.yaml:9: extra: unknown key (allowed: scenarios, policy, inputs, brand)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("scenarios: [1]\n", "shop.yaml:1: scenarios: must be a mapping"),
        (
            "scenarios:\n  cart_abandonment:\n    delay:\n",
            "shop.yaml:3: scenarios.cart_abandonment.delay: needs a value",
        ),
        (
            "scenarios:\n  cart_abandonment: {delay: 1h, delay: 2h}\n",
            "shop.yaml:2: scenarios.cart_abandonment.delay: is given twice",
        ),
        (
            "scenarios:\n  cart_abandonment: {enabled: maybe}\n",
            "shop.yaml:2: scenarios.cart_abandonment.enabled: must be true or false",
        ),
        (
            "scenarios:\n  cart_abandonment: {template: '../etc/passwd'}\n",
            "shop.yaml:2: scenarios.cart_abandonment.template: '../etc/passwd' is "
            "not a template name",
        ),
        (
            "other: 1\n",
            "shop.yaml:1: other: unknown key (allowed: scenarios, policy, inputs, brand)",
        ),
        ("", "shop.yaml:1: the file is empty"),
    ],
)
def test_single_problems(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_invalid_yaml_names_the_line() -> None:
    (problem,) = problems("scenarios:\n  cart_abandonment: {delay: 1h\n  x: [\n")
    assert problem.startswith("shop.yaml:3: not valid YAML")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: No such file"):
        load_config_file(tmp_path / "nope.yaml")


def test_steps_count_from_the_trigger_and_take_their_own_templates() -> None:
    config = load_config(
        "scenarios:\n"
        "  cart_abandonment:\n"
        "    stale_after: 7d\n"
        "    steps:\n"
        "      - {delay: 1h}\n"
        "      - {delay: 24h, template: cart_last_call}\n"
    )
    cart = config.get("cart_abandonment")
    assert cart is not None
    assert [(s.delay_ms, s.template) for s in cart.steps] == [
        (HOUR_MS, "cart_abandonment"),
        (24 * HOUR_MS, "cart_last_call"),
    ]
    assert cart.stale_after_ms == 7 * DAY_MS


def test_a_new_scenario_of_an_existing_kind_is_configuration_only() -> None:
    config = load_config(
        "scenarios:\n"
        "  cart_nudge: {kind: cart_abandonment, delay: 15m, priority: 10}\n"
        "  refund_notice: {kind: order_status, statuses: [refunded]}\n"
        "  order_confirmation: {}\n"
    )
    nudge, refund, confirmation = (
        config.get(n) for n in ("cart_nudge", "refund_notice", "order_confirmation")
    )
    assert nudge is not None and nudge.kind == "cart_abandonment"
    assert (nudge.delay_ms, nudge.priority, nudge.template) == (
        15 * MINUTE_MS,
        10,
        "cart_abandonment",
    )
    assert refund is not None and refund.statuses == {"refunded"} and refund.transactional
    assert confirmation is not None and confirmation.statuses == {"placed"}
    assert [s.name for s in config.of_kind("order_status")] == [
        "order_confirmation",
        "refund_notice",
    ]


def test_order_notifications_are_in_the_catalogue_but_off_without_a_file() -> None:
    assert [s.name for s in DEFAULT_CONFIG.enabled()] == ["cart_abandonment", "browse_abandonment"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "scenarios:\n  x: {kind: cart}\n",
            f"shop.yaml:2: scenarios.x.kind: 'cart' is not a kind (known: {KNOWN_KINDS})",
        ),
        (
            "scenarios:\n  birthday: {send_at: '9am'}\n",
            "shop.yaml:2: scenarios.birthday.send_at: '9am' is not a local time like 09:00",
        ),
        (
            "scenarios:\n  cart_abandonment: {send_at: '09:00'}\n",
            "shop.yaml:2: scenarios.cart_abandonment.send_at: only birthday and "
            "subscription_expiry "
            "scenarios have send_at, not cart_abandonment",
        ),
        (
            "scenarios:\n  birthday: {delay: 1h}\n",
            "shop.yaml:2: scenarios.birthday.delay: a birthday scenario is sent on its dates at "
            "send_at; it has no delay",
        ),
        (
            "scenarios:\n  subscription_expiry: {days_before: [0, 3]}\n",
            "shop.yaml:2: scenarios.subscription_expiry.days_before: must be whole numbers of days "
            "from 0, largest first, like [7, 3, 0], not [0, 3]",
        ),
        (
            "scenarios:\n  cart_abandonment: {kind: order_status}\n",
            "shop.yaml:2: scenarios.cart_abandonment.kind: cart_abandonment is a built-in "
            "cart_abandonment scenario; give a new scenario a name of its own",
        ),
        (
            "scenarios:\n  x: {kind: order_status}\n",
            "shop.yaml:2: scenarios.x.statuses: order_status scenarios need statuses (the order "
            "statuses that trigger them)",
        ),
        (
            "scenarios:\n  x: {kind: order_status, statuses: [lost]}\n",
            "shop.yaml:2: scenarios.x.statuses: 'lost' is not an order status "
            "(cancelled, delivered, "
            "paid, placed, refunded, shipped)",
        ),
        (
            "scenarios:\n  cart_abandonment: {statuses: [placed]}\n",
            "shop.yaml:2: scenarios.cart_abandonment.statuses: only order_status and cross_sell "
            "scenarios have statuses, not cart_abandonment",
        ),
        (
            "scenarios:\n  cart_abandonment:\n    delay: 1h\n    steps: [{delay: 2h}]\n",
            "shop.yaml:3: scenarios.cart_abandonment.delay: give either delay (one message) or "
            "steps, not both",
        ),
        (
            "scenarios:\n  cart_abandonment:\n    steps: [{delay: 2h}, {delay: 1h}]\n",
            "shop.yaml:3: scenarios.cart_abandonment.steps[1].delay: step delays count from the "
            "trigger and must increase from one step to the next",
        ),
        (
            "scenarios:\n  cart_abandonment:\n    steps: [{template: x}]\n",
            "shop.yaml:3: scenarios.cart_abandonment.steps[0]: a step needs a delay",
        ),
        (
            "scenarios:\n  cart_abandonment:\n    steps: []\n",
            "shop.yaml:3: scenarios.cart_abandonment.steps: must be a list of steps, each with a "
            "delay",
        ),
        (
            "scenarios:\n  cart_abandonment: {when: {product..id: x}}\n",
            "shop.yaml:2: scenarios.cart_abandonment.when.product..id: "
            "'product..id' is not a field "
            "path (write e.g. product.category_id)",
        ),
        (
            "scenarios:\n  cart_abandonment: {when: {product: {id: x}}}\n",
            "shop.yaml:2: scenarios.cart_abandonment.when.product: must be a single value",
        ),
        (
            "scenarios:\n  cart_abandonment: {stale_after: soon}\n",
            "shop.yaml:2: scenarios.cart_abandonment.stale_after: 'soon' is not a duration (write "
            "e.g. 30m, 1h, 2d or 1h30m)",
        ),
    ],
)
def test_scenario_shape_problems(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_send_at_is_read_as_written_even_where_yaml_sees_a_number() -> None:
    for text, minute in (("10:30", 630), ("'07:05'", 425), ("23:59", 1439)):
        config = load_config(f"scenarios:\n  birthday: {{send_at: {text}}}\n")
        birthday = config.get("birthday")
        assert birthday is not None and birthday.send_at_minute == minute
