"""One detector interface: a scenario kind is one ``Detector``, found through the registry.

A kind defined here, for these tests only (``first_visit``), shows what a new kind takes:
its detector, its templates and one catalogue entry; it is configured from YAML (with a key
of its own), fired through the Engine and rendered by the sender's renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from types import MethodType
from typing import Any, cast

import msgspec
import pytest

from relance import tokens
from relance.brand import Brand
from relance.core.catalog import Catalog
from relance.core.commands import Candidate
from relance.core.detectors import registry
from relance.core.detectors.base import Detector, Fold, Scenarios
from relance.core.detectors.keys import Count, Key
from relance.core.events import Event, PageView
from relance.core.journeys import start
from relance.core.scenarios import CATALOGUE, DEFAULT_CONFIG, Config, Scenario, Step
from relance.core.state import ContactState, Journey
from relance.core.timestamps import HOUR_MS
from relance.errors import ConfigError
from relance.scenario_file import load_config
from relance.sender.links import LinkSigner
from relance.sender.render import Renderer
from relance.sender.template_files import TemplateFiles
from tests.unit.timeline import at, profile, replay, sent, view

# The kind's own key: no Scenario field, so it is one of the scenario's options.
MIN_PRICE = Key("min_price", Count(0, 100_000), default=0)


class FirstVisit(Detector):
    """A contact's first view of a product priced at least ``min_price`` gets one message
    (``delay`` later) showing it; once per contact."""

    kinds = ("first_visit",)
    triggers = frozenset({"page_view"})
    keys = (MIN_PRICE,)

    def on_view(self, fold: Fold, view: PageView, scenarios: Scenarios) -> None:
        product = view.product
        if view.page_type != "product" or product is None:
            return
        fresh = tuple(
            s
            for s in scenarios
            if fold.before.sent_at(s.name) is None
            and not any(j.scenario == s.name for j in fold.journeys)
            and (product.price or 0) >= MIN_PRICE.of(s)
        )
        if fresh:
            fold.journeys = start(
                fold.journeys,
                fresh,
                view.event_id,
                view.occurred_at,
                {"product": product.to_record()},
            )

    def candidate(
        self, state: ContactState, journey: Journey, scenario: Scenario, catalog: Catalog
    ) -> Candidate | None:
        return Candidate(
            journey.scenario, journey.instance, journey.step, journey.due_at, journey.data or {}
        )


TEMPLATES = {
    "subject.txt": "Welcome: {{ items[0].product.name }}",
    "txt": "You looked at {{ items[0].product.name }}.\n{% include '_footer.txt' %}",
    "html": "<p>You looked at {{ items[0].product.name }}.</p>\n{% include '_footer.html' %}",
}
# A marketing email's footer: the shop's name and address, and its signed unsubscribe link.
BRAND = Brand(name="Test Shop", address="1 Test Street, 75000 Paris")
LINKS = LinkSigner("https://links.shop.example", tokens.Key("k1", b"a-test-key-of-16+"))
SHOP = """\
scenarios:
  cart_abandonment: {}
  first_visit: {delay: 2h, min_price: 20}
"""


@pytest.fixture
def first_visit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The kind registered, its catalogue entry, and its templates (in the folder given)."""
    monkeypatch.setitem(
        CATALOGUE,
        "first_visit",
        Scenario("first_visit", "first_visit", (Step(HOUR_MS, "first_visit"),), 0, 20, "email"),
    )
    for part, text in TEMPLATES.items():
        (tmp_path / f"first_visit.{part}").write_text(text)
    with registry.registered(FirstVisit()):
        yield tmp_path


def kinds_of(hook: Callable[..., Any]) -> tuple[str, ...]:
    """The kinds of the detector whose hook this is (a bound method)."""
    detector = cast(MethodType, hook).__self__
    assert isinstance(detector, Detector)
    return detector.kinds


def priced(minute: float, pid: str, price: float) -> PageView:
    event = view(minute, pid)
    assert event.product is not None
    return msgspec.structs.replace(
        event, product=msgspec.structs.replace(event.product, price=price)
    )


def test_a_new_kind_is_its_detector_its_templates_and_one_catalogue_entry(
    first_visit: Path,
) -> None:
    config = load_config(SHOP, "shop.yaml", TemplateFiles(first_visit))
    visit = config.get("first_visit")
    assert visit is not None and visit.kind == "first_visit"
    assert (visit.delay_ms, MIN_PRICE.of(visit), visit.priority) == (2 * HOUR_MS, 20, 20)
    outcomes = replay(
        [profile(), priced(0, "cheap", 10), priced(5, "shoe", 60), priced(30, "bag", 80)],
        until=600,
        config=config,
    )
    (command,) = [c for c in sent(outcomes) if c.scenario == "first_visit"]
    assert command.decided_at == at(5) + 2 * HOUR_MS  # the first view over min_price
    assert command.payload["product"]["id"] == "shoe"
    rendered = Renderer(first_visit, brand=BRAND, gateway=LINKS).render(command.to_record())
    assert rendered.subject == "Welcome: Product shoe"
    assert "You looked at Product shoe." in rendered.text


