"""Back in stock: a contact who looked at a product while it was out of stock is told when
the catalog says it is back.

A view watches the product when the page showed it out of stock (the event's ``in_stock``)
or the catalog says so; a later view showing it in stock ends the watch. A watch older than
the scenario's ``stale_after`` (default 30 days) is dropped when the product comes back.
"""

from __future__ import annotations

from relance.core.catalog import Catalog
from relance.core.commands import Candidate
from relance.core.events import CatalogUpdate, PageView
from relance.core.journeys import keep_latest, start
from relance.core.scenarios import Scenario
from relance.core.state import ContactState, Journey

Watching = tuple[tuple[str, int], ...]
WATCHED_KEPT = 5  # most recent watches per contact; bounds state
# Messages under way side by side (one per restock), the latest kept: a delay can hold them.
RESTOCKS_KEPT = 5


def on_view(watching: Watching, view: PageView, catalog: Catalog,
            scenarios: tuple[Scenario, ...]) -> Watching:
    product = view.product
    if not scenarios or view.page_type != "product" or product is None:
        return watching
    sold_out = product.in_stock is False or (product.in_stock is None
                                             and catalog.sold_out(product.id))
    kept = tuple(w for w in watching if w[0] != product.id)
    if not sold_out:
        return kept if len(kept) != len(watching) else watching
    return (*kept, (product.id, view.occurred_at))[-WATCHED_KEPT:]


def on_restock(state: ContactState, update: CatalogUpdate,
               scenarios: tuple[Scenario, ...]) -> ContactState:
    """Start each back-in-stock scenario for a contact watching the restocked product."""
    product_id = update.product.id
    since = next((at for pid, at in state.watching if pid == product_id), None)
    if since is None or since > update.occurred_at:
        return state
    watching = tuple(w for w in state.watching if w[0] != product_id)
    fresh = tuple(s for s in scenarios
                  if s.stale_after_ms is None or update.occurred_at - since <= s.stale_after_ms)
    journeys = start(state.journeys, fresh, update.event_id, update.occurred_at,
                     {"product": update.product.to_record()}, one_per_scenario=False)
    journeys = keep_latest(journeys, {s.name for s in scenarios}, RESTOCKS_KEPT)
    return state._replace(watching=watching, journeys=journeys)


def candidate(journey: Journey, catalog: Catalog) -> Candidate | None:
    if journey.data is None:
        return None
    product_id = journey.data["product"]["id"]
    if catalog.sold_out(product_id):  # gone again before the message went out
        return None
    current = catalog.get(product_id)
    data = journey.data if current is None else {"product": current.to_record()}
    return Candidate(journey.scenario, journey.instance, journey.step, journey.due_at, data)
