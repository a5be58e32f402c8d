"""Scenarios with steps, staleness, and transactional order notifications, in virtual time."""

from __future__ import annotations

from datetime import date

import pytest

from relance.core.events import (
    CartAction,
    CartChange,
    CatalogUpdate,
    ContactProfile,
    Engagement,
    Event,
    Order,
    OrderItem,
    OrderStatus,
    PageView,
    Product,
)
from relance.core.timestamps import parse_iso, to_iso
from relance.scenario_file import load_config

from .timeline import at, cart, order, profile, replay, sent, stock, suppressed, view

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
    "both steps of an abandoned cart, counted from the last change": (
        [profile(), cart(0)],
        3000,
        [(60, 1, "cart_abandonment"), (24 * 60, 2, "cart_last_call")],
    ),
    "an order after step 1 stops step 2": (
        [profile(), cart(0), order(120)],
        3000,
        [(60, 1, "cart_abandonment")],
    ),
    "an order before step 1 stops both": ([profile(), cart(0), order(30)], 3000, []),
    "a cart change after step 1 starts over at step 1 (the quiet period holds it)": (
        [profile(), cart(0), cart(120, pid="p2")],
        3000,
        [(60, 1, "cart_abandonment")],
    ),
    "emptying the cart after step 1 stops step 2": (
        [profile(), cart(0), cart(120, "clear", pid=None)],
        3000,
        [(60, 1, "cart_abandonment")],
    ),
    "a clock jump past both deadlines fires both, in order": (
        [profile(), cart(0), view(2000, page_type="home")],
        2000,
        [(60, 1, "cart_abandonment"), (24 * 60, 2, "cart_last_call")],
    ),
}


@pytest.mark.parametrize("name", list(STEP_CASES))
def test_steps(name: str) -> None:
    events, until, expected = STEP_CASES[name]
    commands = sent(replay(events, until, TWO_STEPS))
    assert [(c.decided_at, c.step, c.template) for c in commands] == [
        (at(m), step, template) for m, step, template in expected
    ]


def test_each_step_has_its_own_command_id_within_one_instance() -> None:
    events = [profile(), cart(0)]
    first, second = sent(replay(events, 3000, TWO_STEPS))
    assert first.command_id != second.command_id
    again = sent(replay(events, 3000, TWO_STEPS))
    assert [c.command_id for c in again] == [first.command_id, second.command_id]


def test_a_step_due_after_interest_went_stale_is_not_sent() -> None:
    config = load_config(
        "scenarios:\n  cart_abandonment:\n    stale_after: 12h\n"
        "    steps: [{delay: 1h}, {delay: 24h}]\n"
    )
    outcomes = replay([profile(), cart(0)], 3000, config)
    assert [c.step for c in sent(outcomes)] == [1]
    assert suppressed(outcomes) == [("cart_abandonment", "stale")]


def test_a_command_expires_when_its_journey_goes_stale_and_without_stale_after_never() -> None:
    # The sender stops retrying a message at the moment the core would call it stale.
    config = load_config(
        "scenarios:\n  cart_abandonment:\n    stale_after: 12h\n"
        "    steps: [{delay: 1h}, {delay: 6h}]\n"
        "  browse_abandonment: {delay: 1h}\n"
    )
    commands = sent(replay([profile(), cart(0), cart(30)], 3000, config))
    assert [(c.scenario, c.step, c.expires_at) for c in commands] == [
        ("cart_abandonment", 1, at(30 + 12 * 60)),
        ("cart_abandonment", 2, at(30 + 12 * 60)),
    ]
    assert commands[0].to_record()["expires_at"] == to_iso(at(30 + 12 * 60))
    no_limit = sent(replay([profile(), view(0)], 3000, config))
    assert [(c.scenario, c.expires_at) for c in no_limit] == [("browse_abandonment", None)]
    assert no_limit[0].to_record()["expires_at"] is None


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
        ("order_confirmation", at(0)),
        ("order_confirmation", at(1)),
    ]
    assert commands[0].payload["order"]["items"][0]["product"]["id"] == "p1"
    assert commands[0].command_id != commands[1].command_id


