"""``relance report --format html``: one page, a chart per scenario and step (inline SVG, no
script, nothing fetched), the sentence and the table beside it."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import orjson

from relance.cli import main
from relance.report.figures import figures
from relance.report.html import as_html
from relance.report.observations import Observations

from .synthetic_decisions import ARMS, ArmSpec, records

SVG = re.compile(r"<svg .*?</svg>", re.S)


def page(tmp_path: Path, arms: tuple[ArmSpec, ...] = ARMS) -> str:
    decisions = tmp_path / "d.jsonl"
    decisions.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records(arms)))
    out = tmp_path / "report.html"
    assert (
        main(["report", "--decisions", str(decisions), "--format", "html", "--out", str(out)]) == 0
    )
    return out.read_text()


def test_a_chart_per_scenario_and_step_and_nothing_fetched_or_run(tmp_path: Path) -> None:
    html = page(tmp_path)
    assert html.startswith("<!doctype html>")
    charts = SVG.findall(html)
    # browse 1, cart 1 and 2, reactivation 1 (welcome has no decision: no chart)
    assert len(charts) == 4
    assert [h for h in re.findall(r"<h2>(.*?)</h2>", html)] == [
        "browse_abandonment",
        "cart_abandonment",
        "reactivation",
    ]
    assert "<script" not in html.lower() and not re.search(r"(src|href)=", html)
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "")
    for chart in charts:
        ElementTree.fromstring(chart)  # well-formed SVG


def test_bars_for_each_variant_and_the_holdout_with_whiskers(tmp_path: Path) -> None:
    html = page(tmp_path)
    cart = SVG.findall(html)[1]  # cart_abandonment, step 1: a, b, holdout
    svg = ElementTree.fromstring(cart)
    ns = "{http://www.w3.org/2000/svg}"
    labels = [t.text for t in svg.iter(f"{ns}text")]
    assert {"a", "b", "holdout", "7.00%", "5.30%", "4.00%"} <= set(labels)
    assert "Conversion rate (95 % interval)" in labels
    assert "Revenue per message (EUR)" in labels
    whiskers = [p for p in svg.iter(f"{ns}path")]
    assert len(whiskers) == 3  # one interval per bar of the rate panel
    assert "3.89" in labels  # a: 89 orders at 52.50 over 1200 messages


def test_a_flagged_lift_is_said_and_coloured(tmp_path: Path) -> None:
    html = page(tmp_path)
    step2 = html[html.index("<h3>Step 2</h3>") :]
    assert "too few conversions (sent and holdout under 10)" in step2.split("<svg")[0]
    assert "class='verdict flagged'" in step2.split("<svg")[0]


def test_names_from_the_records_are_escaped() -> None:
    seen = Observations()
    seen.decision(
        {"outcome": "sent", "command_id": "x", "scenario": "<b>s</b>", "step": 1, "variant": "v&<"}
    )
    html = as_html(figures(seen), title="t")
    assert "<b>s</b>" not in html and "&lt;b&gt;s&lt;/b&gt;" in html and "v&amp;&lt;" in html


def test_an_empty_report_says_so(tmp_path: Path) -> None:
    assert "No decision sent or held out was read." in page(tmp_path, ())
