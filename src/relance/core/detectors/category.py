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
from relance.core.events import CartChange, Order, PageView
from relance.core.journeys import cancel, start
from relance.core.scenarios import Scenario
from relance.core.state import Browse, Journey

Journeys = tuple[Journey, ...]
Counts = tuple[tuple[str, int, int], ...]  # (category id, views, last view time)
CATEGORIES_KEPT = 5
PRODUCTS_SHOWN = 3


def on_view(counts: Counts, journeys: Journeys, view: PageView, *, cart_open: bool,
            scenarios: tuple[Scenario, ...], disarmed_at: int) -> tuple[Counts, Journeys]:
    product = view.product
    if (not scenarios or cart_open or view.page_type != "product" or product is None
            or not product.category_id or view.occurred_at <= disarmed_at):
        return counts, journeys
    category = product.category_id
    views = next((n for c, n, _ in counts if c == category), 0) + 1
    counts = (*(entry for entry in counts if entry[0] != category),
              (category, views, view.occurred_at))[-CATEGORIES_KEPT:]
    ready = tuple(s for s in scenarios if views >= s.min_views)
    if ready:
        journeys = start(journeys, ready, view.event_id, view.occurred_at,
                         {"category_id": category})
    return counts, journeys


def on_cart(counts: Counts, journeys: Journeys, change: CartChange,
            scenarios: tuple[Scenario, ...]) -> tuple[Counts, Journeys]:
    if change.action != "add":
        return counts, journeys
    return (), cancel(journeys, scenarios)


def on_order(counts: Counts, journeys: Journeys, order: Order,
             scenarios: tuple[Scenario, ...]) -> tuple[Counts, Journeys]:
    if order.status != "placed":
        return counts, journeys
    return (), cancel(journeys, scenarios)


def candidate(browse: Browse, journey: Journey, catalog: Catalog) -> Candidate | None:
    if journey.data is None:
        return None
    category = journey.data["category_id"]
    viewed = sorted((v for v in browse.viewed if v.product.category_id == category
                     and not catalog.sold_out(v.product.id)),
                    key=lambda v: (v.views, v.last_viewed_at), reverse=True)[:PRODUCTS_SHOWN]
    payload = {"category_id": category,
               "products": [{"product": catalog.current(v.product).to_record(), "views": v.views}
                            for v in viewed]}
    return Candidate(journey.scenario, journey.instance, journey.step, journey.due_at, payload)