def test_order_notifications_follow_the_status_and_still_need_an_address() -> None:
    events = [
        profile(opt_in=None),
        order(0, "shipped"),
        order(5, "cancelled"),
        order(6, "paid"),
        order(7, "refunded"),
    ]
    commands = sent(replay(events, 10, ORDERS))
    assert [(c.scenario, c.template) for c in commands] == [
        ("shipping_update", "shipping_update"),
        ("order_cancellation", "order_cancellation"),
        ("refund_notice", "refund"),
    ]
    assert suppressed(replay([order(0)], 10, ORDERS)) == [("order_confirmation", "no_address")]


def test_order_notifications_fire_without_a_later_event_once_time_moves() -> None:
    assert sent(replay([profile(), order(0)], None, ORDERS)) == []
    assert len(sent(replay([profile(), order(0)], 0, ORDERS))) == 1


def birthday_profile(
    minute: float, birthday: str, zone: str | None, contact: str = "c1", opt_in: bool = True
) -> ContactProfile:
    return ContactProfile(
        f"b{minute}{contact}",
        contact,
        at(minute),
        email=f"{contact}@x.org",
        timezone=zone,
        marketing_opt_in=opt_in,
        birthday=date.fromisoformat(birthday),
    )


BIRTHDAYS = load_config("scenarios:\n  birthday: {}\n")
DAYS = 24 * 60  # minutes; T0 is 2024-05-01T10:00:00Z


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Asia/Tokyo", "2024-05-03T00:00:00Z"),  # 09:00 +09:00
        ("America/New_York", "2024-05-03T13:00:00Z"),  # 09:00 -04:00 (summer time)
        (None, "2024-05-03T09:00:00Z"),  # no zone known: UTC
    ],
)
def test_a_birthday_is_sent_at_nine_in_the_contacts_own_time_zone(
    zone: str | None, expected: str
) -> None:
    (command,) = sent(replay([birthday_profile(0, "1990-05-03", zone)], 3 * DAYS, BIRTHDAYS))
    assert command.decided_at == parse_iso(expected)
    assert command.payload == {"year": 2024}


def test_a_birthday_comes_back_every_year_with_its_own_id() -> None:
    outcomes = sent(
        replay([birthday_profile(0, "1990-05-03", "Europe/Paris")], 2 * 365 * DAYS, BIRTHDAYS)
    )
    assert [to_iso(c.decided_at) for c in outcomes] == [
        "2024-05-03T07:00:00.000Z",
        "2025-05-03T07:00:00.000Z",
    ]
    assert outcomes[0].command_id != outcomes[1].command_id


def test_a_profile_read_after_the_send_time_waits_for_next_year() -> None:
    # T0 is 12:00 in Paris on 1 May: today's 09:00 has gone
    outcomes = sent(
        replay([birthday_profile(0, "1990-05-01", "Europe/Paris")], 300 * DAYS, BIRTHDAYS)
    )
    assert outcomes == []


def test_the_29th_of_february_is_the_28th_in_other_years_and_consent_still_counts() -> None:
    events = [
        birthday_profile(0, "2000-02-29", None),
        birthday_profile(1, "1980-06-01", None, contact="c2", opt_in=False),
    ]
    outcomes = replay(events, 365 * DAYS, BIRTHDAYS)
    assert [to_iso(c.decided_at) for c in sent(outcomes)] == ["2025-02-28T09:00:00.000Z"]
    assert suppressed(outcomes) == [("birthday", "no_consent")]


def test_a_changed_birthday_replans_and_a_removed_one_is_not_sent() -> None:
    moved = [birthday_profile(0, "1990-05-03", None), birthday_profile(1, "1990-05-05", None)]
    assert [c.decided_at for c in sent(replay(moved, 10 * DAYS, BIRTHDAYS))] == [
        parse_iso("2024-05-05T09:00:00Z")
    ]


REACTIVATION = load_config("scenarios:\n  reactivation:\n    steps: [{delay: 60d}, {delay: 75d}]\n")


