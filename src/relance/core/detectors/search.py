"""Search abandonment: a search followed by no product view and no cart add in the window.

Each search restarts the wait (the latest query is the one answered); a product view, a cart
add or a placed order cancels it.
"""

from __future__ import annotations

from relance.core.commands import Candidate
from relance.core.events import CartChange, Order, PageView
from relance.core.journeys import cancel, start
from relance.core.scenarios import Scenario
from relance.core.state import Journey

Journeys = tuple[Journey, ...]


def on_view(journeys: Journeys, view: PageView, scenarios: tuple[Scenario, ...]) -> Journeys:
    if not scenarios:
        return journeys
    if view.page_type == "search" and view.search_query:
        return start(journeys, _later(journeys, scenarios, view.occurred_at), view.event_id,
                     view.occurred_at, {"search_query": view.search_query})
    if view.page_type == "product":
        return _cancel(journeys, scenarios, view.occurred_at)
    return journeys


def on_cart(journeys: Journeys, change: CartChange, scenarios: tuple[Scenario, ...]) -> Journeys:
    return _cancel(journeys, scenarios, change.occurred_at) if change.action == "add" \
        else journeys


def on_order(journeys: Journeys, order: Order, scenarios: tuple[Scenario, ...]) -> Journeys:
    return _cancel(journeys, scenarios, order.occurred_at) if order.status == "placed" \
        else journeys


def _later(journeys: Journeys, scenarios: tuple[Scenario, ...], at: int) -> tuple[Scenario, ...]:
    """Scenarios whose running journey (if any) started before ``at``: a search read late
    does not replace a newer one."""
    return tuple(s for s in scenarios
                 if not any(j.scenario == s.name and j.started_at > at for j in journeys))


def _cancel(journeys: Journeys, scenarios: tuple[Scenario, ...], at: int) -> Journeys:
    """A view or cart add answers only the searches made before it."""
    older = tuple(s for s in scenarios
                  if any(j.scenario == s.name and j.started_at <= at for j in journeys))
    return cancel(journeys, older)


def candidate(journey: Journey) -> Candidate | None:
    if journey.data is None:
        return None
    return Candidate(journey.scenario, journey.instance, journey.step, journey.due_at,
                     journey.data)
