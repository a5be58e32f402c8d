"""How long the sender waits between two attempts at a command, and until when it tries.

Waits double from ``first`` up to ``cap``, each drawn between half and all of that ceiling
("equal jitter"): senders that failed together do not all come back at the same instant, and
no wait collapses to nothing, which would spin on a provider that is down. A provider that
says how long to wait (an ESP's 429 with Retry-After) is waited for at least that long:
trying sooner would only be refused again. A command is
tried until it expires: the scenario's ``stale_after`` counted from its journey's start
(``expires_at``) or the sender's horizon after its decision, whichever comes first.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from relance.core.timestamps import parse_iso


@dataclass(frozen=True, slots=True)
class Backoff:
    first: float = 1.0
    cap: float = 300.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def ceiling(self, failures: int) -> float:
        """The longest wait after ``failures`` temporary failures in a row (1, 2 ...)."""
        # The exponent is bounded so that a day of failures cannot overflow a float.
        return min(self.cap, self.first * 2.0 ** min(max(failures, 1) - 1, 64))

    def delay(self, failures: int) -> float:
        """The wait after ``failures`` temporary failures in a row, jittered."""
        ceiling = self.ceiling(failures)
        return ceiling / 2 + self.rng.random() * ceiling / 2

    def after(self, failures: int, retry_after: float | None = None) -> float:
        """The wait after ``failures`` temporary failures in a row, and at least the
        ``retry_after`` seconds the provider asked for, when it asked."""
        delay = self.delay(failures)
        return delay if retry_after is None else max(delay, retry_after)


def expiry(command: Mapping[str, Any], horizon_ms: int) -> tuple[int, str]:
    """When ``command`` is no longer worth sending (epoch ms), and why then: its
    ``expires_at`` (the scenario's stale_after) or ``horizon_ms`` after its decision."""
    horizon = parse_iso(str(command["decided_at"])) + horizon_ms
    stale = command.get("expires_at")
    if stale is not None and parse_iso(str(stale)) < horizon:
        return parse_iso(str(stale)), "stale_after"
    return horizon, "delivery horizon"
