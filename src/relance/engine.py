"""The core driven by an explicit clock: contact states, their due-index, and ``now``.

``relance simulate`` feeds it events from a file; the live worker feeds it from Kafka. Both
call ``apply`` for each event and ``advance`` when time moves, so both decide the same.
"""

from __future__ import annotations

from typing import Protocol

from relance.commands import Outcome
from relance.contact import on_due, on_event
from relance.due import DueIndex
from relance.events import Event
from relance.scenarios import Config
from relance.state import ContactState


class States(Protocol):
    """Where contact states live: a dict offline, a changelogged table live."""

    def get(self, key: str, /) -> ContactState | None: ...
    def __getitem__(self, key: str, /) -> ContactState: ...
    def __setitem__(self, key: str, state: ContactState, /) -> None: ...


class Engine:
    def __init__(self, config: Config, states: States | None = None) -> None:
        self.config = config
        self.states: States = {} if states is None else states
        self.due = DueIndex()
        self.now: int | None = None

    def schedule(self, key: str, state: ContactState) -> None:
        """Index a state the engine did not write itself (one restored from a changelog)."""
        self.due.schedule(key, state.next_due)

    def feed(self, event: Event) -> list[Outcome]:
        """Move the clock to the event's time (never back), fire what is due, then apply it."""
        moment = event.occurred_at
        if self.now is None or moment > self.now:
            self.now = moment
            if self.due.any_due(moment):
                outcomes = self.advance(moment)
                outcomes.extend(self.apply(event))
                return outcomes
        return self.apply(event)

    def tick(self, moment: int) -> list[Outcome]:
        """Move the clock forward to ``moment`` if it is later, firing what became due."""
        if self.now is None or moment > self.now:
            self.now = moment
            if self.due.any_due(moment):
                return self.advance(moment)
        return []

    def apply(self, event: Event) -> list[Outcome]:
        """Fold an event into its contact; deadlines the event has reached fire first."""
        key = event.contact_id
        before = self.states.get(key)
        state = ContactState(key) if before is None else before
        outcomes: list[Outcome] = []
        due_at = state.next_due
        if due_at is not None and due_at <= event.occurred_at:
            state, outcomes = on_due(state, event.occurred_at, self.config)
        state = on_event(state, event, self.config)
        if state is not before:
            self.states[key] = state
            self.due.schedule(key, state.next_due)
        return outcomes

    def advance(self, now: int) -> list[Outcome]:
        """Move the clock to ``now`` and fire every deadline at or before it, in due order."""
        self.now = now
        outcomes: list[Outcome] = []
        for key in list(self.due.pop_due(now)):
            state, fired = on_due(self.states[key], now, self.config)
            self.states[key] = state
            self.due.schedule(key, state.next_due)
            outcomes.extend(fired)
        outcomes.sort(key=_decided_at)
        return outcomes


def _decided_at(outcome: Outcome) -> int:
    return outcome.decided_at
