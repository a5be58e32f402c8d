"""The figures of a report, per scenario, step and variant: trials, delivered, clicked,
conversions, the conversion rate, revenue per currency and per message, and the lift over the
step's holdout with its 95 % interval and a verdict.

The verdict says whether the lift can be acted on. It is flagged (inconclusive) when either
arm has fewer than ``min_conversions`` conversions (the rates rest on too few orders: one
buyer more or less moves them a lot), or when the interval contains 0 (no lift is as
consistent with the data as the one measured). Otherwise the lift is ``positive`` or
``negative`` at 95 %.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Final

from relance.report.observations import Observations
from relance.report.stats import Interval, newcombe, rate, wilson

MIN_CONVERSIONS: Final = 10
NO_HOLDOUT: Final = "no_holdout"
TOO_FEW: Final = "too_few_conversions"
INCLUDES_ZERO: Final = "includes_zero"
POSITIVE: Final = "positive"
NEGATIVE: Final = "negative"
FLAGGED: Final = frozenset({TOO_FEW, INCLUDES_ZERO})
ALL: Final = "(all)"  # the variants of a step together, when it has more than one


@dataclass(frozen=True, slots=True)
class Arm:
    """The trials of one group: a variant's sent decisions, or a step's held-out ones."""

    trials: int
    delivered: int
    clicked: int
    conversions: int  # trials with at least one attributed order
    orders: int
    revenue: dict[str, float]  # per currency

    @property
    def rate(self) -> float:
        return rate(self.conversions, self.trials)

    @property
    def interval(self) -> Interval:
        return wilson(self.conversions, self.trials)

    def per_trial(self) -> dict[str, float]:
        """Revenue per message sent (or per decision held out), per currency."""
        return {c: v / self.trials for c, v in self.revenue.items()} if self.trials else {}


@dataclass(frozen=True, slots=True)
class Row:
    variant: str | None
    arm: Arm
    lift: Interval | None  # treated minus holdout conversion rate; None without a holdout
    verdict: str

    @property
    def flagged(self) -> bool:
        return self.verdict in FLAGGED


@dataclass(frozen=True, slots=True)
class Step:
    scenario: str
    step: int
    rows: tuple[Row, ...]
    holdout: Arm | None


@dataclass(frozen=True, slots=True)
class Figures:
    steps: tuple[Step, ...]
    unmatched: int  # attributed orders whose decision was not read
    min_conversions: int
    delivered_known: bool = True  # whether delivery results were read
    clicked_known: bool = True  # whether clicks were read

    def scenarios(self) -> dict[str, list[Step]]:
        found: dict[str, list[Step]] = {}
        for step in self.steps:
            found.setdefault(step.scenario, []).append(step)
        return found


def figures(seen: Observations, min_conversions: int = MIN_CONVERSIONS) -> Figures:
    groups: dict[tuple[str, int], dict[str | None, list[str]]] = defaultdict(
        lambda: defaultdict(list)
    )
    held: dict[tuple[str, int], list[str]] = defaultdict(list)
    for command_id, trial in seen.trials.items():  # counted only: any order will do
        where = (trial.scenario, trial.step)
        if trial.holdout:
            held[where].append(command_id)
        else:
            groups[where][trial.variant].append(command_id)
    by_command = _orders_by_command(seen)
    steps = []
    for where in sorted(groups.keys() | held.keys()):  # a step only held out is one too
        holdout = _arm(held[where], seen, by_command) if held.get(where) else None
        variants = groups.get(where, {})
        treated = [(v, variants[v]) for v in sorted(variants, key=lambda v: v or "")]
        if len(treated) > 1:
            treated.append((ALL, [c for _, ids in treated for c in ids]))
        rows = tuple(
            _row(v, _arm(ids, seen, by_command), holdout, min_conversions) for v, ids in treated
        )
        steps.append(Step(where[0], where[1], rows, holdout))
    return Figures(
        tuple(steps), seen.unmatched(), min_conversions, seen.results_read, seen.clicks_read
    )


def _orders_by_command(seen: Observations) -> dict[str, list[tuple[float, str]]]:
    found: dict[str, list[tuple[float, str]]] = defaultdict(list)
    # Summed with fsum, exactly rounded: the same in any order.
    for (command_id, _), attribution in seen.attributed.items():
        found[command_id].append((attribution.revenue, attribution.currency))
    return found


def _arm(ids: list[str], seen: Observations, by_command: dict[str, list[tuple[float, str]]]) -> Arm:
    revenue: dict[str, list[float]] = defaultdict(list)
    orders = Counter[str]()
    for command_id in ids:
        for amount, currency in by_command.get(command_id, ()):
            revenue[currency].append(amount)
            orders[command_id] += 1
    return Arm(
        len(ids),
        sum(1 for c in ids if c in seen.delivered),
        sum(1 for c in ids if c in seen.clicked),
        len(orders),
        orders.total(),
        {c: math.fsum(v) for c, v in sorted(revenue.items())},
    )


def _row(variant: str | None, arm: Arm, holdout: Arm | None, least: int) -> Row:
    if holdout is None:
        return Row(variant, arm, None, NO_HOLDOUT)
    lift = newcombe((arm.conversions, arm.trials), (holdout.conversions, holdout.trials))
    if min(arm.conversions, holdout.conversions) < least:
        verdict = TOO_FEW
    elif lift.contains(0.0):
        verdict = INCLUDES_ZERO
    else:
        verdict = POSITIVE if lift.estimate > 0 else NEGATIVE
    return Row(variant, arm, lift, verdict)
