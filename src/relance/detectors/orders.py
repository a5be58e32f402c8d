"""Order notifications: an order reaching a status the scenario names (placed, shipped ...)."""

from __future__ import annotations

from relance.commands import Candidate
from relance.events import Order
from relance.journeys import start
from relance.scenarios import Scenario
from relance.state import Journey

Journeys = tuple[Journey, ...]


def on_order(journeys: Journeys, order: Order, scenarios: tuple[Scenario, ...]) -> Journeys:
    matching = tuple(s for s in scenarios if order.status in s.statuses)
    if not matching:
        return journeys
    data = {"order": {
        "order_id": order.order_id, "status": order.status, "total": order.total,
        "currency": order.currency, "cart_id": order.cart_id,
        "items": [{"product": item.product.to_record(), "quantity": item.quantity}
                  for item in order.items]}}
    return start(journeys, matching, order.event_id, order.occurred_at, data,
                 one_per_scenario=False)


def candidate(journey: Journey) -> Candidate | None:
    if journey.data is None:
        return None
    return Candidate(journey.scenario, journey.instance, journey.step, journey.due_at,
                     journey.data)
