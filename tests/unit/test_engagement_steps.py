"""Steps that depend on engagement (``if: opened``, ``unless: clicked``) and the sunset rule,
in virtual time; and how the scenario file spells them."""

from __future__ import annotations

import pytest

from relance.core.commands import Outcome, SendCommand, Suppression
from relance.core.events import Engagement, EngagementKind, Event
from relance.core.scenarios import Config
from relance.core.timestamps import DAY_MS, MINUTE_MS
from relance.errors import ConfigError
from relance.scenario_file import load_config

from .test_attribution import CART, STEP_1, run

DAY = DAY_MS / MINUTE_MS


def steps(*lines: str, policy: str = "") -> Config:
    listed = ", ".join(lines)
    return load_config(f"{policy}scenarios:\n  cart_abandonment:\n    steps: [{listed}]\n")


UNLESS_CLICKED = steps("{delay: 1h}", "{delay: 1d, unless: clicked}", "{delay: 2d}")
IF_OPENED = steps("{delay: 1h}", "{delay: 1d, if: opened}")


def engagement(
    minute: float,
    kind: EngagementKind = "click",
    command: str | None = STEP_1,
    event_id: str = "g1",
) -> Engagement:
    return Engagement(
        event_id, "c1", CART.occurred_at + int(minute * MINUTE_MS), kind, command_id=command
    )


def decided(events: list[Event], config: Config, until: float = 3 * DAY) -> list[tuple[int, str]]:
    """(step, "sent" or the suppression's reason) of each decision, in order."""
    outcomes: list[Outcome] = run(events, config, until)[0]
    return [
        (o.step, "sent" if isinstance(o, SendCommand) else o.reason)
        for o in outcomes
        if isinstance(o, SendCommand | Suppression)
    ]


def test_unless_clicked_sends_the_follow_up_to_who_did_not_click() -> None:
    assert decided([], UNLESS_CLICKED) == [(1, "sent"), (2, "sent"), (3, "sent")]


def test_unless_clicked_suppresses_the_follow_up_and_the_journey_goes_on() -> None:
    assert decided([engagement(120)], UNLESS_CLICKED) == [(1, "sent"), (2, "clicked"), (3, "sent")]


def test_a_click_after_the_step_fell_due_or_on_another_message_does_not_count() -> None:
    assert decided([engagement(DAY + 1)], UNLESS_CLICKED)[1] == (2, "sent")
    other = "00000000-0000-5000-8000-000000000000"
    assert decided([engagement(120, command=other)], UNLESS_CLICKED)[1] == (2, "sent")
    assert decided([engagement(120, kind="open")], UNLESS_CLICKED)[1] == (2, "sent")
    assert decided([engagement(120, command="not-a-uuid")], UNLESS_CLICKED)[1] == (2, "sent")


def test_a_click_naming_no_message_counts_for_the_last_one_sent() -> None:
    assert decided([engagement(120, command=None)], UNLESS_CLICKED)[1] == (2, "clicked")
    assert decided([engagement(30, command=None)], UNLESS_CLICKED)[1] == (2, "sent")  # before


def test_if_opened_sends_only_to_who_opened_and_a_click_is_an_open() -> None:
    assert decided([], IF_OPENED) == [(1, "sent"), (2, "not_opened")]
    assert decided([engagement(90, kind="open")], IF_OPENED) == [(1, "sent"), (2, "sent")]
    assert decided([engagement(90)], IF_OPENED) == [(1, "sent"), (2, "sent")]


def test_a_condition_looks_past_a_step_that_was_not_sent() -> None:
    config = steps("{delay: 1h}", "{delay: 1d, unless: clicked}", "{delay: 2d, if: clicked}")
    # Step 2 is not sent: step 3 looks at step 1's message, which was clicked.
    assert decided([engagement(90)], config) == [(1, "sent"), (2, "clicked"), (3, "sent")]
    assert decided([], config) == [(1, "sent"), (2, "sent"), (3, "not_clicked")]


def test_sunset_after_so_many_sends_without_an_open_or_click() -> None:
    config = steps(
        "{delay: 1h}", "{delay: 2h}", "{delay: 3h}", policy="policy: {sunset: {after_sends: 2}}\n"
    )
    assert decided([], config) == [(1, "sent"), (2, "sent"), (3, "unengaged")]
    answered = [engagement(150, kind="open", command=None)]
    assert decided(answered, config) == [(1, "sent"), (2, "sent"), (3, "sent")]


def test_sunset_after_so_many_days_of_sends_without_an_open_or_click() -> None:
    config = steps(
        "{delay: 1h}", "{delay: 1d}", "{delay: 1d1h}", policy="policy: {sunset: {after_days: 1}}\n"
    )
    assert decided([], config) == [(1, "sent"), (2, "sent"), (3, "unengaged")]


def test_no_sunset_unless_the_policy_says() -> None:
    config = steps(*(f"{{delay: {n}h}}" for n in range(1, 13)))
    assert {reason for _, reason in decided([], config)} == {"sent"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("steps: [{delay: 1h, if: opened}]", "steps[0].if: the first step has no message"),
        (
            "steps: [{delay: 1h}, {delay: 2h, unless: bought}]",
            "steps[1].unless: must be opened or clicked, not 'bought'",
        ),
        (
            "steps: [{delay: 1h}, {delay: 2h, if: opened, unless: clicked}]",
            "steps[1].if: give if or unless, not both",
        ),
        ("attribution: {after_send: 2d, after_sent: 1d}", "attribution.after_sent: unknown key"),
        ("attribution: {after_click: soon}", "attribution.after_click: 'soon' is not a duration"),
    ],
)
def test_the_file_names_a_bad_step_condition_or_window(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        load_config(f"scenarios:\n  cart_abandonment:\n    {text}\n")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "attribution: most_touch",
            "policy.attribution: must be one of last_touch, first_touch, none, not 'most_touch'",
        ),
        (
            "sunset: {after_sends: 0}",
            "policy.sunset.after_sends: must be a whole number of at least 1, not 0",
        ),
        ("sunset: {after_weeks: 2}", "policy.sunset.after_weeks: unknown key"),
    ],
)
def test_the_file_names_a_bad_policy(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_config(f"policy:\n  {text}\n")


def test_the_file_sets_windows_and_the_model() -> None:
    config = load_config("""\
policy: {attribution: first_touch, sunset: {after_sends: 10, after_days: 90}}
scenarios:
  cart_abandonment:
    attribution: {after_send: 3d, after_click: 12h}
""")
    scenario = config.scenarios[0]
    assert (scenario.after_send_ms, scenario.after_click_ms) == (3 * DAY_MS, DAY_MS // 2)
    assert (
        config.policy.attribution,
        config.policy.sunset_after_sends,
        config.policy.sunset_after_ms,
    ) == ("first_touch", 10, 90 * DAY_MS)
