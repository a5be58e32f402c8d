"""Search abandonment: a search followed by no product view and no cart add in the window.

Each search restarts the wait (the latest query is the one answered); a product view, a cart
add or a placed order cancels it.
"""

from __future__ import annotations

from relance.core.catalog import Catalog
from relance.core.commands import Candidate
from relance.core.detectors.base import Detector, Fold, Journeys, Scenarios
from relance.core.events import CartChange, Order, PageView
from relance.core.journeys import cancel, start
from relance.core.scenario import Scenario
from relance.core.state import ContactState, Journey


class SearchAbandonment(Detector):
    kinds = ("search_abandonment",)
    family = "reminders"
    triggers = frozenset({"page_view"})

    def on_view(self, fold: Fold, view: PageView, scenarios: Scenarios) -> None:
        if not scenarios:
            return
        if view.page_type == "search" and view.search_query:
            fold.journeys = start(
                fold.journeys,
                _later(fold.journeys, scenarios, view.occurred_at),
                view.event_id,
                view.occurred_at,
                {"search_query": view.search_query},
            )
        elif view.page_type == "product":
            fold.journeys = _cancel(fold.journeys, scenarios, view.occurred_at)

    def on_cart(self, fold: Fold, change: CartChange, scenarios: Scenarios) -> None:
        if change.action == "add":
            fold.journeys = _cancel(fold.journeys, scenarios, change.occurred_at)

    def on_order(self, fold: Fold, order: Order, scenarios: Scenarios) -> None:
        if order.status == "placed":
            fold.journeys = _cancel(fold.journeys, scenarios, order.occurred_at)

    def candidate(
        self, state: ContactState, journey: Journey, scenario: Scenario, catalog: Catalog
    ) -> Candidate | None:
        if journey.data is None:
            return None
        return Candidate(
            journey.scenario, journey.instance, journey.step, journey.due_at, journey.data
        )


def _later(journeys: Journeys, scenarios: Scenarios, at: int) -> Scenarios:
    """Scenarios whose running journey (if any) started before ``at``: a search read late
    does not replace a newer one."""
    return tuple(
        s
        for s in scenarios
        if not any(j.scenario == s.name and j.started_at > at for j in journeys)
    )


def _cancel(journeys: Journeys, scenarios: Scenarios, at: int) -> Journeys:
    """A view or cart add answers only the searches made before it."""
    older = tuple(
        s for s in scenarios if any(j.scenario == s.name and j.started_at <= at for j in journeys)
    )
    return cancel(journeys, older)


DETECTOR = SearchAbandonment()
