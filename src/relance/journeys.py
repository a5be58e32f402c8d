"""Journeys: the scenarios under way for one contact, as an immutable tuple.

Detectors start and cancel them; ``contact.on_due`` fires their steps. Pure functions, so a
state that persists on assignment never misses a change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from relance.scenarios import Scenario
from relance.state import Journey


def start(journeys: tuple[Journey, ...], scenarios: tuple[Scenario, ...], instance: str,
          at: int, data: dict[str, Any] | None = None, *,
          one_per_scenario: bool = True) -> tuple[Journey, ...]:
    """Start each scenario at its first step, triggered at ``at`` by event ``instance``.

    With ``one_per_scenario`` a scenario's running journey is replaced (a cart has one
    abandonment at a time); without it instances run side by side (one per order).
    """
    if not scenarios:
        return journeys
    if one_per_scenario and len(scenarios) == 1:  # the common case, once per product view
        only = scenarios[0]
        fresh = Journey(only.name, instance, 1, at, at + only.steps[0].delay_ms, data)
        if not journeys:
            return (fresh,)
        return (*[j for j in journeys if j.scenario != only.name], fresh)
    names = {s.name for s in scenarios}
    kept = [j for j in journeys
            if j.scenario not in names or (not one_per_scenario and j.instance != instance)]
    return (*kept, *(Journey(s.name, instance, 1, at, at + s.steps[0].delay_ms, data)
                     for s in scenarios))


def cancel(journeys: tuple[Journey, ...], scenarios: tuple[Scenario, ...]) -> tuple[Journey, ...]:
    if not journeys or not scenarios:
        return journeys
    names = {s.name for s in scenarios}
    kept = tuple(j for j in journeys if j.scenario not in names)
    return journeys if len(kept) == len(journeys) else kept


def next_step(journey: Journey, scenario: Scenario) -> Journey | None:
    """The journey at its following step, or ``None`` after the last one."""
    if journey.step >= len(scenario.steps):
        return None
    delay = scenario.steps[journey.step].delay_ms
    return journey._replace(step=journey.step + 1, due_at=journey.started_at + delay)


def replan(journeys: tuple[Journey, ...], scenarios: tuple[Scenario, ...],
           plan: Callable[[Scenario], Journey | None]) -> tuple[Journey, ...]:
    """Replace each scenario's journey by what ``plan`` makes of it now (``None``: none)."""
    names = {s.name for s in scenarios}
    kept = [j for j in journeys if j.scenario not in names]
    kept.extend(j for j in map(plan, scenarios) if j is not None)
    return tuple(kept)
