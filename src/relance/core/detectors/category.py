"""Category abandonment: several product views in one category, and no cart.

Views are counted per category since the last cart add or placed order (at most
``CATEGORIES_KEPT`` categories, the most recent). The view that brings a category to the
scenario's ``min_views`` arms it; further views in that category move the deadline to that
view + delay. A cart add or a placed order disarms it. The message shows the category and
its most viewed products.
"""

from __future__ import annotations

from relance.core.catalog import Catalog
from relance.core.commands import Candidate
from relance.core.detectors.base import Detector, Fold, Scenarios
from relance.core.detectors.keys import Count, Key
from relance.core.events import CartChange, Order, PageView
from relance.core.journeys import cancel, start
from relance.core.scenario import Scenario
from relance.core.state import ContactState, Journey

# The state's ``categories``: (category id, views, last view time).
CATEGORIES_KEPT = 5
PRODUCTS_SHOWN = 3


class CategoryAbandonment(Detector):
    kinds = ("category_abandonment",)
    family = "reminders"
    triggers = frozenset({"page_view"})
    keys = (Key("min_views", Count(1, 10_000), "min_views"),)
    shows_views = True

    def on_view(self, fold: Fold, view: PageView, scenarios: Scenarios) -> None:
        if not scenarios:
            return
        fold.views_wanted = True  # its message shows the category's viewed products
        product = view.product
        if (
            fold.cart.lines
            or view.page_type != "product"
            or product is None
            or not product.category_id
            or view.occurred_at <= fold.browse.disarmed_at
        ):
            return
        category = product.category_id
        counts = fold.categories
        views = next((n for c, n, _ in counts if c == category), 0) + 1
        fold.categories = (
            *(entry for entry in counts if entry[0] != category),
            (category, views, view.occurred_at),
        )[-CATEGORIES_KEPT:]
        ready = tuple(s for s in scenarios if views >= s.min_views)
        if ready:
            fold.journeys = start(
                fold.journeys, ready, view.event_id, view.occurred_at, {"category_id": category}
            )

    def on_cart(self, fold: Fold, change: CartChange, scenarios: Scenarios) -> None:
        if change.action == "add":
            fold.categories, fold.journeys = (), cancel(fold.journeys, scenarios)

    def on_order(self, fold: Fold, order: Order, scenarios: Scenarios) -> None:
        if order.status == "placed":
            fold.categories, fold.journeys = (), cancel(fold.journeys, scenarios)

    def candidate(
        self, state: ContactState, journey: Journey, scenario: Scenario, catalog: Catalog
    ) -> Candidate | None:
        if journey.data is None:
            return None
        category = journey.data["category_id"]
        viewed = sorted(
            (
                v
                for v in state.browse.viewed
                if v.product.category_id == category and not catalog.sold_out(v.product.id)
            ),
            key=lambda v: (v.views, v.last_viewed_at),
            reverse=True,
        )[:PRODUCTS_SHOWN]
        payload = {
            "category_id": category,
            "products": [
                {"product": catalog.current(v.product).to_record(), "views": v.views}
                for v in viewed
            ],
        }
        return Candidate(journey.scenario, journey.instance, journey.step, journey.due_at, payload)

    def ended(self, state: ContactState, journey: Journey) -> ContactState:
        """Answered: that category's views count again from zero."""
        if not journey.data:
            return state
        return state._replace(
            categories=tuple(c for c in state.categories if c[0] != journey.data["category_id"])
        )


DETECTOR = CategoryAbandonment()
