"""Order notifications and post-purchase cross-sell: an order reaching a status the scenario
names (placed, shipped, delivered ...).

A cross-sell message (kind ``cross_sell``, or an order notification with ``cross_sell:
true``) offers products bought together with the order's, the catalog's category as
fallback; a cross-sell with nothing to offer is not sent.

Orders run side by side, one journey per order event and scenario, each with the order's
lines, so both are bounded (the stored state must stay a Kafka record): a contact keeps at
most ``ORDERS_KEPT`` of these journeys, a new order pushing out the one triggered earliest
(the stalest message, and with a delay of 0 it has already been sent unless events arrive
out of order), and a journey keeps an order's first ``ORDER_ITEMS_KEPT`` lines (its total
stays the order's).
"""

from __future__ import annotations

from relance.core.catalog import Catalog
from relance.core.commands import Candidate
from relance.core.detectors.base import Detector, Fold, Scenarios
from relance.core.detectors.keys import Flag, Key, Statuses
from relance.core.events import Order, Product
from relance.core.journeys import keep_latest, start
from relance.core.scenario import Scenario
from relance.core.state import ContactState, Journey

ORDERS_KEPT = 6
ORDER_ITEMS_KEPT = 20


class OrderUpdates(Detector):
    # One detector for both kinds: their journeys share the bound above.
    kinds = ("order_status", "cross_sell")
    triggers = frozenset({"order"})
    keys = (
        Key("statuses", Statuses(), "statuses", required="the order statuses that trigger them"),
        Key("cross_sell", Flag(), "cross_sell", kinds=("order_status",)),
    )

    def on_order(self, fold: Fold, order: Order, scenarios: Scenarios) -> None:
        matching = tuple(s for s in scenarios if order.status in s.statuses)
        if not matching:
            return
        data = {
            "order": {
                "order_id": order.order_id,
                "status": order.status,
                "total": order.total,
                "currency": order.currency,
                "cart_id": order.cart_id,
                "items": [
                    {"product": item.product.to_record(), "quantity": item.quantity}
                    for item in order.items[:ORDER_ITEMS_KEPT]
                ],
            }
        }
        started = start(
            fold.journeys, matching, order.event_id, order.occurred_at, data, one_per_scenario=False
        )
        fold.journeys = keep_latest(started, {s.name for s in scenarios}, ORDERS_KEPT)

    def candidate(
        self, state: ContactState, journey: Journey, scenario: Scenario, catalog: Catalog
    ) -> Candidate | None:
        if journey.data is None:
            return None
        payload = journey.data
        if self.relates(scenario):
            bought = [
                Product(item["product"]["id"], category_id=item["product"].get("category_id"))
                for item in payload["order"]["items"]
            ]
            offered = catalog.related.suggest(bought, catalog)
            if not offered and scenario.kind == "cross_sell":
                return None
            payload = {
                **payload,
                "products": [{"product": p.to_record(), "views": 0} for p in offered],
            }
        return Candidate(journey.scenario, journey.instance, journey.step, journey.due_at, payload)

    def relates(self, scenario: Scenario) -> bool:
        return scenario.kind == "cross_sell" or scenario.cross_sell


DETECTOR = OrderUpdates()
