"""Back in stock: a contact who looked at a product while it was out of stock is told when
the catalog says it is back.

A view watches the product when the page showed it out of stock (the event's ``in_stock``)
or the catalog says so; a later view showing it in stock ends the watch. A watch older than
the scenario's ``stale_after`` (default 30 days) is dropped when the product comes back.
"""

from __future__ import annotations

from relance.core.catalog import Catalog
from relance.core.commands import Candidate
from relance.core.detectors.base import Detector, Fold, Scenarios
from relance.core.events import CatalogUpdate, PageView
from relance.core.journeys import keep_latest, start
from relance.core.scenario import Scenario
from relance.core.state import ContactState, Journey

# The state's ``watching``: (product id, when it was seen sold out).
WATCHED_KEPT = 5  # most recent watches per contact; bounds state
# Messages under way side by side (one per restock), the latest kept: a delay can hold them.
RESTOCKS_KEPT = 5


class BackInStock(Detector):
    kinds = ("back_in_stock",)
    family = "reminders"
    triggers = frozenset({"page_view"})
    follows = "watching"

    def on_view(self, fold: Fold, view: PageView, scenarios: Scenarios) -> None:
        product = view.product
        if not scenarios or view.page_type != "product" or product is None:
            return
        watching = fold.watching
        sold_out = product.in_stock is False or (
            product.in_stock is None and fold.catalog.sold_out(product.id)
        )
        kept = tuple(w for w in watching if w[0] != product.id)
        if not sold_out:
            if len(kept) != len(watching):
                fold.watching = kept
            return
        fold.watching = (*kept, (product.id, view.occurred_at))[-WATCHED_KEPT:]

    def concerns(self, update: CatalogUpdate) -> bool:
        return update.product.in_stock is True

    def on_catalog(
        self, state: ContactState, update: CatalogUpdate, scenarios: Scenarios
    ) -> ContactState:
        """Start each back-in-stock scenario for a contact watching the restocked product."""
        product_id = update.product.id
        since = next((at for pid, at in state.watching if pid == product_id), None)
        if since is None or since > update.occurred_at:
            return state
        watching = tuple(w for w in state.watching if w[0] != product_id)
        fresh = tuple(
            s
            for s in scenarios
            if s.stale_after_ms is None or update.occurred_at - since <= s.stale_after_ms
        )
        journeys = start(
            state.journeys,
            fresh,
            update.event_id,
            update.occurred_at,
            {"product": update.product.to_record()},
            one_per_scenario=False,
        )
        journeys = keep_latest(journeys, {s.name for s in scenarios}, RESTOCKS_KEPT)
        return state._replace(watching=watching, journeys=journeys)

    def candidate(
        self, state: ContactState, journey: Journey, scenario: Scenario, catalog: Catalog
    ) -> Candidate | None:
        if journey.data is None:
            return None
        product_id = journey.data["product"]["id"]
        if catalog.sold_out(product_id):  # gone again before the message went out
            return None
        current = catalog.get(product_id)
        data = journey.data if current is None else {"product": current.to_record()}
        return Candidate(journey.scenario, journey.instance, journey.step, journey.due_at, data)


DETECTOR = BackInStock()
