"""Experiments: a scenario's variants (templates or delays) with weights, and a holdout.

A contact's assignment is a hash of contact and scenario: the same on every run, in the live
worker and in ``relance simulate``, and independent between scenarios. Holdout contacts get
no message, but the decision is recorded (reason ``holdout``) so conversions can be compared.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

BUCKETS = 10_000


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    weight: int
    template: str | None = None
    delay_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Experiment:
    holdout_percent: float = 0.0
    variants: tuple[Variant, ...] = ()

    def assign(self, contact_id: str, scenario: str) -> Variant | None:
        """The contact's variant; ``None`` for the holdout."""
        digest = hashlib.blake2b(f"{contact_id}\x1f{scenario}".encode(), digest_size=8).digest()
        bucket = int.from_bytes(digest, "big") % BUCKETS
        held = round(self.holdout_percent * BUCKETS / 100)
        if bucket < held:
            return None
        if not self.variants:
            return CONTROL
        total = sum(v.weight for v in self.variants)
        point = ((bucket - held) * total) // (BUCKETS - held)
        for variant in self.variants:
            if point < variant.weight:
                return variant
            point -= variant.weight
        return self.variants[-1]


CONTROL = Variant("control", 1)
