"""The configuration keys a kind has of its own (``min_views``, ``statuses`` ...).

A detector lists them in ``Detector.keys``; ``scenario_file`` reads the keys of a scenario's
kind from there, checks each value by what it ``reads``, and refuses them for other kinds.
A key sets a ``Scenario`` field, or (``field=None``) one of ``Scenario.options``, so a new
kind's settings need no new field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relance.core.scenario import Scenario


@dataclass(frozen=True, slots=True)
class Count:
    """A whole number from ``low`` to ``high``."""

    low: int
    high: int


@dataclass(frozen=True, slots=True)
class Flag:
    """true or false."""


@dataclass(frozen=True, slots=True)
class Duration:
    """A duration (``30m``, ``14d``), in milliseconds."""


@dataclass(frozen=True, slots=True)
class TimeOfDay:
    """A local time like ``09:00``, in minutes after midnight."""


@dataclass(frozen=True, slots=True)
class Statuses:
    """Order statuses, one or a list."""


@dataclass(frozen=True, slots=True)
class Days:
    """Whole numbers of days from 0, largest first."""


@dataclass(frozen=True, slots=True)
class Branch:
    """The delay and template of the series' step ``step`` (a welcome's two branches)."""

    step: int


Reading = Count | Flag | Duration | TimeOfDay | Statuses | Days | Branch


@dataclass(frozen=True, slots=True)
class Key:
    """A key only the scenarios of some kinds have."""

    name: str  # as the file writes it
    reads: Reading
    # The Scenario field it sets (its default is the field's); None: ``Scenario.options``
    # (with ``default``), or the steps for a ``Branch``.
    field: str | None = None
    default: Any = None
    # Set when the kind needs a value: what the value is for ("the order statuses that
    # trigger them"), for the problem that names a scenario without one.
    required: str | None = None
    # Of its detector's kinds, those that have it; None: every one.
    kinds: tuple[str, ...] | None = None

    def of(self, scenario: Scenario) -> Any:
        """The scenario's value of this key (its default when it has none)."""
        if self.field is not None:
            return getattr(scenario, self.field)
        return next((value for name, value in scenario.options if name == self.name), self.default)