def test_reactivation_after_sixty_days_without_activity_and_a_return_stops_the_series() -> None:
    quiet = sent(replay([profile(), view(0, page_type="home")], 100 * DAYS, REACTIVATION))
    assert [(c.step, c.decided_at) for c in quiet] == [(1, at(60 * DAYS)), (2, at(75 * DAYS))]
    back = sent(
        replay(
            [profile(), view(0, page_type="home"), view(61 * DAYS, "p2")], 100 * DAYS, REACTIVATION
        )
    )
    assert [(c.step, c.decided_at) for c in back] == [(1, at(60 * DAYS))]


def test_every_activity_moves_the_wait_and_an_older_event_read_late_does_not() -> None:
    events = [profile(), view(0), cart(10 * DAYS), view(5 * DAYS)]
    (first, _) = sent(replay(events, 100 * DAYS, REACTIVATION))
    assert first.decided_at == at(70 * DAYS)


def test_a_review_request_goes_fourteen_days_after_delivery_to_consenting_contacts() -> None:
    config = load_config("scenarios:\n  review_request: {}\n")
    (command,) = sent(replay([profile(), order(0, "delivered")], 20 * DAYS, config))
    assert command.decided_at == at(14 * DAYS) and command.template == "review_request"
    assert suppressed(
        replay([profile(opt_in=False), order(0, "delivered")], 20 * DAYS, config)
    ) == [("review_request", "no_consent")]


RESTOCK = load_config("scenarios:\n  back_in_stock: {}\n  cart_abandonment: {}\n")


def sold_out_view(minute: float, pid: str = "p1") -> PageView:
    return PageView(
        f"o{minute}{pid}",
        "c1",
        at(minute),
        "product",
        Product(pid, name=f"Product {pid}", in_stock=False),
    )


STOCK_CASES: dict[str, tuple[list[Event | CatalogUpdate], float, list[float]]] = {
    # name: (events and catalog updates, clock at the end, minutes of back-in-stock messages)
    "seen sold out, told when it is back": ([profile(), sold_out_view(0), stock(100)], 200, [100]),
    "seen in stock: nothing to tell": ([profile(), view(0), stock(100)], 200, []),
    "the catalog said sold out when the page did not say": (
        [profile(), stock(-10, in_stock=False), view(0), stock(100)],
        200,
        [100],
    ),
    "seen sold out, then seen in stock: the watch ends": (
        [profile(), sold_out_view(0), view(10), stock(100)],
        200,
        [],
    ),
    "a restock of another product tells nothing": (
        [profile(), sold_out_view(0, "p2"), stock(100)],
        200,
        [],
    ),
    "told once, however many restocks follow": (
        [profile(), sold_out_view(0), stock(100), stock(150, in_stock=False), stock(160)],
        300,
        [100],
    ),
    "a watch older than 30 days is stale": (
        [profile(), sold_out_view(0), stock(31 * 24 * 60)],
        32 * 24 * 60,
        [],
    ),
}


@pytest.mark.parametrize("name", list(STOCK_CASES))
def test_back_in_stock(name: str) -> None:
    events, until, expected = STOCK_CASES[name]
    commands = [c for c in sent(replay(events, until, RESTOCK)) if c.scenario == "back_in_stock"]
    assert [c.decided_at for c in commands] == [at(m) for m in expected]


def test_back_in_stock_shows_the_catalogs_current_product() -> None:
    events = [profile(), sold_out_view(0), stock(100, price=7.5)]
    (command,) = [c for c in sent(replay(events, 200, RESTOCK)) if c.scenario == "back_in_stock"]
    assert command.payload["product"]["price"] == 7.5


def test_a_cart_reminder_leaves_out_what_the_catalog_says_is_sold_out() -> None:
    events = [
        profile(),
        cart(0, pid="p1"),
        cart(1, pid="p2"),
        stock(30, "p2", in_stock=False),
        stock(31, "p1", price=8.0),
    ]
    (command,) = sent(replay(events, 200, RESTOCK))
    assert [(i["product"]["id"], i["product"]["price"]) for i in command.payload["items"]] == [
        ("p1", 8.0)
    ]
    gone = [profile(), cart(0, pid="p1"), stock(30, "p1", in_stock=False)]
    assert sent(replay(gone, 200, RESTOCK)) == []


