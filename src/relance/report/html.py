"""A report as one HTML page a marketer reads at a glance: per scenario and step, a sentence
saying what the lift is and whether it can be acted on, a chart, and the table.

The chart is inline SVG (no JavaScript, nothing fetched): the conversion rate of each
variant and of the holdout as bars, each with its 95 % interval as a whisker, and beside it
the revenue per message, one panel per currency.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

from relance.report.figures import ALL, FLAGGED, NO_HOLDOUT, Arm, Figures, Row, Step
from relance.report.render import (
    INTERVAL,
    UNIT,
    arm_columns,
    lift_text,
    percent,
    points,
    verdict_text,
)

TREATED, HOLDOUT, FLAGGED_FILL = "#2b6cb0", "#a0aec0", "#90b4de"
PANEL_W, PANEL_H, TOP, BOTTOM, LEFT = 300, 210, 28, 44, 52
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; color: #1a202c; margin: 2em auto; max-width: 80em;
       padding: 0 1em; }
.wide { overflow-x: auto; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #cbd5e0; }
h3 { font-size: 1.05em; margin-bottom: .3em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { padding: .25em .6em; border-bottom: 1px solid #e2e8f0; text-align: right;
         white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
td:last-child, th:last-child { white-space: normal; text-align: left; min-width: 12em; }
.verdict { font-weight: 600; } .flagged { color: #b7791f; } .note { color: #4a5568; }
"""


def as_html(report: Figures, title: str = "relance report") -> str:
    parts = [
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}"
        f"</title><style>{STYLE}</style></head><body><h1>{escape(title)}</h1>",
        f"<p class=note>Unit: the {escape(UNIT)}. Lift: the treated conversion rate "
        f"minus the holdout's, in percentage points, with {escape(INTERVAL)}. Flagged "
        f"(in amber): not enough to conclude, fewer than {report.min_conversions} "
        "conversions in an arm or an interval that includes 0.</p>",
    ]
    for scenario, steps in report.scenarios().items():
        parts.append(f"<h2>{escape(scenario)}</h2>")
        for step in steps:
            parts += [
                f"<h3>Step {step.step}</h3>",
                _sentences(step, report.min_conversions),
                _chart(step),
                _table(step, report),
            ]
    if not report.steps:
        parts.append("<p>No decision sent or held out was read.</p>")
    if report.unmatched:
        parts.append(
            f"<p class=note>{report.unmatched} attributed orders name a decision "
            "that was not read (outside the range): not counted.</p>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def _label(row: Row) -> str:
    return "all variants" if row.variant == ALL else row.variant or "sent"


def _sentences(step: Step, least: int) -> str:
    said = []
    for row in step.rows:
        name = escape(_label(row))
        if row.lift is None or step.holdout is None:
            said.append(
                f"<li>{name}: {percent(row.arm.rate)} converted of "
                f"{row.arm.trials} sent; no holdout to compare with.</li>"
            )
            continue
        css = "verdict flagged" if row.verdict in FLAGGED else "verdict"
        said.append(
            f"<li>{name}: {percent(row.arm.rate)} converted against "
            f"{percent(step.holdout.rate)} held out: <b>{points(row.lift.estimate)} pts</b> "
            f"(95 % interval {points(row.lift.low)} to {points(row.lift.high)}), "
            f"<span class='{css}'>{escape(verdict_text(row, step, least).lstrip('* '))}</span>."
            "</li>"
        )
    return "<ul>" + "".join(said) + "</ul>"


def _bars(step: Step) -> list[tuple[str, Arm, str]]:
    """(label, arm, colour) of each bar: the variants (without their sum), then the holdout."""
    rows = [r for r in step.rows if r.variant != ALL]
    bars = [(_label(r), r.arm, FLAGGED_FILL if r.verdict in FLAGGED else TREATED) for r in rows]
    if step.holdout is not None:
        bars.append(("holdout", step.holdout, HOLDOUT))
    return bars


def _chart(step: Step) -> str:
    bars = _bars(step)
    currencies = sorted({c for _, arm, _ in bars for c in arm.revenue})
    panels = [
        _panel(
            "Conversion rate (95 % interval)",
            [
                (label, arm.rate, arm.interval.low, arm.interval.high, colour, percent(arm.rate))
                for label, arm, colour in bars
            ],
            percent,
        )
    ]
    for currency in currencies:
        values = [
            (label, arm.per_trial().get(currency, 0.0), colour) for label, arm, colour in bars
        ]
        panels.append(
            _panel(
                f"Revenue per message ({escape(currency)})",
                [(label, v, None, None, colour, f"{v:,.2f}") for label, v, colour in values],
                _amount,
            )
        )
    width = PANEL_W * len(panels)
    height = PANEL_H + TOP + BOTTOM + 20
    body = "".join(
        f"<g transform='translate({i * PANEL_W},0)'>{p}</g>" for i, p in enumerate(panels)
    ) + _legend(height - 8)
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' font-family='system-ui, sans-serif' "
        f"font-size='11'>{body}</svg>"
    )


