"""Contact policy: address, consent and quiet period, and deterministic command ids."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from relance.core.commands import command_id

from .timeline import cart, profile, replay, sent, suppressed, view


def test_no_email_suppresses_with_no_address() -> None:
    outcomes = replay([profile(email=None), cart(0)], 600)
    assert sent(outcomes) == []
    assert suppressed(outcomes) == [("cart_abandonment", "no_address")]


def test_no_profile_at_all_is_no_address() -> None:
    assert suppressed(replay([cart(0)], 600)) == [("cart_abandonment", "no_address")]


def test_opt_in_unknown_or_false_suppresses_with_no_consent() -> None:
    for opt_in in (None, False):
        outcomes = replay([profile(opt_in=opt_in), view(0)], 600)
        assert suppressed(outcomes) == [("browse_abandonment", "no_consent")]


def test_the_latest_profile_decides() -> None:
    opted_out = replay([profile(), profile(10, opt_in=False), cart(0)], 600)
    assert suppressed(opted_out) == [("cart_abandonment", "no_consent")]
    opted_in = replay([profile(opt_in=False), profile(10, opt_in=True), cart(0)], 600)
    assert len(sent(opted_in)) == 1


def test_a_profile_upsert_keeps_fields_it_does_not_carry() -> None:
    events = [profile(), profile(5, email=None, opt_in=None), cart(0)]
    (command,) = sent(replay(events, 600))
    assert command.recipient.email == "ann@example.com"


def test_quiet_period_is_per_scenario() -> None:
    events = [profile(), view(0), cart(120)]  # browse fires at 60, cart at 180
    assert [c.scenario for c in sent(replay(events, 600))] == [
        "browse_abandonment",
        "cart_abandonment",
    ]


def test_suppressed_firing_does_not_start_a_quiet_period() -> None:
    events = [profile(opt_in=False), cart(0), profile(100, opt_in=True), cart(120, pid="p2")]
    outcomes = replay(events, 600)
    assert suppressed(outcomes) == [("cart_abandonment", "no_consent")]
    assert len(sent(outcomes)) == 1


def test_command_ids_are_the_same_on_every_replay() -> None:
    events = [profile(), cart(0), cart(5, pid="p2"), view(2000)]
    first, second = ([c.command_id for c in sent(replay(events, 5000))] for _ in range(2))
    armed_by = events[2].event_id
    assert first == second
    assert first[0] == command_id("c1", "cart_abandonment", armed_by, 1)


def test_command_id_depends_on_contact_scenario_instance_and_step() -> None:
    base = command_id("c1", "cart_abandonment", "e1", 1)
    assert uuid.UUID(base).version == 5
    others = {
        command_id("c2", "cart_abandonment", "e1", 1),
        command_id("c1", "browse_abandonment", "e1", 1),
        command_id("c1", "cart_abandonment", "e2", 1),
        command_id("c1", "cart_abandonment", "e1", 2),
    }
    assert base not in others and len(others) == 4


@pytest.mark.parametrize("contact", ["c1", "ann@example.com", "zoë", "客户-7", "a" * 300])
@pytest.mark.parametrize("step", [1, 2, 12])
def test_command_id_is_the_uuid5_of_its_parts(contact: str, step: int) -> None:
    """Ids already sent stay valid: the hand-written derivation is exactly uuid5's."""
    from relance.core.commands import COMMAND_NAMESPACE

    for instance in ("e1", "order-9f3", "contact-5418-1714521673183-0"):
        name = f"{contact}\x1fcart_abandonment\x1f{instance}\x1f{step}"
        assert command_id(contact, "cart_abandonment", instance, step) == str(
            uuid.uuid5(COMMAND_NAMESPACE, name)
        )


