"""``relance report`` on a month of decisions with a holdout: the figures and the lift with its
95 % interval, each checked against a computation of its own here (plain Python on the
records, and the score interval solved as a quadratic rather than by Wilson's closed form)."""

from __future__ import annotations

import gzip
import math
from collections import defaultdict
from pathlib import Path
from statistics import NormalDist
from typing import Any

import orjson
import pytest

from relance.cli import main
from relance.report.stats import newcombe, wilson

from .synthetic_decisions import ARMS, command_id, noisy, records

Z = NormalDist().inv_cdf(0.975)


def score_bounds(successes: int, trials: int) -> tuple[float, float]:
    """The p where n(p̂ - p)² = z²p(1 - p): the roots of a quadratic in p."""
    p = successes / trials
    a, b, c = trials + Z * Z, -(2 * trials * p + Z * Z), trials * p * p
    root = math.sqrt(b * b - 4 * a * c)
    return (-b - root) / (2 * a), (-b + root) / (2 * a)


def lift(treated: tuple[int, int], held: tuple[int, int]) -> tuple[float, float, float]:
    """Newcombe (1998) method 10, from its definition: difference, low, high."""
    p1, p2 = treated[0] / treated[1], held[0] / held[1]
    l1, u1 = score_bounds(*treated)
    l2, u2 = score_bounds(*held)
    d = p1 - p2
    return (
        d,
        d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def counted(found: list[dict[str, Any]]) -> dict[tuple[str, int, str | None], dict[str, Any]]:
    """Trials, conversions and revenue per (scenario, step, variant or None for the holdout),
    straight from the records: each command id once, each (command id, order) once."""
    arms: dict[tuple[str, int, str | None], dict[str, Any]] = defaultdict(
        lambda: {"trials": set(), "converted": set(), "revenue": defaultdict(float)}
    )
    where: dict[str, tuple[str, int, str | None]] = {}
    for r in found:
        held = r["outcome"] == "suppressed" and r["reason"] == "holdout"
        if r["outcome"] == "sent" or held:
            key = (r["scenario"], r["step"], None if held else r["variant"])
            arms[key]["trials"].add(r["command_id"])
            where[r["command_id"]] = key
    orders = {(r["command_id"], r["order_id"]): r for r in found if r["outcome"] == "attributed"}
    for (cid, _), r in orders.items():
        if cid in where:
            arms[where[cid]]["converted"].add(cid)
            arms[where[cid]]["revenue"][r["currency"]] += r["revenue"]
    return arms


def write_lines(path: Path, found: list[dict[str, Any]]) -> Path:
    data = b"".join(orjson.dumps(r) + b"\n" for r in found)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def report(*args: str, tmp_path: Path) -> bytes:
    out = tmp_path / "report.out"
    assert main(["report", *args, "--out", str(out)]) == 0
    return out.read_bytes()


@pytest.fixture
def month(tmp_path: Path) -> list[dict[str, Any]]:
    found = noisy(records())
    write_lines(tmp_path / "decisions.jsonl.gz", found)
    return found


def test_every_figure_and_lift_matches_a_computation_of_its_own(
    tmp_path: Path, month: list[dict[str, Any]]
) -> None:
    got = orjson.loads(
        report(
            "--decisions",
            str(tmp_path / "decisions.jsonl.gz"),
            "--format",
            "json",
            tmp_path=tmp_path,
        )
    )
    expected = counted(month)
    steps = {(s["scenario"], st["step"]): st for s in got["scenarios"] for st in s["steps"]}
    assert set(steps) == {(s, n) for s, n, _ in expected}
    for (scenario, step, variant), arm in expected.items():
        if variant is None:
            continue
        held = expected.get((scenario, step, None))
        (row,) = [v for v in steps[scenario, step]["variants"] if v["variant"] == variant]
        trials, conversions = len(arm["trials"]), len(arm["converted"])
        assert (row["sent"], row["conversions"]) == (trials, conversions)
        assert row["conversion_rate"] == pytest.approx(conversions / trials)
        assert row["revenue"] == pytest.approx(dict(arm["revenue"]))
        assert row["revenue_per_message"] == pytest.approx(
            {c: v / trials for c, v in arm["revenue"].items()}
        )
        if held is None:
            assert row["lift"] is None and row["verdict"] == "no_holdout"
            continue
        d, low, high = lift((conversions, trials), (len(held["converted"]), len(held["trials"])))
        assert row["lift"] == pytest.approx({"estimate": d, "low": low, "high": high}, abs=1e-12)


def test_the_counts_are_those_generated_despite_repeats_and_other_outcomes(
    tmp_path: Path, month: list[dict[str, Any]]
) -> None:
    got = orjson.loads(
        report(
            "--decisions",
            str(tmp_path / "decisions.jsonl.gz"),
            "--format",
            "json",
            tmp_path=tmp_path,
        )
    )
    (cart,) = [s for s in got["scenarios"] if s["scenario"] == "cart_abandonment"]
    first = cart["steps"][0]
    assert first["holdout"]["held_out"] == 500 and first["holdout"]["conversions"] == 20
    a, b, both = first["variants"]
    assert (a["variant"], a["sent"], a["conversions"], a["orders"]) == ("a", 1200, 84, 89)
    assert (b["variant"], b["sent"], b["conversions"]) == ("b", 1150, 61)
    assert (both["variant"], both["sent"], both["conversions"]) == ("(all)", 2350, 145)
    assert a["revenue"] == {"EUR": pytest.approx(89 * 52.5)}
    assert got["unmatched_conversions"] == 1  # the order of a decision not read


def test_verdicts_flag_too_few_conversions_and_intervals_that_include_zero(
    tmp_path: Path, month: list[dict[str, Any]]
) -> None:
    got = orjson.loads(
        report(
            "--decisions",
            str(tmp_path / "decisions.jsonl.gz"),
            "--format",
            "json",
            tmp_path=tmp_path,
        )
    )
    verdicts = {
        (s["scenario"], st["step"], v["variant"]): (v["verdict"], v["flagged"])
        for s in got["scenarios"]
        for st in s["steps"]
        for v in st["variants"]
    }
    assert verdicts == {
        ("cart_abandonment", 1, "a"): ("positive", False),  # 7.0 % against 4.0 %
        ("cart_abandonment", 1, "b"): ("includes_zero", True),  # 5.3 % against 4.0 %
        ("cart_abandonment", 1, "(all)"): ("includes_zero", True),  # 6.2 % against 4.0 %
        ("cart_abandonment", 2, "a"): ("too_few_conversions", True),  # 8 and 1
        ("browse_abandonment", 1, "control"): ("includes_zero", True),
        ("reactivation", 1, "control"): ("no_holdout", False),
    }
    lower = orjson.loads(
        report(
            "--decisions",
            str(tmp_path / "decisions.jsonl.gz"),
            "--format",
            "json",
            "--min-conversions",
            "1",
            tmp_path=tmp_path,
        )
    )
    (cart,) = [s for s in lower["scenarios"] if s["scenario"] == "cart_abandonment"]
    # 8/300 against 1/60: enough conversions now, and still unsure
    assert cart["steps"][1]["variants"][0]["verdict"] == "includes_zero"


def test_the_table_says_the_unit_the_interval_and_what_a_flag_means(
    tmp_path: Path, month: list[dict[str, Any]]
) -> None:
    text = report("--decisions", str(tmp_path / "decisions.jsonl.gz"), tmp_path=tmp_path).decode()
    assert "conversions per decision" in text and "Newcombe's hybrid score interval" in text
    assert "* flagged: not enough to conclude (fewer than 10 conversions" in text
    lines = text.splitlines()
    step = lines.index("cart_abandonment, step 1:")
    header, a = lines[step + 1].split(), lines[step + 2]
    assert header[:6] == [
        "variant",
        "sent",
        "conversions",
        "rate",
        "revenue",
        "revenue/message",
    ]  # no delivered nor clicked: none was read
    d, low, high = lift((84, 1200), (20, 500))
    assert a.split()[:4] == ["a", "1200", "84", "7.00%"]
    assert f"{100 * d:+.2f} pts" in a and f"[{100 * low:+.2f}, {100 * high:+.2f}]" in a
    assert "positive" in a
    step2 = lines[lines.index("cart_abandonment, step 2:") + 2]
    assert "* too few conversions (sent and holdout under 10)" in step2
    held = lines[step + 5]
    assert held.split()[:5] == ["holdout", "(not", "sent)", "500", "20"]


def test_delivered_and_clicked_come_from_results_and_engagement_by_command_id(
    tmp_path: Path,
) -> None:
    spec = ARMS[0]
    found = records((spec, ARMS[2]))
    decisions = write_lines(tmp_path / "d.jsonl", found)
    delivered = [command_id(spec, n) for n in range(0, 900)]
    results = [
        {
            "command_id": cid,
            "contact_id": "x",
            "scenario": spec.scenario,
            "channel": "email",
            "attempt": 1,
            "outcome": "delivered",
            "detail": None,
            "at": 0,
            "language": None,
        }
        for cid in delivered
    ]
    results.append({**results[0], "outcome": "temporary_failure"})  # not a second delivery
    results.append(
        {**results[1], "command_id": command_id(spec, 901), "outcome": "permanent_failure"}
    )
    clicks = [
        {
            "type": "engagement",
            "event_id": f"e{n}",
            "contact_id": "x",
            "occurred_at": "2024-05-02T00:00:00Z",
            "kind": "click",
            "command_id": command_id(spec, n),
        }
        for n in range(0, 300, 2)
    ]
    clicks.append(
        {**clicks[0], "event_id": "open", "kind": "open", "command_id": command_id(spec, 1)}
    )
    got = orjson.loads(
        report(
            "--decisions",
            str(decisions),
            "--format",
            "json",
            "--results",
            str(write_lines(tmp_path / "r.jsonl", results)),
            "--engagement",
            str(write_lines(tmp_path / "e.jsonl", clicks)),
            tmp_path=tmp_path,
        )
    )
    (row,) = got["scenarios"][0]["steps"][0]["variants"]
    assert (row["sent"], row["delivered"], row["clicked"]) == (1200, 900, 150)
    assert got["scenarios"][0]["steps"][0]["holdout"]["delivered"] == 0


def test_bad_records_are_named_by_line_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = records((ARMS[0], ARMS[2]))
    path = tmp_path / "d.jsonl"
    path.write_bytes(
        b"".join(orjson.dumps(r) + b"\n" for r in good[:3])
        + b"{oops\n"
        + orjson.dumps({**good[0], "outcome": "attributed", "revenue": "12"})
        + b"\n"
        + b"".join(orjson.dumps(r) + b"\n" for r in good[3:])
    )
    got = orjson.loads(report("--decisions", str(path), "--format", "json", tmp_path=tmp_path))
    err = capsys.readouterr().err
    assert f"{path}:4: not valid JSON" in err
    assert f"{path}:5: revenue must be a number, not '12'" in err
    assert "2 records skipped" in err
    assert got["scenarios"][0]["steps"][0]["variants"][0]["sent"] == 1200


def test_stdin_and_an_empty_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    text = report("--decisions", "-", tmp_path=tmp_path).decode()
    assert "no decision sent or held out was read" in text


def test_from_kafka_needs_a_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--from-kafka", "--since", "2024-05-01T00:00:00Z"]) == 2
    assert "--from-kafka needs --since and --until" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("treated", "held", "low", "high"),
    [
        ((56, 70), (48, 80), 0.0524, 0.3339),  # Newcombe (1998), table II, example (a)
        ((9, 10), (3, 10), 0.1705, 0.8090),  # example (b)
    ],
)
def test_newcombe_matches_the_published_examples(
    treated: tuple[int, int], held: tuple[int, int], low: float, high: float
) -> None:
    interval = newcombe(treated, held)
    assert (interval.low, interval.high) == (
        pytest.approx(low, abs=1e-4),
        pytest.approx(high, abs=1e-4),
    )


def test_wilson_at_the_edges() -> None:
    assert wilson(0, 10).low == 0.0 and wilson(0, 10).high == pytest.approx(0.2775, abs=1e-4)
    assert wilson(10, 10).high == 1.0
    assert (wilson(0, 0).low, wilson(0, 0).high) == (0.0, 1.0)
