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
from relance.core.detectors.base import Detector, Fold, Scenarios
from relance.core.detectors.keys import Branch, Duration, Key
from relance.core.detectors.orders import ORDER_ITEMS_KEPT
from relance.core.events import ContactProfile, Order, Product
from relance.core.journeys import start
from relance.core.scenario import Scenario
from relance.core.state import ContactState, Journey

ORDERED, OTHERWISE = 2, 3


class Welcome(Detector):
    kinds = ("welcome",)
    triggers = frozenset({"contact"})
    keys = (
        Key("window", Duration(), "window_ms"),
        Key("if_ordered", Branch(ORDERED)),
        Key("otherwise", Branch(OTHERWISE)),
    )

    def on_contact(self, fold: Fold, profile: ContactProfile, scenarios: Scenarios) -> None:
        """Start on the first consent: not on a later one, nor while one is under way."""
        state, journeys = fold.before, fold.journeys
        if fold.profile.marketing_opt_in is not True or state.profile.marketing_opt_in is True:
            return
        fresh = tuple(
            s
            for s in scenarios
            if state.sent_at(s.name) is None and not any(j.scenario == s.name for j in journeys)
        )
        if fresh:
            fold.journeys = start(journeys, fresh, profile.event_id, profile.occurred_at)

    def on_order(self, fold: Fold, order: Order, scenarios: Scenarios) -> None:
        """A placed order in the window turns the series to its ordered branch."""
        if order.status != "placed" or not scenarios:
            return
        by_name = {s.name: s for s in scenarios}
        fold.journeys = tuple(
            _ordered(journey, by_name.get(journey.scenario), order) for journey in fold.journeys
        )

    def following(
        self, state: ContactState, journey: Journey, scenario: Scenario
    ) -> Journey | None:
        if journey.step != 1:
            return None
        ordered_at = (journey.data or {}).get("ordered_at")
        if ordered_at is not None:
            due = max(journey.due_at, ordered_at + scenario.steps[ORDERED - 1].delay_ms)
            return journey._replace(step=ORDERED, due_at=due)
        return journey._replace(
            step=OTHERWISE, due_at=journey.started_at + scenario.steps[OTHERWISE - 1].delay_ms
        )

    def candidate(
        self, state: ContactState, journey: Journey, scenario: Scenario, catalog: Catalog
    ) -> Candidate:
        """The ordered branch offers products that go with what was bought."""
        data = journey.data or {}
        payload: dict[str, Any] = {}
        if journey.step == ORDERED:
            bought = [
                Product(p["id"], category_id=p.get("category_id")) for p in data.get("bought", ())
            ]
            payload = {
                "order_id": data["order_id"],
                "products": [
                    {"product": p.to_record(), "views": 0}
                    for p in catalog.related.suggest(bought, catalog)
                ],
            }
        return Candidate(journey.scenario, journey.instance, journey.step, journey.due_at, payload)

    def relates(self, scenario: Scenario) -> bool:
        return True


def _ordered(journey: Journey, scenario: Scenario | None, order: Order) -> Journey:
    """The journey after a placed order: its ordered branch, if the order is its to take."""
    if (
        scenario is None
        or journey.step not in (1, OTHERWISE)
        or not journey.started_at <= order.occurred_at <= journey.started_at + scenario.window_ms
        or (journey.data or {}).get("ordered_at")
    ):
        return journey
    data = {
        "ordered_at": order.occurred_at,
        "order_id": order.order_id,
        "bought": [
            {"id": item.product.id, "category_id": item.product.category_id}
            for item in order.items[:ORDER_ITEMS_KEPT]
        ],
    }
    if journey.step == OTHERWISE:  # the welcome went out: the branch is next
        return journey._replace(
            step=ORDERED, data=data, due_at=order.occurred_at + scenario.steps[ORDERED - 1].delay_ms
        )
    return journey._replace(data=data)  # the welcome, when it goes, chooses the branch


DETECTOR = Welcome()