def test_an_sms_scenario_needs_a_phone_number_and_carries_it() -> None:
    from relance.core.events import ContactProfile
    from relance.scenario_file import load_config

    from .timeline import at

    config = load_config("scenarios:\n  cart_abandonment: {channel: sms}\n")
    assert suppressed(replay([profile(), cart(0)], 600, config)) == [
        ("cart_abandonment", "no_address")
    ]
    with_phone = ContactProfile("p", "c1", at(-5), phone="+4915112345678")
    assert suppressed(replay([profile(), with_phone, cart(0)], 600, config)) == [
        ("cart_abandonment", "no_consent")
    ]  # email consent is not SMS consent
    sms_consent = ContactProfile("s", "c1", at(-4), sms_opt_in=True)
    (command,) = sent(replay([profile(), with_phone, sms_consent, cart(0)], 600, config))
    assert command.channel == "sms" and command.recipient.phone == "+4915112345678"


def unsubscribe(minute: float, kind: str = "unsubscribe", channel: str = "email") -> Any:
    from relance.core.events import Engagement

    from .timeline import at

    return Engagement(f"e{minute}{kind}", "c1", at(minute), kind, channel)  # type: ignore[arg-type]


def test_an_unsubscribe_between_decision_and_deadline_suppresses() -> None:
    assert suppressed(replay([profile(), cart(0), unsubscribe(30)], 600)) == [
        ("cart_abandonment", "unsubscribed")
    ]


def test_bounces_and_complaints_stop_marketing_and_opens_do_not() -> None:
    assert suppressed(replay([profile(), cart(0), unsubscribe(1, "hard_bounce")], 600)) == [
        ("cart_abandonment", "bounced")
    ]
    assert suppressed(replay([profile(), cart(0), unsubscribe(1, "spam_complaint")], 600)) == [
        ("cart_abandonment", "complained")
    ]
    assert len(sent(replay([profile(), cart(0), unsubscribe(1, "open")], 600))) == 1
    sms_only = [profile(), cart(0), unsubscribe(1, channel="sms")]
    assert len(sent(replay(sms_only, 600))) == 1  # an SMS unsubscribe leaves email alone


def test_a_transactional_message_still_reaches_an_unsubscribed_contact() -> None:
    from relance.scenario_file import load_config

    from .timeline import order

    config = load_config("scenarios:\n  order_confirmation: {}\n")
    (command,) = sent(replay([profile(), unsubscribe(0), order(5)], 600, config))
    assert command.scenario == "order_confirmation"


def test_a_newer_consent_lifts_an_unsubscribe_but_not_a_bounce() -> None:
    again = [profile(), unsubscribe(0), profile(5), cart(10)]
    assert len(sent(replay(again, 600))) == 1
    bounced = [profile(), unsubscribe(0, "hard_bounce"), profile(5), cart(10)]
    assert suppressed(replay(bounced, 600)) == [("cart_abandonment", "bounced")]


ARBITRATED = """\
policy: {arbitration_window: 5m}
scenarios:
  cart_abandonment: {delay: 1h}
  back_in_stock: {%s}
"""


def arbitrated(restock_at: float, on_hold: str = "") -> list[Any]:
    """A sold-out view at 0, a cart add at 2 (reminder due at 62), the restock at
    ``restock_at`` (back in stock due then): cart (100) outranks back in stock (70)."""
    from relance.core.events import PageView, Product
    from relance.scenario_file import load_config

    from .timeline import at, stock

    sold_out = PageView("v0", "c1", at(0), "product", Product("p2", name="P2", in_stock=False))
    events = [profile(), sold_out, cart(2), stock(restock_at, "p2")]
    return replay(events, 600, load_config(ARBITRATED % on_hold))


def test_two_marketing_messages_due_within_the_window_only_the_higher_priority_goes() -> None:
    outcomes = arbitrated(60)
    assert [c.scenario for c in sent(outcomes)] == ["cart_abandonment"]
    assert suppressed(outcomes) == [("back_in_stock", "lower_priority")]
    apart = arbitrated(30)
    assert sorted(c.scenario for c in sent(apart)) == ["back_in_stock", "cart_abandonment"]


