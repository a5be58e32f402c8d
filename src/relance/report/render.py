"""A report as text (a table per scenario and step) or as JSON (every figure, unrounded)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from relance.report.figures import (
    INCLUDES_ZERO,
    NEGATIVE,
    NO_HOLDOUT,
    POSITIVE,
    TOO_FEW,
    Arm,
    Figures,
    Row,
    Step,
)
from relance.report.stats import Interval
from relance.report.text import table

INTERVAL = "Newcombe's hybrid score interval (method 10), 95 %"
UNIT = (
    "decision: each sent decision and each held-out decision is a trial; a trial "
    "converts when at least one order is attributed to its command id"
)


def verdict_text(row: Row, step: Step, least: int) -> str:
    """The verdict in words; a flagged one starts with ``*``."""
    if row.verdict == TOO_FEW:
        short = [
            name
            for name, arm in (("sent", row.arm), ("holdout", step.holdout))
            if arm is not None and arm.conversions < least
        ]
        return f"* too few conversions ({' and '.join(short)} under {least})"
    return {
        NO_HOLDOUT: "no holdout",
        INCLUDES_ZERO: "* interval includes 0",
        POSITIVE: "positive",
        NEGATIVE: "negative",
    }[row.verdict]


def percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def points(value: float) -> str:
    return f"{100 * value:+.2f}"


def money(amounts: dict[str, float]) -> str:
    return "; ".join(f"{currency} {amount:,.2f}" for currency, amount in amounts.items()) or "-"


def lift_text(lift: Interval | None) -> tuple[str, str]:
    if lift is None:
        return "-", "-"
    return f"{points(lift.estimate)} pts", f"[{points(lift.low)}, {points(lift.high)}]"


def as_text(report: Figures) -> list[str]:
    lines = [
        f"conversions per decision ({UNIT});",
        f"lift: treated minus holdout conversion rate, with {INTERVAL};",
        f"* flagged: not enough to conclude (fewer than {report.min_conversions} "
        "conversions in an arm, or an interval that includes 0)",
    ]
    columns = arm_columns(report)
    header = ["variant", *(name for name, _ in columns), "lift", "95% interval", "verdict"]
    for step in report.steps:
        rows = [
            [
                row.variant or "-",
                *(cell(row.arm) for _, cell in columns),
                *lift_text(row.lift),
                verdict_text(row, step, report.min_conversions),
            ]
            for row in step.rows
        ]
        if step.holdout is not None:
            rows.append(
                ["holdout (not sent)", *(cell(step.holdout) for _, cell in columns), "", "", ""]
            )
        lines += ["", f"{step.scenario}, step {step.step}:"]
        lines += table(header, rows, indent="  ")
    if not report.steps:
        lines += ["", "no decision sent or held out was read"]
    if report.unmatched:
        lines += [
            "",
            f"{report.unmatched} attributed orders name a decision that was not "
            "read (outside the range): not counted",
        ]
    return lines


def arm_columns(report: Figures) -> list[tuple[str, Callable[[Arm], str]]]:
    """The columns of an arm, by name: delivered and clicked only when they were read."""
    return [
        ("sent", lambda arm: str(arm.trials)),
        *([("delivered", lambda arm: str(arm.delivered))] if report.delivered_known else []),
        *([("clicked", lambda arm: str(arm.clicked))] if report.clicked_known else []),
        ("conversions", lambda arm: str(arm.conversions)),
        ("rate", lambda arm: percent(arm.rate)),
        ("revenue", lambda arm: money(arm.revenue)),
        ("revenue/message", lambda arm: money(arm.per_trial())),
    ]


def as_json(report: Figures) -> dict[str, Any]:
    return {
        "unit": UNIT,
        "interval": INTERVAL,
        "confidence": 0.95,
        "min_conversions": report.min_conversions,
        "unmatched_conversions": report.unmatched,
        "scenarios": [
            {
                "scenario": scenario,
                "steps": [
                    {
                        "step": step.step,
                        "holdout": None
                        if step.holdout is None
                        else _arm_json(step.holdout, "held_out", report),
                        "variants": [
                            {
                                "variant": row.variant,
                                **_arm_json(row.arm, "sent", report),
                                "lift": None if row.lift is None else _interval(row.lift),
                                "verdict": row.verdict,
                                "flagged": row.flagged,
                            }
                            for row in step.rows
                        ],
                    }
                    for step in steps
                ],
            }
            for scenario, steps in report.scenarios().items()
        ],
    }


def _arm_json(arm: Arm, count: str, report: Figures) -> dict[str, Any]:
    """``delivered`` and ``clicked`` are null when they were not read."""
    return {
        count: arm.trials,
        "delivered": arm.delivered if report.delivered_known else None,
        "clicked": arm.clicked if report.clicked_known else None,
        "conversions": arm.conversions,
        "orders": arm.orders,
        "conversion_rate": arm.rate,
        "rate_interval": _interval(arm.interval),
        "revenue": arm.revenue,
        "revenue_per_message": arm.per_trial(),
    }


def _interval(interval: Interval) -> dict[str, float]:
    return {"estimate": interval.estimate, "low": interval.low, "high": interval.high}