BEHAVIOUR = load_config(
    "scenarios:\n  category_abandonment: {min_views: 3, delay: 1h}\n"
    "  search_abandonment: {delay: 30m}\n"
)


def in_category(minute: float, pid: str, category: str = "shoes") -> PageView:
    return PageView(
        f"g{minute}{pid}",
        "c1",
        at(minute),
        "product",
        Product(pid, name=f"Product {pid}", category_id=category, in_stock=True),
    )


def search(minute: float, query: str = "red shoes") -> PageView:
    return PageView(f"q{minute}", "c1", at(minute), "search", search_query=query)


BEHAVIOUR_CASES: dict[str, tuple[list[Event], float, list[tuple[str, float]]]] = {
    "three product views in one category, no cart": (
        [profile(), in_category(0, "a"), in_category(5, "b"), in_category(10, "a")],
        300,
        [("category_abandonment", 70)],
    ),
    "two views are not several": ([profile(), in_category(0, "a"), in_category(5, "b")], 300, []),
    "views spread over categories do not add up": (
        [profile(), in_category(0, "a"), in_category(5, "b", "bags"), in_category(10, "c", "hats")],
        300,
        [],
    ),
    "a fourth view moves the deadline": (
        [
            profile(),
            in_category(0, "a"),
            in_category(5, "b"),
            in_category(10, "a"),
            in_category(40, "c"),
        ],
        300,
        [("category_abandonment", 100)],
    ),
    "a cart add disarms the category": (
        [
            profile(),
            in_category(0, "a"),
            in_category(5, "b"),
            in_category(10, "a"),
            cart(20, pid="a"),
        ],
        300,
        [],
    ),
    "a search with nothing after it": ([profile(), search(0)], 300, [("search_abandonment", 30)]),
    "a product view after the search answers it": ([profile(), search(0), view(10)], 300, []),
    "a new search restarts the wait and is the one answered": (
        [profile(), search(0), search(20, "blue shoes")],
        300,
        [("search_abandonment", 50)],
    ),
    "a search without a query is no search": (
        [profile(), PageView("q", "c1", at(0), "search")],
        300,
        [],
    ),
}


@pytest.mark.parametrize("name", list(BEHAVIOUR_CASES))
def test_category_and_search_abandonment(name: str) -> None:
    events, until, expected = BEHAVIOUR_CASES[name]
    commands = sent(replay(events, until, BEHAVIOUR))
    assert [(c.scenario, c.decided_at) for c in commands] == [
        (scenario, at(m)) for scenario, m in expected
    ]


def test_the_category_reminder_shows_the_category_and_its_most_viewed_products() -> None:
    events = [
        profile(),
        in_category(0, "a"),
        in_category(5, "b"),
        in_category(10, "a"),
        in_category(12, "z", "bags"),
    ]
    (command,) = sent(replay(events, 300, BEHAVIOUR))
    assert command.payload["category_id"] == "shoes"
    assert [p["product"]["id"] for p in command.payload["products"]] == ["a", "b"]


def test_the_search_reminder_carries_the_query() -> None:
    (command,) = sent(replay([profile(), search(0, "linen shirt")], 300, BEHAVIOUR))
    assert command.payload == {"search_query": "linen shirt"}


SUBSCRIPTIONS = load_config("scenarios:\n  subscription_expiry: {send_at: '08:30'}\n")


def subscriber(
    minute: float, ends_on: str, zone: str | None = "Europe/Berlin", opt_in: bool | None = None
) -> ContactProfile:
    return ContactProfile(
        f"s{minute}",
        "c1",
        at(minute),
        email="sub@x.org",
        timezone=zone,
        marketing_opt_in=opt_in,
        subscription_ends_on=date.fromisoformat(ends_on),
    )


def test_subscription_reminders_three_days_before_and_on_the_day_at_local_time() -> None:
    commands = sent(replay([subscriber(0, "2024-05-20")], 30 * DAYS, SUBSCRIPTIONS))
    assert [(to_iso(c.decided_at), c.payload["days_left"]) for c in commands] == [
        ("2024-05-17T06:30:00.000Z", 3),
        ("2024-05-20T06:30:00.000Z", 0),
    ]
    assert commands[0].payload["ends_on"] == "2024-05-20"