def test_a_new_kind_runs_only_where_it_is_configured(first_visit: Path) -> None:
    events: list[Event] = [profile(), priced(0, "shoe", 60)]
    assert not [c for c in sent(replay(events, until=600)) if c.scenario == "first_visit"]
    assert all(
        kinds_of(hook) != ("first_visit",)
        for reactions in DEFAULT_CONFIG.reactions.values()
        for hook, _ in reactions
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "scenarios:\n  cart_abandonment: {min_price: 5}\n",
            "shop.yaml:2: scenarios.cart_abandonment.min_price: only first_visit scenarios have "
            "min_price, not cart_abandonment",
        ),
        (
            "scenarios:\n  first_visit: {min_price: -1}\n",
            "shop.yaml:2: scenarios.first_visit.min_price: must be a whole number "
            "from 0 to 100000, "
            "not -1",
        ),
        (
            "scenarios:\n  first_visit: {steps: [{delay: 1h}], send_at: '09:00'}\n",
            "shop.yaml:2: scenarios.first_visit.send_at: only birthday and subscription_expiry "
            "scenarios have send_at, not first_visit",
        ),
    ],
)
def test_a_new_kinds_keys_are_checked_like_the_others(
    first_visit: Path, text: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(text, "shop.yaml")
    assert [str(p) for p in caught.value.problems] == [expected]


def test_a_scenario_of_the_new_kind_under_a_name_of_its_own(first_visit: Path) -> None:
    config = load_config("scenarios:\n  big_first_visit: {kind: first_visit, min_price: 500}\n")
    scenario = config.get("big_first_visit")
    assert scenario is not None
    assert (scenario.template, MIN_PRICE.of(scenario)) == ("first_visit", 500)


def test_a_kind_known_only_while_registered(first_visit: Path) -> None:
    detector = registry.detector_for("first_visit")
    registry.unregister(detector)
    try:
        with pytest.raises(ConfigError, match=r"'first_visit' is not a kind \(known: "):
            load_config("scenarios:\n  x: {kind: first_visit}\n")
    finally:
        registry.register(detector)
    with pytest.raises(ValueError, match="kind first_visit is taken"):
        registry.register(FirstVisit())


def test_an_unknown_kind_in_a_file_is_a_problem_at_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config("scenarios:\n  x:\n    kind: nonsense\n", "shop.yaml")
    assert [str(p) for p in caught.value.problems] == [
        f"shop.yaml:3: scenarios.x.kind: 'nonsense' is not a kind (known: "
        f"{', '.join(registry.configurable())})"
    ]


def test_a_config_built_in_code_with_an_unknown_kind_is_refused() -> None:
    """It used to be taken, and its steps answered as an order notification's."""
    nonsense = replace(CATALOGUE["cart_abandonment"], name="x", kind="nonsense")
    with pytest.raises(
        registry.UnknownKindError,
        match=r"scenario 'x': 'nonsense' is not a kind \(known: .*cart_abandon",
    ):
        Config((nonsense,))


def test_the_digest_kind_in_a_file_is_a_problem_not_a_crash() -> None:
    """``kind: digest`` raised a KeyError (no catalogue entry to take defaults from)."""
    with pytest.raises(ConfigError) as caught:
        load_config("scenarios:\n  x: {kind: digest}\n", "shop.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "shop.yaml:2: scenarios.x.kind: digest scenarios are not configured: relance makes "
        "one per period for the scenarios with digest: daily or weekly"
    ]


def test_every_catalogue_scenario_has_a_detector_and_a_config_takes_them_all() -> None:
    config = Config(tuple(CATALOGUE.values()))
    assert set(config.detectors) == {s.kind for s in CATALOGUE.values()}
    assert config.relates and config.browsing == {"browse_abandonment", "category_abandonment"}


def test_a_config_calls_only_the_kinds_it_has_and_those_kept_always() -> None:
    """The cart (is one open?) and browse's disarming time are kept whatever is configured;
    a kind not configured is not called."""
    only_orders = load_config("scenarios:\n  order_confirmation: {}\n")
    kinds = {
        cls.__name__: [kinds_of(hook) for hook, _ in reactions]
        for cls, reactions in only_orders.reactions.items()
    }
    assert kinds == {
        "PageView": [("browse_abandonment",)],
        "CartChange": [("cart_abandonment",), ("browse_abandonment",)],
        "Order": [("cart_abandonment",), ("browse_abandonment",), ("order_status", "cross_sell")],
        "ContactProfile": [],
    }


def test_an_option_reads_its_default_when_a_scenario_has_none() -> None:
    bare = Scenario("v", "first_visit", (Step(0, "v"),), 0, 1, "email")
    assert MIN_PRICE.of(bare) == 0
    assert MIN_PRICE.of(replace(bare, options=(("min_price", 7),))) == 7
