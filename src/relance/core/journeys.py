"""Journeys: the scenarios under way for one contact, as an immutable tuple.

Detectors start and cancel them; ``contact.on_due`` fires their steps. Pure functions, so a
state that persists on assignment never misses a change.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from relance.core.conditions import matches
from relance.core.scenario import Scenario
from relance.core.state import Journey


def start(
    journeys: tuple[Journey, ...],
    scenarios: tuple[Scenario, ...],
    instance: str,
    at: int,
    data: dict[str, Any] | None = None,
    *,
    one_per_scenario: bool = True,
) -> tuple[Journey, ...]:
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
    kept = [
        j
        for j in journeys
        if j.scenario not in names or (not one_per_scenario and j.instance != instance)
    ]
    return (
        *kept,
        *(Journey(s.name, instance, 1, at, at + s.steps[0].delay_ms, data) for s in scenarios),
    )


def keep_latest(
    journeys: tuple[Journey, ...], names: Collection[str], count: int
) -> tuple[Journey, ...]:
    """At most ``count`` journeys of the scenarios ``names`` (instances side by side): the
    ones started last; among equal start times, the ones added last."""
    members = [n for n, journey in enumerate(journeys) if journey.scenario in names]
    if len(members) <= count:
        return journeys
    dropped = set(sorted(members, key=lambda n: journeys[n].started_at)[: len(members) - count])
    return tuple(journey for n, journey in enumerate(journeys) if n not in dropped)


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


def replan(
    journeys: tuple[Journey, ...],
    scenarios: tuple[Scenario, ...],
    plan: Callable[[Scenario], Journey | None],
) -> tuple[Journey, ...]:
    """Replace each scenario's journey by what ``plan`` makes of it now (``None``: none)."""
    names = {s.name for s in scenarios}
    kept = [j for j in journeys if j.scenario not in names]
    kept.extend(j for j in map(plan, scenarios) if j is not None)
    return tuple(kept)


# Fields that name an instance: an exit event carrying one ends only the journey of the same.
INSTANCE_FIELDS = ("cart_id", "order_id")


def exit_on(
    journeys: tuple[Journey, ...],
    scenarios: tuple[Scenario, ...],
    record: Mapping[str, Any],
    at: int,
) -> tuple[Journey, ...]:
    """End the journeys whose scenario's ``exit_when`` the event (``record``) meets, when it
    happened after they started and names the same instance (cart, order, product) if both
    name one."""
    ending = {
        s.name: s
        for s in scenarios
        if s.exit_when and any(matches(conditions, record) for conditions in s.exit_when)
    }
    if not ending:
        return journeys
    kept = tuple(
        j for j in journeys if j.scenario not in ending or j.started_at > at or not _same(j, record)
    )
    return journeys if len(kept) == len(journeys) else kept


def _same(journey: Journey, record: Mapping[str, Any]) -> bool:
    data = journey.data or {}
    named = {**data, **(data.get("order") or {})}
    for field in INSTANCE_FIELDS:
        if named.get(field) and record.get(field) and named[field] != record[field]:
            return False
    product = data.get("product")
    event_product = record.get("product")
    if isinstance(product, Mapping) and isinstance(event_product, Mapping):
        return bool(product.get("id") == event_product.get("id"))
    return True
