"""Proportions and their 95 % intervals: Wilson's score interval for one rate, Newcombe's
hybrid score interval for the difference of two (treated minus holdout).

Why not Wald's ``p ± z·√(p(1-p)/n)``: conversion rates are small and holdouts are small, and
there Wald's interval covers the true rate far less often than 95 % (with no conversion at all
it is the single point 0), and a difference of two Wald intervals inherits that. Wilson's
interval keeps close to 95 % down to a handful of successes and stays within [0, 1];
Newcombe (1998, "Interval estimation for the difference between independent proportions",
Statistics in Medicine 17, method 10) combines the two arms' Wilson intervals into one for
the difference, in closed form, with near-nominal coverage and within [-1, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the normal quantile of 0.975


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: float
    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def rate(successes: int, trials: int) -> float:
    return successes / trials if trials else 0.0


def wilson(successes: int, trials: int, z: float = Z95) -> Interval:
    """Wilson's score interval of ``successes / trials``; (0, 0, 1) without a trial."""
    if trials <= 0:
        return Interval(0.0, 0.0, 1.0)
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    # At 0 or all successes the bound is exactly the rate; rounding must not cross it.
    return Interval(p, max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half)))


def newcombe(treated: tuple[int, int], holdout: tuple[int, int], z: float = Z95) -> Interval:
    """The difference of two rates, ``treated`` minus ``holdout`` (each (successes,
    trials)), with Newcombe's hybrid score interval."""
    one, two = wilson(*treated, z=z), wilson(*holdout, z=z)
    difference = one.estimate - two.estimate
    low = difference - math.hypot(one.estimate - one.low, two.high - two.estimate)
    high = difference + math.hypot(one.high - one.estimate, two.estimate - two.low)
    return Interval(difference, low, high)