def test_a_renewal_replans_and_a_step_already_past_is_skipped() -> None:
    renewed = [subscriber(0, "2024-05-20"), subscriber(18 * DAYS, "2024-06-20")]
    commands = sent(replay(renewed, 60 * DAYS, SUBSCRIPTIONS))
    assert [(c.payload["ends_on"], c.payload["days_left"]) for c in commands] == [
        ("2024-05-20", 3),
        ("2024-06-20", 3),
        ("2024-06-20", 0),
    ]
    late = sent(replay([subscriber(0, "2024-05-02")], 30 * DAYS, SUBSCRIPTIONS))
    assert [c.payload["days_left"] for c in late] == [0]


WELCOME = load_config("""\
scenarios:
  welcome:
    delay: 10m
    window: 14d
    if_ordered: {delay: 1d}
    otherwise: {delay: 25d}
""")


def consent(minute: float, opt_in: bool | None = True) -> ContactProfile:
    return ContactProfile(
        f"w{minute}", "c1", at(minute), email="new@x.org", marketing_opt_in=opt_in
    )


WELCOME_CASES: dict[str, tuple[list[Event], float, list[tuple[int, str, float]]]] = {
    # name: (events, clock at the end, (step, template, minute) of each message)
    "no order: the welcome, then the reminder after 25 days": (
        [consent(0)],
        40 * DAYS,
        [(1, "welcome", 10), (3, "welcome_reminder", 25 * DAYS)],
    ),
    "an order in the window: the welcome, then the ordered follow-up a day after it": (
        [consent(0), order(3 * DAYS)],
        40 * DAYS,
        [(1, "welcome", 10), (2, "welcome_ordered", 4 * DAYS)],
    ),
    "an order before the welcome went out: the follow-up comes after the welcome": (
        [consent(0), order(5)],
        40 * DAYS,
        [(1, "welcome", 10), (2, "welcome_ordered", 5 + DAYS)],
    ),
    "an order after the window: the reminder": (
        [consent(0), order(15 * DAYS)],
        40 * DAYS,
        [(1, "welcome", 10), (3, "welcome_reminder", 25 * DAYS)],
    ),
    "no consent: no series": ([consent(0, opt_in=False)], 40 * DAYS, []),
    "consent given later starts it then": (
        [consent(0, opt_in=False), consent(60)],
        2 * DAYS,
        [(1, "welcome", 70)],
    ),
    "a second consent does not start it again (and an opt-out holds the reminder)": (
        [consent(0), consent(DAYS, opt_in=False), consent(30 * DAYS)],
        60 * DAYS,
        [(1, "welcome", 10)],
    ),
}


@pytest.mark.parametrize("name", list(WELCOME_CASES))
def test_welcome_series(name: str) -> None:
    events, until, expected = WELCOME_CASES[name]
    commands = sent(replay(events, until, WELCOME))
    assert [(c.step, c.template, c.decided_at) for c in commands] == [
        (step, template, at(m)) for step, template, m in expected
    ]


PRICES = load_config("scenarios:\n  price_drop: {min_drop_percent: 10}\n")


def priced_view(minute: float, price: float, pid: str = "p1") -> PageView:
    return PageView(
        f"pv{minute}{pid}",
        "c1",
        at(minute),
        "product",
        Product(pid, name=f"Product {pid}", price=price, currency="EUR"),
    )


