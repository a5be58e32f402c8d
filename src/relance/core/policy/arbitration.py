"""Priority arbitration: one marketing message per contact within the arbitration window.

A candidate loses to a marketing message of the contact sent within the window before it
with at least its priority (first come among equals), or to another journey of the contact
due within the window after it with a higher priority. Transactional messages neither lose
nor make others lose. Journeys ahead are known from the state, so nothing waits for the
window: the edge is a winner cancelled before its time (an order ends the cart reminder),
which has already cost the loser its slot.
"""

from __future__ import annotations

from relance.core.scenarios import Config, Scenario
from relance.core.state import ContactState, Journey


def outranked_until(
    state: ContactState, due: Journey, scenario: Scenario, config: Config
) -> int | None:
    """When the message that outranks ``due`` goes (went) out, or ``None`` if none does."""
    window = config.policy.arbitration_window_ms
    if not window or scenario.transactional:
        return None
    at = due.due_at
    for name, sent_at in state.last_sent:
        other = config.get(name)
        if (
            other is not None
            and name != scenario.name
            and not other.transactional
            and at - window <= sent_at <= at
            and other.priority >= scenario.priority
        ):
            return sent_at
    for journey in state.journeys:
        other = config.get(journey.scenario)
        if (
            journey is not due
            and other is not None
            and journey.scenario != scenario.name
            and not other.transactional
            and at <= journey.due_at <= at + window
            and other.priority > scenario.priority
        ):
            return journey.due_at
    return None
