"""Trigger conditions: which events of a scenario's trigger type may start it.

A scenario's ``when`` maps a field of the triggering event (dotted into nested records:
``product.category_id``, ``items``, ``total``, ``page_type``, ``locale``) to what it must be:
a value (equal), a list (one of them), or a comparison written as text (``">= 50"``,
``"< 10"``, ``"!= outlet"``). Every condition must hold. Only the trigger is filtered: the
events that end a scenario end it whatever its conditions.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

_COMPARISON: Final = re.compile(r"\s*(>=|<=|!=|==|>|<)\s*(.+?)\s*")
_OPERATORS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "!=": operator.ne,
    "==": operator.eq,
}


@dataclass(frozen=True, slots=True)
class Condition:
    path: tuple[str, ...]
    test: str  # "in", or a comparison operator
    value: Any

    def holds(self, record: Mapping[str, Any]) -> bool:
        found: Any = record
        for part in self.path:
            if not isinstance(found, Mapping) or part not in found:
                return False
            found = found[part]
        if self.test == "in":
            return bool(found in self.value)
        try:
            return bool(_OPERATORS[self.test](found, self.value))
        except TypeError:  # e.g. a number compared with a missing price
            return False


def condition(path: str, wanted: Any) -> Condition:
    """One condition from configuration; ``ValueError`` says what is wrong with it."""
    parts = tuple(path.split("."))
    if not all(parts):
        raise ValueError(f"{path!r} is not a field path (write e.g. product.category_id)")
    if isinstance(wanted, list):
        if not wanted or any(isinstance(v, (list, dict)) for v in wanted):
            raise ValueError("a list of values must hold single values")
        return Condition(parts, "in", tuple(wanted))
    if isinstance(wanted, dict):
        raise ValueError("must be a value, a list of values, or a comparison like '>= 50'")
    if isinstance(wanted, str) and (match := _COMPARISON.fullmatch(wanted)):
        test, text = match[1], match[2]
        return Condition(parts, test, _number_or_text(text))
    return Condition(parts, "in", (wanted,))


def _number_or_text(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def matches(conditions: tuple[Condition, ...], record: Mapping[str, Any]) -> bool:
    return all(c.holds(record) for c in conditions)