PRICE_CASES: dict[str, tuple[list[Event | CatalogUpdate], float, list[float]]] = {
    "viewed at 10, now 8: told": (
        [profile(), priced_view(0, 10.0), stock(60, price=8.0)],
        120,
        [60],
    ),
    "a drop under the threshold is not one": (
        [profile(), priced_view(0, 10.0), stock(60, price=9.5)],
        120,
        [],
    ),
    "carted at 10, now 9: told": ([profile(), cart(0), stock(60, price=9.0)], 120, [60]),
    "told once, however many drops follow": (
        [profile(), priced_view(0, 10.0), stock(60, price=8.0), stock(70, price=6.0)],
        120,
        [60],
    ),
    "viewed again at the lower price: a later drop counts from there": (
        [profile(), priced_view(0, 10.0), priced_view(30, 8.0), stock(60, price=7.5)],
        120,
        [],
    ),
    "sold out: no price-drop message": (
        [profile(), priced_view(0, 10.0), stock(60, price=8.0, in_stock=False)],
        120,
        [],
    ),
    "an interest older than 14 days is stale": (
        [profile(), priced_view(0, 10.0), stock(15 * DAYS, price=5.0)],
        16 * DAYS,
        [],
    ),
}


@pytest.mark.parametrize("name", list(PRICE_CASES))
def test_price_drop(name: str) -> None:
    events, until, expected = PRICE_CASES[name]
    commands = sent(replay(events, until, PRICES))
    assert [c.decided_at for c in commands] == [at(m) for m in expected]
    for command in commands:
        assert command.payload["previous_price"] > command.payload["product"]["price"]


def basket(
    minute: float,
    contact: str,
    *pids: str,
    status: OrderStatus = "placed",
    order_id: str | None = None,
) -> Order:
    return Order(
        f"b{minute}{contact}{status}",
        contact,
        at(minute),
        order_id or f"o-{contact}",
        status,
        tuple(OrderItem(Product(p, name=f"Product {p}", category_id="shoes"), 1) for p in pids),
        10.0,
        "EUR",
    )


CROSS_SELL = load_config(
    "scenarios:\n  cross_sell: {delay: 7d}\n  order_confirmation: {cross_sell: true}\n"
)


def test_cross_sell_offers_what_others_bought_with_it_seven_days_after_delivery() -> None:
    events: list[Event | CatalogUpdate] = [
        basket(0, "x1", "boot", "sock"),
        basket(1, "x2", "boot", "sock", "lace"),
        basket(2, "x3", "boot", "lace"),
        basket(3, "x4", "boot", "polish"),
        basket(4, "x5", "boot", "sock"),
        profile(),
        basket(10, "c1", "boot"),
        basket(3 * DAYS, "c1", "boot", status="delivered"),
    ]
    commands = sent(replay(events, 20 * DAYS, CROSS_SELL))
    (offer,) = [c for c in commands if c.scenario == "cross_sell"]
    assert offer.decided_at == at(10 * DAYS)
    assert [p["product"]["id"] for p in offer.payload["products"]] == ["sock", "lace", "polish"]
    (confirmation,) = [c for c in commands if c.scenario == "order_confirmation"]
    assert [p["product"]["id"] for p in confirmation.payload["products"]] == [
        "sock",
        "lace",
        "polish",
    ]


@pytest.mark.parametrize(
    ("scenarios", "relates"),
    [
        ("cross_sell: {}", True),
        ("welcome: {}", True),
        ("order_confirmation: {cross_sell: true}", True),
        ("order_confirmation: {}", False),
        ("cart_abandonment: {}\n  browse_abandonment: {}", False),
    ],
)
def test_orders_teach_related_products_only_when_a_message_offers_them(
    scenarios: str, relates: bool
) -> None:
    from relance.core.engine import Engine

    engine = Engine(load_config(f"scenarios:\n  {scenarios}\n"))
    engine.feed(basket(0, "x1", "boot", "sock"))
    assert engine.config.relates is relates
    assert bool(engine.catalog.related.suggest([Product("boot")], engine.catalog)) is relates
    assert engine.catalog.get("sock") is not None  # the products are learnt either way


def test_cross_sell_falls_back_on_the_category_and_never_offers_what_was_bought() -> None:
    events: list[Event | CatalogUpdate] = [
        stock(-30, "hat"),
        CatalogUpdate(
            "s-scarf", at(-20), Product("scarf", name="Scarf", category_id="winter", in_stock=True)
        ),
        CatalogUpdate(
            "s-gloves",
            at(-19),
            Product("gloves", name="Gloves", category_id="winter", in_stock=True),
        ),
        profile(),
        Order(
            "o",
            "c1",
            at(0),
            "o-9",
            "delivered",
            (OrderItem(Product("scarf", category_id="winter"), 1),),
            5.0,
            "EUR",
        ),
    ]
    (offer,) = sent(replay(events, 20 * DAYS, CROSS_SELL))
    assert [p["product"]["id"] for p in offer.payload["products"]] == ["gloves"]


