"""What a report learns from the records it reads: the trials (decisions sent or held out),
the orders attributed to them, and which messages were delivered and clicked.

The unit is the decision: each ``sent`` decision is a trial of its scenario, step and
variant, each ``suppressed`` one with reason ``holdout`` a trial of that scenario and step's
holdout; a trial converts when at least one order is attributed to its command id. Records
are joined by command id and read at least once: a decision or an attributed order seen
twice (a worker that restarted re-emits what it had not committed) counts once.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Trial:
    scenario: str
    step: int
    variant: str | None  # None for the holdout, and for a scenario without an experiment
    holdout: bool


@dataclass(frozen=True, slots=True)
class Attribution:
    revenue: float
    currency: str


class BadRecordError(ValueError):
    """A record a report cannot use; the message says which field and why."""


@dataclass
class Observations:
    trials: dict[str, Trial] = field(default_factory=dict)  # by command id
    attributed: dict[tuple[str, str], Attribution] = field(default_factory=dict)  # id, order
    delivered: set[str] = field(default_factory=set)
    clicked: set[str] = field(default_factory=set)
    ignored: Counter[str] = field(default_factory=Counter)  # records not used, by outcome
    # Whether delivery results and clicks were read at all: none read is not none delivered.
    results_read: bool = False
    clicks_read: bool = False

    def decision(self, record: Any, *, trial: bool = True) -> None:
        """A decision record (``simulate --explain``, the decisions topic); ``trial`` False
        for one outside the report's range, whose attributed orders still count."""
        if not isinstance(record, dict):
            raise BadRecordError("a decision must be a JSON object")
        outcome = record.get("outcome")
        if outcome == "attributed":
            self._attributed(record)
        elif outcome == "sent" or (outcome == "suppressed" and record.get("reason") == "holdout"):
            if trial:
                self.trials[_text(record, "command_id")] = Trial(
                    _text(record, "scenario"),
                    _step(record),
                    _optional(record, "variant") if outcome == "sent" else None,
                    outcome == "suppressed",
                )
        else:
            self.ignored[str(outcome)] += 1

    def _attributed(self, record: dict[str, Any]) -> None:
        revenue = record.get("revenue")
        if (
            isinstance(revenue, bool)
            or not isinstance(revenue, int | float)
            or not math.isfinite(revenue)
        ):
            raise BadRecordError(f"revenue must be a number, not {revenue!r}")
        self.attributed[_text(record, "command_id"), _text(record, "order_id")] = Attribution(
            float(revenue), _text(record, "currency")
        )

    def result(self, record: Any) -> None:
        """A delivery result (``schemas/delivery_result.avsc``)."""
        if not isinstance(record, dict):
            raise BadRecordError("a delivery result must be a JSON object")
        if record.get("outcome") == "delivered":
            self.delivered.add(_text(record, "command_id"))

    def click(self, command_id: str | None) -> None:
        """An engagement event of kind ``click`` about ``command_id`` (if it names one)."""
        if command_id:
            self.clicked.add(command_id)

    def unmatched(self) -> int:
        """Attributed orders whose decision was not read (outside the range, or missing)."""
        return sum(1 for command_id, _ in self.attributed if command_id not in self.trials)


def _text(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value:
        raise BadRecordError(f"{name} must be a non-empty string, not {value!r}")
    return value


def _optional(record: dict[str, Any], name: str) -> str | None:
    value = record.get(name)
    if value is not None and not isinstance(value, str):
        raise BadRecordError(f"{name} must be a string or null, not {value!r}")
    return value


def _step(record: dict[str, Any]) -> int:
    value = record.get("step", 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRecordError(f"step must be a positive integer, not {value!r}")
    return value