def test_a_deferred_candidate_goes_after_the_window() -> None:
    from relance.core.commands import Deferral

    from .timeline import at

    outcomes = arbitrated(60, "on_hold: defer")
    (deferral,) = [o for o in outcomes if isinstance(o, Deferral)]
    assert deferral.until == at(62) + 5 * 60_000 + 1
    assert [(c.scenario, c.decided_at) for c in sent(outcomes)] == [
        ("cart_abandonment", at(62)),
        ("back_in_stock", deferral.until),
    ]


def test_without_an_arbitration_window_both_are_sent() -> None:
    from relance.core.events import PageView, Product
    from relance.scenario_file import load_config

    from .timeline import at, stock

    config = load_config(ARBITRATED.replace("policy: {arbitration_window: 5m}\n", "") % "")
    sold_out = PageView("v0", "c1", at(0), "product", Product("p2", name="P2", in_stock=False))
    both = replay([profile(), sold_out, cart(2), stock(60, "p2")], 600, config)
    assert len(sent(both)) == 2


def test_a_holdout_share_of_ten_percent_over_100000_contacts_is_within_one_percent() -> None:
    from relance.core.experiments import Experiment, Variant

    experiment = Experiment(10.0, (Variant("a", 1), Variant("b", 3)))
    first = [experiment.assign(f"contact-{n}", "cart_abandonment") for n in range(100_000)]
    held = sum(v is None for v in first) / len(first)
    assert 0.09 <= held <= 0.11
    b_share = sum(v is not None and v.name == "b" for v in first) / (len(first) * 0.9)
    assert 0.74 <= b_share <= 0.76
    again = [experiment.assign(f"contact-{n}", "cart_abandonment") for n in range(100_000)]
    assert again == first  # stable across runs
    other = [experiment.assign(f"contact-{n}", "browse_abandonment") for n in range(1000)]
    assert other != first[:1000]  # independent between scenarios


def test_an_experiment_records_the_variant_and_holds_out_with_a_decision() -> None:
    from relance.core.events import CartChange, ContactProfile
    from relance.scenario_file import load_config

    from .timeline import at, product

    config = load_config("""\
scenarios:
  cart_abandonment:
    experiment:
      holdout: 50%
      variants:
        soon: {weight: 1, delay: 30m, template: cart_soon}
        later: {weight: 1, delay: 2h}
""")
    seen = {"soon": 0, "later": 0, "holdout": 0}
    for n in range(60):
        contact = f"x{n}"
        events = [
            ContactProfile(f"p{n}", contact, at(-1), email="x@y.z", marketing_opt_in=True),
            CartChange(f"k{n}", contact, at(0), "add", product("p1"), 1),
        ]
        outcomes = replay(events, 600, config)
        if sent(outcomes):
            (command,) = sent(outcomes)
            assert command.variant in ("soon", "later")
            seen[command.variant] += 1
            expected = (
                (at(30), "cart_soon")
                if command.variant == "soon"
                else (at(120), "cart_abandonment")
            )
            assert (command.decided_at, command.template) == expected
        else:
            assert suppressed(outcomes) == [("cart_abandonment", "holdout")]
            seen["holdout"] += 1
    assert all(count > 5 for count in seen.values())


PACED = """\
policy:
  caps: {email: {day: 1, week: 3}}
  quiet_hours: {email: '21:00-08:00'}
scenarios:
  cart_abandonment: {delay: 1h, on_hold: defer}
  browse_abandonment: {delay: 1h, on_hold: %s}
"""


def paced_events(zone: str | None = "Europe/Berlin") -> list[Any]:
    from relance.core.events import ContactProfile

    from .timeline import at

    # T0 is 2024-05-01 10:00 UTC = 12:00 in Berlin. Browse due 13:00, cart due 14:00 local.
    return [
        ContactProfile("p", "c1", at(-60), email="a@b.c", marketing_opt_in=True, timezone=zone),
        view(0, "p2"),
        cart(55, pid="p3", contact="c2"),
        cart(60),
    ]


