"""Browse abandonment: product views with no cart and no order raise one reminder."""

from __future__ import annotations

from typing import TYPE_CHECKING

from relance.core.catalog import Catalog
from relance.core.commands import Candidate
from relance.core.detectors.base import Detector, Fold, Scenarios
from relance.core.events import CartChange, Order, PageView
from relance.core.journeys import cancel, start
from relance.core.scenario import Scenario
from relance.core.state import Browse, ContactState, Journey, ViewedProduct

if TYPE_CHECKING:  # the configuration sits above the detectors: it lists them
    from relance.core.scenarios import Config

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


class BrowseAbandonment(Detector):
    kinds = ("browse_abandonment",)
    family = "reminders"
    triggers = frozenset({"page_view"})
    # The time a cart add or an order disarmed browsing is kept whatever is configured.
    always = True
    shows_views = True
    undigested = "reminder is about one visit"

    def on_view(self, fold: Fold, view: PageView, scenarios: Scenarios) -> None:
        """A product view with no open cart arms the reminders or moves them later. It is
        recorded also when another kind shows the viewed products (``views_wanted``)."""
        browse = fold.browse
        if (
            (not scenarios and not fold.views_wanted)
            or fold.cart.lines
            or view.page_type != "product"
            or view.product is None
            or view.occurred_at <= browse.disarmed_at
        ):
            return
        fold.browse = Browse(_record_view(browse.viewed, view), browse.disarmed_at)
        fold.journeys = start(fold.journeys, scenarios, view.event_id, view.occurred_at)

    def on_cart(self, fold: Fold, change: CartChange, scenarios: Scenarios) -> None:
        if change.action == "add":
            _disarm(fold, change.occurred_at, scenarios)

    def on_order(self, fold: Fold, order: Order, scenarios: Scenarios) -> None:
        if order.status == "placed":
            _disarm(fold, order.occurred_at, scenarios)

    def candidate(
        self, state: ContactState, journey: Journey, scenario: Scenario, catalog: Catalog
    ) -> Candidate | None:
        """The most viewed products still on sale, as the catalog now describes them."""
        on_sale = [v for v in state.browse.viewed if not catalog.sold_out(v.product.id)]
        if not on_sale:
            return None
        top = sorted(on_sale, key=_rank, reverse=True)[:PRODUCTS_SHOWN]
        payload = {
            "products": [
                {"product": catalog.current(v.product).to_record(), "views": v.views} for v in top
            ]
        }
        return Candidate(journey.scenario, journey.instance, journey.step, journey.due_at, payload)

    def tidy(self, state: ContactState, config: Config) -> ContactState:
        """Views are answered (or given up on) once no journey that shows them is left:
        they arm nothing again."""
        if not state.browse.viewed:
            return state
        browsing = config.browsing
        if any(j.scenario in browsing for j in state.journeys):
            return state
        return state._replace(browse=Browse(disarmed_at=state.browse.disarmed_at))


def _disarm(fold: Fold, at: int, scenarios: Scenarios) -> None:
    # A disarming event older than the last one changes nothing: the views kept since then
    # came after both.
    if at > fold.browse.disarmed_at:
        fold.browse = Browse(disarmed_at=at)
        fold.journeys = cancel(fold.journeys, scenarios)


DETECTOR = BrowseAbandonment()
