"""The whole offline path on a generated month: ``python -m relance.demo.samples.month``, then
``relance simulate --explain`` with a holdout experiment, then ``relance report``; every row
checked against the same figures computed here from the decisions file.

The core attributes the month's orders (``attributed`` records): both arms convert, so the
test proves attribution reaches the report, not only that the report counts what it reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from relance.cli import main

from .test_report import counted, lift

HOLDOUT = """\
scenarios:
  cart_abandonment:
    delay: 1h
    experiment: {holdout: 20%, variants: {a: {weight: 1}, b: {weight: 1, delay: 2h}}}
  browse_abandonment:
    delay: 1h
    experiment: {holdout: 20%, variants: {control: {weight: 1}}}
"""


def test_a_generated_month_with_a_holdout_reports_what_its_decisions_say(tmp_path: Path) -> None:
    events, config = tmp_path / "month.jsonl", tmp_path / "holdout.yaml"
    events.write_bytes(
        subprocess.run(
            [
                sys.executable,
                "-m",
                "relance.demo.samples.month",
                "--contacts",
                "600",
                "--seed",
                "3",
            ],
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
    )
    config.write_text(HOLDOUT)
    decisions, out = tmp_path / "decisions.jsonl", tmp_path / "report.json"
    assert (
        main(
            [
                "simulate",
                "--events",
                str(events),
                "--config",
                str(config),
                "--explain",
                "--workers",
                "1",
                "--out",
                str(decisions),
            ]
        )
        == 0
    )
    assert (
        main(["report", "--decisions", str(decisions), "--format", "json", "--out", str(out)]) == 0
    )
    found = [orjson.loads(line) for line in decisions.read_bytes().splitlines()]
    expected = counted(found)
    got = orjson.loads(out.read_bytes())
    steps = {(s["scenario"], st["step"]): st for s in got["scenarios"] for st in s["steps"]}
    assert set(steps) == {("cart_abandonment", 1), ("browse_abandonment", 1)}
    for (scenario, step, variant), arm in expected.items():
        figures = steps[scenario, step]
        if variant is None:
            assert figures["holdout"]["held_out"] == len(arm["trials"]) > 50
            assert figures["holdout"]["conversions"] == len(arm["converted"])
            continue
        (row,) = [v for v in figures["variants"] if v["variant"] == variant]
        held = expected[scenario, step, None]
        trials, conversions = len(arm["trials"]), len(arm["converted"])
        assert (row["sent"], row["conversions"]) == (trials, conversions)
        assert trials > 100
        assert row["revenue"] == pytest.approx(dict(arm["revenue"]))
        d, low, high = lift((conversions, trials), (len(held["converted"]), len(held["trials"])))
        assert row["lift"] == pytest.approx({"estimate": d, "low": low, "high": high}, abs=1e-9)
    assert {v["variant"] for v in steps["cart_abandonment", 1]["variants"]} == {"a", "b", "(all)"}
    # Orders were attributed to messages and to held-out decisions alike.
    cart = expected["cart_abandonment", 1, None]
    assert cart["converted"] and expected["cart_abandonment", 1, "a"]["converted"]
    assert sum(len(arm["converted"]) for arm in expected.values()) > 50
