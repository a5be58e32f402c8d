"""Reactivation: a contact with no activity for a while gets a message (or a series).

Any page view, cart change or order restarts the wait; that is also the exit: a contact who
comes back between two steps stops the series and starts a fresh wait.
"""

from __future__ import annotations

from relance.core.commands import Candidate
from relance.core.events import CartChange, Order, PageView
from relance.core.journeys import start
from relance.core.scenarios import Scenario
from relance.core.state import Journey
from relance.core.timestamps import to_iso

Journeys = tuple[Journey, ...]


def on_activity(journeys: Journeys, event: PageView | CartChange | Order,
                scenarios: tuple[Scenario, ...]) -> Journeys:
    at = event.occurred_at
    # Events read out of order: an older one does not move a wait back.
    moving = tuple(s for s in scenarios if not any(
        j.scenario == s.name and j.started_at >= at for j in journeys))
    return start(journeys, moving, event.event_id, at) if moving else journeys


def candidate(journey: Journey) -> Candidate:
    return Candidate(journey.scenario, journey.instance, journey.step, journey.due_at,
                     {"last_active_at": to_iso(journey.started_at)})
