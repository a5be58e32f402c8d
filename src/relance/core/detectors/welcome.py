"""Welcome series: a first message when a contact first gives marketing consent, then one of
two: a follow-up shortly after their first order if they order within ``window`` of the
start, or a reminder weeks later if they do not.

The ordered branch offers products bought together with the order's (``related``).

Steps: 1 is the welcome (``delay`` after consent), 2 the ordered branch (its delay counts
from the order), 3 the other branch (its delay counts from the consent). Command ids differ
by step, so the two branches never share one.
"""

from __future__ import annotations

from typing import Any

from relance.core.catalog import Catalog
from relance.core.commands import Candidate
from relance.core.detectors.orders import ORDER_ITEMS_KEPT
from relance.core.events import Order, Product
from relance.core.journeys import start
from relance.core.scenarios import Scenario
from relance.core.state import ContactState, Journey, Profile

Journeys = tuple[Journey, ...]
ORDERED, OTHERWISE = 2, 3


def on_profile(state: ContactState, after: Profile, journeys: Journeys,
               scenarios: tuple[Scenario, ...], event_id: str, at: int) -> Journeys:
    """Start on the first consent: not on a later one, nor while one is under way."""
    if after.marketing_opt_in is not True or state.profile.marketing_opt_in is True:
        return journeys
    fresh = tuple(s for s in scenarios if state.sent_at(s.name) is None
                  and not any(j.scenario == s.name for j in journeys))
    return start(journeys, fresh, event_id, at) if fresh else journeys


def on_order(journeys: Journeys, order: Order, scenarios: tuple[Scenario, ...]) -> Journeys:
    """A placed order in the window turns the series to its ordered branch."""
    if order.status != "placed" or not scenarios:
        return journeys
    by_name = {s.name: s for s in scenarios}
    changed = []
    for journey in journeys:
        scenario = by_name.get(journey.scenario)
        if (scenario is not None and journey.step in (1, OTHERWISE)
                and journey.started_at <= order.occurred_at
                <= journey.started_at + scenario.window_ms
                and not (journey.data or {}).get("ordered_at")):
            data = {"ordered_at": order.occurred_at, "order_id": order.order_id,
                    "bought": [{"id": item.product.id, "category_id": item.product.category_id}
                               for item in order.items[:ORDER_ITEMS_KEPT]]}
            if journey.step == OTHERWISE:  # the welcome went out: the branch is next
                journey = journey._replace(
                    step=ORDERED, data=data,
                    due_at=order.occurred_at + scenario.steps[ORDERED - 1].delay_ms)
            else:  # still to send the welcome: it chooses the branch when it goes
                journey = journey._replace(data=data)
        changed.append(journey)
    return tuple(changed)


def following(journey: Journey, scenario: Scenario) -> Journey | None:
    if journey.step != 1:
        return None
    ordered_at = (journey.data or {}).get("ordered_at")
    if ordered_at is not None:
        due = max(journey.due_at, ordered_at + scenario.steps[ORDERED - 1].delay_ms)
        return journey._replace(step=ORDERED, due_at=due)
    return journey._replace(step=OTHERWISE,
                            due_at=journey.started_at + scenario.steps[OTHERWISE - 1].delay_ms)


def candidate(journey: Journey, catalog: Catalog) -> Candidate:
    """The ordered branch offers products that go with what was bought."""
    data = journey.data or {}
    payload: dict[str, Any] = {}
    if journey.step == ORDERED:
        bought = [Product(p["id"], category_id=p.get("category_id"))
                  for p in data.get("bought", ())]
        payload = {"order_id": data["order_id"], "products": [
            {"product": p.to_record(), "views": 0}
            for p in catalog.related.suggest(bought, catalog)]}
    return Candidate(journey.scenario, journey.instance, journey.step, journey.due_at, payload)
