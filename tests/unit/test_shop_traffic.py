"""The realistic benchmark traffic looks like the shop it is calibrated against, and the
measures it is calibrated by measure what they say."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from relance.core.events import CartChange, ContactProfile, Event, Order, PageView, Product
from relance.core.timestamps import MINUTE_MS, SECOND_MS
from relance.demo.samples import otto, shop_traffic
from relance.demo.samples.measures import TARGET, Measures, measure, side_by_side

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "otto-sessions-sample.jsonl.gz"


@pytest.fixture(scope="module")
def events() -> list[Event]:
    return shop_traffic.generate(20_000, seed=3)


@pytest.fixture(scope="module")
def measures(events: list[Event]) -> Measures:
    return measure(events)


def test_the_mix_is_the_target_shops(measures: Measures) -> None:
    assert measures.contacts == 20_000
    assert measures.events_per_contact == pytest.approx(TARGET["events_per_contact"], abs=0.25)
    assert measures.views == pytest.approx(TARGET["views"], abs=0.015)
    assert measures.profiles == pytest.approx(TARGET["profiles"], abs=0.015)
    # few carts and fewer orders: the rest of the events
    assert 0.008 < measures.carts < 0.02
    assert 0.0003 < measures.orders < measures.carts / 3


def test_many_contacts_are_about_at_once(measures: Measures) -> None:
    """59 % distinct contacts in a window of 5,000 events (the stream's first and last
    windows, where fewer contacts are about, weigh more in a short stream: hence the
    margin below)."""
    assert measures.distinct_per_window is not None
    assert 0.52 < measures.distinct_per_window < 0.64


def test_visits_have_the_otto_samples_shape(measures: Measures) -> None:
    sample = measure(otto.load(SAMPLE))
    assert measures.median_gap_s == pytest.approx(sample.median_gap_s, abs=5)
    assert measures.repeat_views == pytest.approx(sample.repeat_views, abs=0.06)
    assert measures.views_per_cart == pytest.approx(sample.views_per_cart, abs=2.5)
    # Short visits, most of one or two views, and a long tail.
    assert measures.median_events_per_visit <= 3
    assert measures.events_per_visit > measures.median_events_per_visit
    assert 2 < measures.carts_per_order < 10


def test_each_contact_has_one_profile_before_its_first_event(events: list[Event]) -> None:
    firsts: dict[str, Event] = {}
    profiles: Counter[str] = Counter()
    for event in events:
        firsts.setdefault(event.contact_id, event)
        profiles[event.contact_id] += isinstance(event, ContactProfile)
    assert set(profiles.values()) == {1}
    assert all(isinstance(first, ContactProfile) for first in firsts.values())


def test_the_stream_is_in_time_order_with_unique_ids(events: list[Event]) -> None:
    assert [e.occurred_at for e in events] == sorted(e.occurred_at for e in events)
    assert len({e.event_id for e in events}) == len(events)


def test_an_order_buys_what_the_contact_has_in_its_cart(events: list[Event]) -> None:
    cart: dict[str, Counter[str]] = {}
    orders = 0
    for event in events:
        if isinstance(event, CartChange):
            assert event.action == "add" and event.product is not None
            cart.setdefault(event.contact_id, Counter())[event.product.id] += event.quantity
        elif isinstance(event, Order):
            orders += 1
            held = cart.pop(event.contact_id)
            assert {i.product.id: i.quantity for i in event.items} == dict(held)
    assert orders > 0


def test_popularity_is_long_tailed(events: list[Event]) -> None:
    views = Counter(
        e.product.id for e in events if isinstance(e, PageView) and e.product is not None
    )
    ranked = [count for _, count in views.most_common()]
    top = sum(ranked[: len(ranked) // 100])
    assert top > 0.15 * sum(ranked)  # the top 1 % of products draw a sixth of the views
    assert sum(1 for count in ranked if count == 1) > len(ranked) / 4  # and many once


def test_the_same_seed_gives_the_same_traffic() -> None:
    assert shop_traffic.generate(500, seed=4) == shop_traffic.generate(500, seed=4)
    assert shop_traffic.generate(500, seed=4) != shop_traffic.generate(500, seed=5)


def _view(contact: str, at: int, product: str) -> PageView:
    return PageView(f"{contact}-{at}", contact, at, "product", Product(product))


def test_measures_of_a_small_stream() -> None:
    """Two contacts: a has two visits (37 minutes apart) and b one; a re-views p1."""
    stream: list[Event] = [
        ContactProfile("a-p", "a", 0),
        _view("a", 10 * SECOND_MS, "p1"),
        _view("a", 40 * SECOND_MS, "p2"),
        CartChange("a-c", "a", 50 * SECOND_MS, "add", Product("p2")),
        _view("a", 37 * MINUTE_MS, "p1"),
        Order("a-o", "a", 38 * MINUTE_MS, "o", "placed", (), 0.0, "EUR"),
        ContactProfile("b-p", "b", 0),
        _view("b", 20 * SECOND_MS, "p3"),
    ]
    measures = measure(stream)
    assert (measures.events, measures.contacts, measures.events_per_contact) == (8, 2, 4.0)
    assert (measures.views, measures.profiles, measures.carts, measures.orders) == (
        4 / 8,
        2 / 8,
        1 / 8,
        1 / 8,
    )
    # visits: a [10 s, 40 s, 50 s], a [37 min, 38 min], b [20 s]
    assert (measures.events_per_visit, measures.median_events_per_visit) == (2.0, 2.0)
    assert measures.median_gap_s == 30.0  # gaps 30 s, 10 s, 60 s
    assert measures.repeat_views == 1 / 4
    assert (measures.views_per_cart, measures.carts_per_order) == (3.0, 1.0)
    assert measures.distinct_per_window is None  # shorter than a window


def test_the_table_puts_streams_side_by_side(measures: Measures) -> None:
    lines = side_by_side({"this traffic": measures, "target": TARGET})
    assert lines[0].split() == ["this", "traffic", "target"]
    row = next(line for line in lines if line.startswith("product views"))
    assert row.split()[-2:] == [f"{measures.views:.1%}", "78.0%"]
    assert next(line for line in lines if line.startswith("orders")).split()[-1] == "-"