def _legend(y: float) -> str:
    keys = (
        ("sent", TREATED),
        ("sent, flagged: not enough to conclude", FLAGGED_FILL),
        ("holdout (not sent)", HOLDOUT),
    )
    out, x = [], LEFT
    for text, colour in keys:
        out.append(
            f"<rect x='{x}' y='{y - 9}' width='10' height='10' fill='{colour}'/>"
            f"<text x='{x + 14}' y='{y}'>{escape(text)}</text>"
        )
        x += 24 + 6 * len(text)
    return "".join(out)


Bar = tuple[str, float, float | None, float | None, str, str]  # label, value, low, high ...


def _panel(title: str, bars: Sequence[Bar], tick: Callable[[float], str]) -> str:
    """One bar chart: a title, a y axis from 0 with four grid lines, bars and whiskers."""
    # Room above the highest bar or whisker for its label.
    step = _nice(1.1 * max([b[3] if b[3] is not None else b[1] for b in bars] + [1e-9]) / 4)
    top = 4 * step
    plot_w = PANEL_W - LEFT - 16
    slot = plot_w / max(len(bars), 1)
    bar_w = min(44.0, slot * 0.6)

    def y(value: float) -> float:
        return TOP + PANEL_H * (1 - value / top)

    out = [f"<text x='{LEFT}' y='16' font-size='12' font-weight='600'>{title}</text>"]
    for i in range(5):
        value = step * i
        out.append(
            f"<line x1='{LEFT}' x2='{LEFT + plot_w}' y1='{y(value):.1f}' "
            f"y2='{y(value):.1f}' stroke='#e2e8f0'/>"
            f"<text x='{LEFT - 4}' y='{y(value) + 4:.1f}' text-anchor='end' "
            f"fill='#4a5568'>{escape(tick(value))}</text>"
        )
    for i, (label, value, low, high, colour, text) in enumerate(bars):
        x = LEFT + slot * i + (slot - bar_w) / 2
        centre = x + bar_w / 2
        out.append(
            f"<rect x='{x:.1f}' y='{y(value):.1f}' width='{bar_w:.1f}' "
            f"height='{y(0) - y(value):.1f}' fill='{colour}'/>"
        )
        label_y = y(value) - 4
        if low is not None and high is not None:
            out.append(
                f"<path d='M{centre:.1f} {y(high):.1f}V{y(low):.1f}"
                f"M{centre - 6:.1f} {y(high):.1f}h12M{centre - 6:.1f} {y(low):.1f}h12' "
                "stroke='#1a202c' stroke-width='1.3' fill='none'/>"
            )
            label_y = y(high) - 4
        out.append(
            f"<text x='{centre:.1f}' y='{label_y:.1f}' text-anchor='middle'>"
            f"{escape(text)}</text><text x='{centre:.1f}' y='{y(0) + 16:.1f}' "
            f"text-anchor='middle'>{escape(label[:14])}</text>"
        )
    return "".join(out)


def _amount(value: float) -> str:
    """An axis' amount: cents, or finer for an axis of fractions of a cent."""
    return f"{value:,.2f}" if value == 0 or value >= 0.1 else f"{value:,.3g}"


def _nice(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above ``value``."""
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= value)


def _table(step: Step, report: Figures) -> str:
    columns = arm_columns(report)
    head = ["variant", *(name for name, _ in columns), "lift", "95 % interval", "verdict"]
    rows = []
    for row in step.rows:
        lift, interval = lift_text(row.lift)
        css = " class=flagged" if row.verdict in FLAGGED else ""
        verdict = (
            ""
            if row.verdict == NO_HOLDOUT
            else verdict_text(row, step, report.min_conversions).lstrip("* ")
        )
        rows.append(
            [
                escape(_label(row)),
                *(_html(cell(row.arm)) for _, cell in columns),
                lift,
                interval,
                f"<span{css}>{escape(verdict)}</span>",
            ]
        )
    if step.holdout is not None:
        rows.append(
            ["holdout (not sent)", *(_html(cell(step.holdout)) for _, cell in columns), "", "", ""]
        )
    return (
        "<div class=wide><table><tr>"
        + "".join(f"<th>{h}</th>" for h in head)
        + "</tr>"
        + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
        + "</table></div>"
    )


def _html(cell: str) -> str:
    """A cell of the table; amounts in several currencies one under the other."""
    return escape(cell).replace("; ", "<br>")