def test_nothing_to_offer_means_no_cross_sell_message() -> None:
    events = [profile(), basket(0, "c1", "lonely", status="delivered")]
    assert sent(replay(events, 20 * DAYS, CROSS_SELL)) == []


DIGESTS = load_config(
    "scenarios:\n  back_in_stock: {digest: daily}\n"
    "  price_drop: {digest: daily}\n  cart_abandonment: {}\n"
)


def test_a_daily_digest_combines_the_days_notifications_into_one_message_next_morning() -> None:
    events: list[Event | CatalogUpdate] = [
        profile(),
        sold_out_view(0, "p1"),
        priced_view(5, 10.0, "p2"),
        stock(60, "p1"),
        stock(120, "p2", price=7.0),
        cart(130),
    ]
    outcomes = replay(events, 2 * DAYS, DIGESTS)
    commands = sent(outcomes)
    assert [(c.scenario, to_iso(c.decided_at)) for c in commands] == [
        ("cart_abandonment", "2024-05-01T13:10:00.000Z"),
        ("digest_daily", "2024-05-02T09:00:00.000Z"),
    ]
    digest = commands[1]
    assert [i["scenario"] for i in digest.payload["items"]] == ["back_in_stock", "price_drop"]
    assert digest.template == "digest" and digest.payload["period"] == "2024-05-01"
    assert sorted(suppressed(outcomes)) == [
        ("back_in_stock", "digested"),
        ("price_drop", "digested"),
    ]


def test_a_weekly_digest_goes_out_on_monday_and_each_period_has_its_own_id() -> None:
    weekly = load_config("scenarios:\n  back_in_stock: {digest: weekly}\n")
    events: list[Event | CatalogUpdate] = [
        profile(),
        sold_out_view(0, "p1"),
        stock(60, "p1"),  # Wednesday 1 May
        sold_out_view(7 * DAYS, "p2"),
        stock(7 * DAYS + 60, "p2"),
    ]  # the next Wednesday
    commands = sent(replay(events, 20 * DAYS, weekly))
    assert [(c.payload["period"], to_iso(c.decided_at)) for c in commands] == [
        ("2024-W18", "2024-05-06T09:00:00.000Z"),
        ("2024-W19", "2024-05-13T09:00:00.000Z"),
    ]
    assert commands[0].command_id != commands[1].command_id


def test_an_event_keeps_every_part_of_the_state_it_does_not_change() -> None:
    from relance.core.contact import on_event
    from relance.core.state import ContactState

    kept = (
        "profile",
        "last_sent",
        "watching",
        "categories",
        "interests",
        "pending",
        "sends",
        "seen",
        "reach",
    )
    full = ContactState("c1")._replace(**{name: f"<{name}>" for name in kept})
    fields = set(ContactState.__struct_fields__)
    assert fields == {"contact_id", "cart", "browse", "journeys", *kept}
    for event in (cart(0, "clear", pid=None), order(0, "paid"), view(0, page_type="home")):
        after = on_event(full, event, load_config("scenarios:\n  order_confirmation: {}\n"))
        for name in kept:
            assert getattr(after, name) == f"<{name}>", (type(event).__name__, name)


CONDITIONAL = load_config("""\
scenarios:
  cart_abandonment:
    when: {product.category_id: [shoes, bags], product.price: '>= 50'}
  big_order_thanks:
    kind: order_status
    statuses: [placed]
    transactional: true
    template: order_confirmation
    when: {total: '> 100', currency: EUR}
""")


def carted(
    minute: float, pid: str, category: str, price: float, action: CartAction = "add"
) -> CartChange:
    return CartChange(
        f"k{minute}{pid}",
        "c1",
        at(minute),
        action,
        Product(pid, name=pid, price=price, currency="EUR", category_id=category),
    )


