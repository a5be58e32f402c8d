"""Decision records with known counts, in the format ``relance simulate --explain`` writes
(and attribution records as part B of issue 19 adds them), for the tests of ``relance
report``: a month of sends, a holdout per scenario, conversions and revenue by arm.

Each arm is (scenario, step, variant or None for the holdout, trials, conversions); every
converted trial has one attributed order (the first ``second_orders`` of them two), worth
``price`` each in the arm's currency. Noise a real topic has is added: a few decisions and
orders read twice, deferrals, other suppressions, an order of a decision not read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

T0 = 1_714_521_600_000  # 2024-05-01T00:00:00Z
HOUR = 3_600_000


def iso(ms: int) -> str:
    from relance.core.timestamps import to_iso

    return to_iso(ms)


@dataclass(frozen=True)
class ArmSpec:
    scenario: str
    step: int
    variant: str | None  # None: the holdout
    trials: int
    conversions: int
    price: float = 40.0
    currency: str = "EUR"
    second_orders: int = 0  # converted trials with a second attributed order


ARMS = (
    ArmSpec("cart_abandonment", 1, "a", 1200, 84, 52.5, second_orders=5),
    ArmSpec("cart_abandonment", 1, "b", 1150, 61, 48.0),
    ArmSpec("cart_abandonment", 1, None, 500, 20, 50.0),
    ArmSpec("cart_abandonment", 2, "a", 300, 8, 52.5),
    ArmSpec("cart_abandonment", 2, None, 60, 1, 50.0),
    ArmSpec("browse_abandonment", 1, "control", 900, 45, 30.0),
    ArmSpec("browse_abandonment", 1, "control", 40, 3, 25.0, "USD"),  # same arm, in dollars
    ArmSpec("browse_abandonment", 1, None, 300, 14, 30.0),
    ArmSpec("welcome", 1, None, 0, 0),  # nothing: no row
    ArmSpec("reactivation", 1, "control", 400, 12, 35.0),  # no holdout
)


def command_id(spec: ArmSpec, number: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{spec}/{number}"))


def records(arms: tuple[ArmSpec, ...] = ARMS) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for spec in arms:
        for number in range(spec.trials):
            cid = command_id(spec, number)
            contact = f"c-{spec.scenario}-{number}"
            at = T0 + (number * 7919) % (28 * 24 * HOUR)
            out.append(decision(spec, cid, contact, at))
            orders = 0 if number >= spec.conversions else 2 if number < spec.second_orders else 1
            for order in range(orders):
                out.append(
                    attributed(spec, cid, contact, at + (order + 2) * HOUR, f"o-{cid[:8]}-{order}")
                )
    return out


def decision(spec: ArmSpec, cid: str, contact: str, at: int) -> dict[str, Any]:
    held = spec.variant is None
    return {
        "command_id": cid,
        "contact_id": contact,
        "scenario": spec.scenario,
        "step": spec.step,
        "outcome": "suppressed" if held else "sent",
        "reason": "holdout" if held else None,
        "channel": None if held else "email",
        "template": None if held else spec.scenario,
        "decided_at": iso(at),
        "until": None,
        "variant": None if held else spec.variant,
    }


def attributed(spec: ArmSpec, cid: str, contact: str, at: int, order: str) -> dict[str, Any]:
    return {
        "outcome": "attributed",
        "contact_id": contact,
        "order_id": order,
        "revenue": spec.price,
        "currency": spec.currency,
        "command_id": cid,
        "scenario": spec.scenario,
        "step": spec.step,
        "variant": spec.variant,
        "holdout": spec.variant is None,
        "touch": "sent",
        "decided_at": iso(at),
    }


def noisy(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``found`` with what a report must not count: repeats, deferrals, other suppressions
    and an order attributed to a decision that is not there."""
    extra = [dict(r) for r in found[:40]]  # read twice: decisions and orders alike
    spec = ARMS[0]
    extra += [
        {
            **decision(spec, f"d-{n}", f"c-d-{n}", T0),
            "outcome": "deferred",
            "reason": "quiet_hours",
            "until": iso(T0 + HOUR),
        }
        for n in range(5)
    ]
    extra += [
        {
            **decision(spec, f"s-{n}", f"c-s-{n}", T0),
            "outcome": "suppressed",
            "reason": "frequency_cap",
            "variant": None,
        }
        for n in range(7)
    ]
    extra.append(attributed(spec, "not-read", "c-x", T0, "o-unmatched"))
    return found + extra
