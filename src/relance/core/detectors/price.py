"""Price drop: a product the contact viewed or carted recently costs less now.

Each product view and cart add remembers the price the contact saw (the most recent
``INTERESTS_KEPT`` products). A catalog update with a price at least ``min_drop_percent``
lower than that starts the scenario for the contact, once per remembered price; an interest
older than ``stale_after`` (default 14 days) is not answered.
"""

from __future__ import annotations

from relance.core.catalog import Catalog
from relance.core.commands import Candidate
from relance.core.detectors.base import Detector, Fold, Scenarios
from relance.core.detectors.keys import Count, Key
from relance.core.events import CartChange, CatalogUpdate, PageView
from relance.core.journeys import keep_latest, start
from relance.core.scenario import Scenario
from relance.core.state import ContactState, Journey

# The state's ``interests``: (product id, price seen, when).
INTERESTS_KEPT = 5
# Messages under way side by side (one per price update), the latest kept.
DROPS_KEPT = 5


class PriceDrop(Detector):
    kinds = ("price_drop",)
    family = "reminders"
    triggers = frozenset({"page_view", "cart"})
    keys = (Key("min_drop_percent", Count(1, 99), "min_drop_percent"),)
    follows = "interests"

    def on_view(self, fold: Fold, view: PageView, scenarios: Scenarios) -> None:
        if scenarios and view.page_type == "product":
            _seen(fold, view)

    def on_cart(self, fold: Fold, change: CartChange, scenarios: Scenarios) -> None:
        if scenarios and change.action == "add":
            _seen(fold, change)

    def concerns(self, update: CatalogUpdate) -> bool:
        return update.product.price is not None and update.product.in_stock is not False

    def on_catalog(
        self, state: ContactState, update: CatalogUpdate, scenarios: Scenarios
    ) -> ContactState:
        product = update.product
        seen = next((i for i in state.interests if i[0] == product.id), None)
        if seen is None or product.price is None or seen[2] > update.occurred_at:
            return state
        _, price_seen, at = seen
        dropped = tuple(
            s
            for s in scenarios
            if product.price <= price_seen * (1 - s.min_drop_percent / 100)
            and (s.stale_after_ms is None or update.occurred_at - at <= s.stale_after_ms)
        )
        if not dropped:
            return state
        journeys = start(
            state.journeys,
            dropped,
            update.event_id,
            update.occurred_at,
            {"product": product.to_record(), "previous_price": price_seen},
            one_per_scenario=False,
        )
        journeys = keep_latest(journeys, {s.name for s in scenarios}, DROPS_KEPT)
        return state._replace(
            journeys=journeys, interests=tuple(i for i in state.interests if i[0] != product.id)
        )

    def candidate(
        self, state: ContactState, journey: Journey, scenario: Scenario, catalog: Catalog
    ) -> Candidate | None:
        """Not sent if the product sold out or its price went back up meanwhile."""
        if journey.data is None:
            return None
        product_id = journey.data["product"]["id"]
        current = catalog.get(product_id)
        if catalog.sold_out(product_id) or (
            current is not None
            and current.price is not None
            and current.price > journey.data["product"]["price"]
        ):
            return None
        data = journey.data if current is None else {**journey.data, "product": current.to_record()}
        return Candidate(journey.scenario, journey.instance, journey.step, journey.due_at, data)


def _seen(fold: Fold, event: PageView | CartChange) -> None:
    """Remember the price the contact saw."""
    product = event.product
    # A product seen sold out is back in stock's to answer, not price drop's.
    if product is None or product.price is None or product.in_stock is False:
        return
    kept = tuple(i for i in fold.interests if i[0] != product.id)
    fold.interests = (*kept, (product.id, product.price, event.occurred_at))[-INTERESTS_KEPT:]


DETECTOR = PriceDrop()
