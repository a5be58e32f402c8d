"""Reactivation: a contact with no activity for a while gets a message (or a series).

Any page view, cart change or order restarts the wait; that is also the exit: a contact who
comes back between two steps stops the series and starts a fresh wait.
"""

from __future__ import annotations

from relance.core.catalog import Catalog
from relance.core.commands import Candidate
from relance.core.detectors.base import Detector, Fold, Scenarios
from relance.core.events import CartChange, Order, PageView
from relance.core.journeys import start
from relance.core.scenario import Scenario
from relance.core.state import ContactState, Journey
from relance.core.timestamps import to_iso


class Reactivation(Detector):
    kinds = ("reactivation",)
    triggers = frozenset({"page_view", "cart", "order"})

    def _active(
        self, fold: Fold, event: PageView | CartChange | Order, scenarios: Scenarios
    ) -> None:
        at = event.occurred_at
        journeys = fold.journeys
        # Events read out of order: an older one does not move a wait back.
        moving = tuple(
            s
            for s in scenarios
            if not any(j.scenario == s.name and j.started_at >= at for j in journeys)
        )
        if moving:
            fold.journeys = start(journeys, moving, event.event_id, at)

    on_view = on_cart = on_order = _active

    def candidate(
        self, state: ContactState, journey: Journey, scenario: Scenario, catalog: Catalog
    ) -> Candidate:
        return Candidate(
            journey.scenario,
            journey.instance,
            journey.step,
            journey.due_at,
            {"last_active_at": to_iso(journey.started_at)},
        )


DETECTOR = Reactivation()