CONDITION_CASES: dict[str, tuple[list[Event], list[tuple[str, float]]]] = {
    "a matching cart add starts the reminder": (
        [profile(), carted(0, "boot", "shoes", 80.0)],
        [("cart_abandonment", 60)],
    ),
    "one condition failing is enough to not start it": (
        [profile(), carted(0, "sock", "shoes", 9.0)],
        [],
    ),
    "a later non-matching change does not move it, and the order still ends it": (
        [profile(), carted(0, "boot", "shoes", 80.0), carted(30, "hat", "hats", 60.0), order(45)],
        [],
    ),
    "a later non-matching change does not move the deadline": (
        [profile(), carted(0, "boot", "shoes", 80.0), carted(30, "hat", "hats", 60.0)],
        [("cart_abandonment", 60)],
    ),
    "order conditions look at the order": (
        [
            profile(),
            Order("o1", "c1", at(0), "o-1", "placed", (), 120.0, "EUR"),
            Order("o2", "c1", at(1), "o-2", "placed", (), 80.0, "EUR"),
        ],
        [("big_order_thanks", 0)],
    ),
}


@pytest.mark.parametrize("name", list(CONDITION_CASES))
def test_when_conditions_filter_the_trigger_only(name: str) -> None:
    events, expected = CONDITION_CASES[name]
    commands = sent(replay(events, 600, CONDITIONAL))
    assert [(c.scenario, c.decided_at) for c in commands] == [(s, at(m)) for s, m in expected]


EXITS = load_config("""\
scenarios:
  review_request:
    delay: 7d
    exit_when: [{type: order, status: [refunded, cancelled]}]
  cart_abandonment:
    exit_when: [{type: page_view, page_type: checkout}]
""")


def test_configured_exits_end_a_scenario_and_match_the_same_order() -> None:
    def update(minute: float, order_id: str, status: OrderStatus) -> Order:
        return Order(
            f"{order_id}-{status}",
            "c1",
            at(minute),
            order_id,
            status,
            (OrderItem(Product("p1"), 1),),
            10.0,
            "EUR",
        )

    refunded = [profile(), update(0, "o-1", "delivered"), update(DAYS, "o-1", "refunded")]
    assert sent(replay(refunded, 10 * DAYS, EXITS)) == []
    other_order = [profile(), update(0, "o-1", "delivered"), update(DAYS, "o-2", "refunded")]
    assert [c.scenario for c in sent(replay(other_order, 10 * DAYS, EXITS))] == ["review_request"]


def test_configured_exits_add_to_the_kinds_own() -> None:
    at_checkout = [profile(), cart(0), view(10, page_type="checkout")]
    assert sent(replay(at_checkout, 600, EXITS)) == []
    assert len(sent(replay([profile(), cart(0), view(10, page_type="home")], 600, EXITS))) == 1


CLICK_EXITS = load_config("""\
scenarios:
  cart_abandonment:
    steps: [{delay: 1h}, {delay: 24h, template: cart_last_call}]
    exit_when: [{type: engagement, kind: click}]
""")


def test_an_engagement_configured_as_an_exit_ends_the_scenario() -> None:
    clicked = [profile(), cart(0), Engagement("g1", "c1", at(120), "click")]
    assert [c.step for c in sent(replay(clicked, 3 * DAYS, CLICK_EXITS))] == [1]
    opened = [profile(), cart(0), Engagement("g2", "c1", at(120), "open")]
    assert [c.step for c in sent(replay(opened, 3 * DAYS, CLICK_EXITS))] == [1, 2]


def test_the_ordered_branch_offers_what_goes_with_the_order() -> None:
    events: list[Event | CatalogUpdate] = [
        basket(-100, "x1", "boot", "sock"),
        basket(-90, "x2", "boot", "sock"),
        consent(0),
        basket(60, "c1", "boot"),
    ]
    (_, follow_up) = sent(replay(events, 40 * DAYS, WELCOME))
    assert follow_up.step == 2
    assert [p["product"]["id"] for p in follow_up.payload["products"]] == ["sock"]
