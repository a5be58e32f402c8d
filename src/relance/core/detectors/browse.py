"""Browse abandonment: product views with no cart and no order raise one reminder."""

from __future__ import annotations

from relance.core.catalog import Catalog
from relance.core.commands import Candidate
from relance.core.events import CartChange, Order, PageView
from relance.core.journeys import cancel, start
from relance.core.scenarios import Scenario
from relance.core.state import Browse, Journey, ViewedProduct

Journeys = tuple[Journey, ...]

PRODUCTS_SHOWN = 3
# Bounds state per contact; the reminder shows only the top few anyway.
PRODUCTS_KEPT = 10


def _rank(viewed: ViewedProduct) -> tuple[int, int]:
    return viewed.views, viewed.last_viewed_at


def _record_view(viewed: tuple[ViewedProduct, ...], view: PageView) -> tuple[ViewedProduct, ...]:
    product = view.product
    assert product is not None
    product_id = product.id
    views = 1
    kept = []
    for seen in viewed:
        if seen.product.id == product_id:
            views = seen.views + 1
        else:
            kept.append(seen)
    if len(kept) >= PRODUCTS_KEPT:
        kept.remove(min(kept, key=_rank))
    kept.append(ViewedProduct(product, views, view.occurred_at))
    return tuple(kept)


def on_view(browse: Browse, journeys: Journeys, view: PageView, *, cart_open: bool,
            scenarios: tuple[Scenario, ...], keep_views: bool = False
            ) -> tuple[Browse, Journeys]:
    """A product view with no open cart arms the reminders or moves them later.

    ``keep_views``: record the view even without a browse scenario (another kind shows
    the viewed products)."""
    if ((not scenarios and not keep_views) or cart_open or view.page_type != "product"
            or view.product is None or view.occurred_at <= browse.disarmed_at):
        return browse, journeys
    return (Browse(_record_view(browse.viewed, view), browse.disarmed_at),
            start(journeys, scenarios, view.event_id, view.occurred_at))


def on_cart(browse: Browse, journeys: Journeys, change: CartChange,
            scenarios: tuple[Scenario, ...]) -> tuple[Browse, Journeys]:
    if change.action != "add":
        return browse, journeys
    return _disarmed(browse, journeys, change.occurred_at, scenarios)


def on_order(browse: Browse, journeys: Journeys, order: Order,
             scenarios: tuple[Scenario, ...]) -> tuple[Browse, Journeys]:
    if order.status != "placed":
        return browse, journeys
    return _disarmed(browse, journeys, order.occurred_at, scenarios)


def _disarmed(browse: Browse, journeys: Journeys, at: int,
              scenarios: tuple[Scenario, ...]) -> tuple[Browse, Journeys]:
    # A disarming event older than the last one changes nothing: the views kept since then
    # came after both.
    if at <= browse.disarmed_at:
        return browse, journeys
    return Browse(disarmed_at=at), cancel(journeys, scenarios)


def candidate(browse: Browse, journey: Journey, catalog: Catalog) -> Candidate | None:
    """The most viewed products still on sale, as the catalog now describes them."""
    on_sale = [v for v in browse.viewed if not catalog.sold_out(v.product.id)]
    if not on_sale:
        return None
    top = sorted(on_sale, key=_rank, reverse=True)[:PRODUCTS_SHOWN]
    payload = {"products": [{"product": catalog.current(v.product).to_record(), "views": v.views}
                            for v in top]}
    return Candidate(journey.scenario, journey.instance, journey.step, journey.due_at, payload)


def answered(browse: Browse) -> Browse:
    """Views already answered (or given up on) arm nothing again."""
    return Browse(disarmed_at=browse.disarmed_at)
