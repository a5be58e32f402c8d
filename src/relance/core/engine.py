"""The core driven by an explicit clock: contact states, their due-index, and ``now``.

``relance simulate`` feeds it events from a file; the live worker feeds it from Kafka. Both
call ``apply`` for each event and ``advance`` when time moves, so both decide the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Final, Protocol

import msgspec

from relance.core.attribution import on_order
from relance.core.catalog import Catalog
from relance.core.commands import Outcome
from relance.core.contact import on_due, on_input
from relance.core.detectors.base import Detector, Scenarios
from relance.core.due import DueIndex
from relance.core.engagement import let_go
from relance.core.events import CatalogUpdate, Event, Order
from relance.core.scenarios import Config
from relance.core.state import ContactState


class States(Protocol):
    """Where contact states live: a dict offline, a changelogged table live."""

    def get(self, key: str, /) -> ContactState | None: ...
    def __getitem__(self, key: str, /) -> ContactState: ...
    def __setitem__(self, key: str, state: ContactState, /) -> None: ...


class Indexed(Protocol):
    """What indexing a state reads: its earliest deadline (and the followed fields)."""

    @property
    def next_due(self) -> int | None: ...


class Applied(msgspec.Struct, frozen=True, gc=False):
    """What taking one event did: the outcomes decided (deadlines it reached fire first),
    and whether it was a duplicate of an event the contact already had, skipped."""

    outcomes: Sequence[Outcome] = ()
    duplicate: bool = False


# A kind a catalog update answers: the state field it follows (entries that start with a
# product id), its scenarios, and product id -> the contacts whose state has it there.
_Followers = tuple[Detector, str, Scenarios, dict[str, set[str]]]
# Most events decide nothing: one shared value each rather than one built per event.
_NOTHING: Final = Applied()
_DUPLICATE: Final = Applied(duplicate=True)


class Engine:
    def __init__(
        self, config: Config, states: States | None = None, catalog: Catalog | None = None
    ) -> None:
        self.config = config
        self.states: States = {} if states is None else states
        self.catalog = Catalog() if catalog is None else catalog
        self.due = DueIndex()
        self.now: int | None = None
        # For each kind a catalog update answers (back in stock, price drop), with its
        # scenarios: product id -> contacts that may follow it (watch it sold out, have seen
        # its price); checked against the state on use.
        self.followers: tuple[_Followers, ...] = tuple(
            (detector, part, scenarios, {})
            for detector, scenarios in config.answering
            if (part := detector.follows) is not None
        )
        self._parts = tuple(part for _, part, _, _ in self.followers)

    @property
    def indexed(self) -> tuple[str, ...]:
        """The state fields ``schedule`` reads besides ``next_due``."""
        return self._parts

    def schedule(self, key: str, state: Indexed) -> None:
        """Index a state the engine did not write itself (one restored from a changelog):
        ``state`` may be a view of only ``next_due`` and the ``indexed`` fields."""
        self.due.schedule(key, state.next_due)
        self._watch(key, state)

    def _watch(self, key: str, state: Indexed) -> None:
        for _, part, _, index in self.followers:
            for entry in getattr(state, part):
                index.setdefault(entry[0], set()).add(key)

    def basket(self, order: Order) -> None:
        """Learn what is bought together from any contact's order (not only this engine's)."""
        self.catalog.basket(order, related=self.config.relates)

    def feed(self, event: Event) -> Applied:
        """Move the clock to the event's time (never back), fire what is due, then apply it.

        Offline, orders teach related products here; live, the worker reads every order."""
        if type(event) is Order:
            self.basket(event)
        moment = event.occurred_at
        if self.now is None or moment > self.now:
            self.now = moment
            if self.due.any_due(moment):
                outcomes = self.advance(moment)
                applied = self.apply(event)
                outcomes.extend(applied.outcomes)
                return Applied(outcomes, applied.duplicate)
        return self.apply(event)

    def tick(self, moment: int) -> list[Outcome]:
        """Move the clock forward to ``moment`` if it is later, firing what became due."""
        if self.now is None or moment > self.now:
            self.now = moment
            if self.due.any_due(moment):
                return self.advance(moment)
        return []

    def apply(self, event: Event) -> Applied:
        """Fold an event into its contact, unless the contact already had it (a duplicate);
        deadlines the event has reached fire first either way."""
        key = event.contact_id
        before = self.states.get(key)
        state = ContactState(key) if before is None else before
        outcomes: list[Outcome] = []
        due_at = state.next_due
        if due_at is not None and due_at <= event.occurred_at:
            state, outcomes = on_due(state, event.occurred_at, self.config, self.catalog)
        taken = on_input(state, event, self.config, self.catalog)
        duplicate = taken is None
        if taken is not None:
            state = taken
            reach = state.reach
            if reach is not None and reach.touches:
                # The first touch is the oldest sent: while it is of use, all are.
                if reach.touches[0].at + self.config.touch_kept_ms < event.occurred_at:
                    state = let_go(state, event.occurred_at, self.config)
                if type(event) is Order:
                    state, attributed = on_order(state, event, self.config)
                    if attributed is not None:
                        outcomes.append(attributed)
        if state is not before:
            self.states[key] = state
            self.due.schedule(key, state.next_due)
            for part in self._parts:
                if before is None or getattr(state, part) is not getattr(before, part):
                    self._watch(key, state)
                    break
        if outcomes:
            return Applied(outcomes, duplicate)
        return _DUPLICATE if duplicate else _NOTHING

    def feed_catalog(self, update: CatalogUpdate) -> list[Outcome]:
        """Move the clock to the update's time, fire what is due, then take the update."""
        outcomes = self.tick(update.occurred_at)
        if self.catalog.update(update):
            self.restock(update)
        return outcomes

    def restock(self, update: CatalogUpdate) -> None:
        """After the catalog took ``update``: the kinds it concerns answer the contacts (of
        these states) who follow the product, back in stock those who saw it sold out, then
        price drop those who saw it dearer. Their messages fire when time reaches the
        update's time."""
        for detector, _, scenarios, index in self.followers:
            if detector.concerns(update):
                self._answer(
                    index.pop(update.product.id, ()),
                    partial(detector.on_catalog, update=update, scenarios=scenarios),
                )

    def _answer(self, keys: Iterable[str], step: Callable[[ContactState], ContactState]) -> None:
        for key in sorted(keys):
            before = self.states.get(key)
            if before is None:
                continue
            state = step(before)
            if state is not before:
                self.states[key] = state
                self.due.schedule(key, state.next_due)
            self._watch(key, state)  # what the update did not answer stays indexed

    def advance(self, now: int) -> list[Outcome]:
        """Move the clock to ``now`` and fire every deadline at or before it, in due order."""
        self.now = now
        outcomes: list[Outcome] = []
        for key in list(self.due.pop_due(now)):
            state, fired = on_due(self.states[key], now, self.config, self.catalog)
            self.states[key] = state
            self.due.schedule(key, state.next_due)
            outcomes.extend(fired)
        outcomes.sort(key=_decided_at)
        return outcomes


def _decided_at(outcome: Outcome) -> int:
    return outcome.decided_at