def test_a_second_marketing_email_on_the_same_day_is_deferred_to_the_next_day() -> None:
    from relance.core.commands import Deferral
    from relance.core.timestamps import to_iso
    from relance.scenario_file import load_config

    outcomes = replay(paced_events(), 3 * 24 * 60, load_config(PACED % "defer"))
    (deferral,) = [o for o in outcomes if isinstance(o, Deferral)]
    assert (deferral.scenario, deferral.reason) == ("cart_abandonment", "frequency_cap")
    # next local day 00:00 falls in quiet hours: 08:00 Berlin (UTC+2) = 06:00 UTC
    assert to_iso(deferral.until) == "2024-05-02T06:00:00.000Z"
    assert [(c.scenario, to_iso(c.decided_at)) for c in sent(outcomes) if c.contact_id == "c1"] == [
        ("browse_abandonment", "2024-05-01T11:00:00.000Z"),
        ("cart_abandonment", "2024-05-02T06:00:00.000Z"),
    ]


def test_over_the_cap_a_scenario_that_drops_says_so() -> None:
    from relance.scenario_file import load_config

    config = load_config(
        PACED.replace(
            "cart_abandonment: {delay: 1h, on_hold: defer}", "cart_abandonment: {delay: 1h}"
        )
        % "defer"
    )
    outcomes = replay(paced_events(), 3 * 24 * 60, config)
    assert ("cart_abandonment", "frequency_cap") in suppressed(outcomes)


@pytest.mark.parametrize(
    ("zone", "at_utc", "until_utc"),
    [
        # 23:30 UTC on 1 May: 01:30 in Berlin (quiet until 08:00 = 06:00 UTC) ...
        ("Europe/Berlin", "2024-05-01T23:30:00Z", "2024-05-02T06:00:00.000Z"),
        # ... but 19:30 in New York: not quiet
        ("America/New_York", "2024-05-01T23:30:00Z", None),
        # across the switch to summer time in Berlin (31 March 2024, 02:00 -> 03:00):
        # 01:30 UTC = 03:30 CEST, quiet until 08:00 CEST = 06:00 UTC
        ("Europe/Berlin", "2024-03-31T01:30:00Z", "2024-03-31T06:00:00.000Z"),
        # the evening before, 21:30 CET = 20:30 UTC: quiet until 08:00 CEST the next morning
        ("Europe/Berlin", "2024-03-30T20:30:00Z", "2024-03-31T06:00:00.000Z"),
        # and back to winter time (27 October 2024): 22:00 CET = 21:00 UTC, until 07:00 UTC
        ("Europe/Berlin", "2024-10-26T21:00:00Z", "2024-10-27T07:00:00.000Z"),
    ],
)
def test_quiet_hours_in_the_contacts_time_zone_across_daylight_saving(
    zone: str, at_utc: str, until_utc: str | None
) -> None:
    from relance.core.policy.pacing import parse_hours, quiet_until
    from relance.core.timestamps import parse_iso, to_iso

    until = quiet_until(parse_iso(at_utc), zone, parse_hours("21:00-08:00"))
    assert (None if until is None else to_iso(until)) == until_utc


def test_cart_and_browse_due_within_the_window_only_the_cart_is_sent() -> None:
    """A view arms browse; a cart ``update`` (which, unlike an add, does not disarm browse)
    opens the cart a minute later: both reminders fall due within the 5-minute window."""
    from relance.scenario_file import load_config

    config = load_config(
        "policy: {arbitration_window: 5m}\n"
        "scenarios:\n  cart_abandonment: {delay: 1h}\n"
        "  browse_abandonment: {delay: 1h}\n"
    )
    events = [profile(), view(49, "p2"), cart(50, "update", quantity=2)]
    outcomes = replay(events, 600, config)
    assert [c.scenario for c in sent(outcomes)] == ["cart_abandonment"]
    assert suppressed(outcomes) == [("browse_abandonment", "lower_priority")]
    without = replay(
        events,
        600,
        load_config(
            "scenarios:\n  cart_abandonment: {delay: 1h}\n  browse_abandonment: {delay: 1h}\n"
        ),
    )
    assert sorted(c.scenario for c in sent(without)) == ["browse_abandonment", "cart_abandonment"]
