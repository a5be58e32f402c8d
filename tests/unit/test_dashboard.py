"""The Grafana dashboard: well formed, covering the pipeline, on valid queries of real metrics."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..metric_names import GRAFANA, STRING, known_names, names_in, promtool

DASHBOARD = GRAFANA / "relance.json"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}

# Grafana's interval variables are not PromQL; 1m stands in for them when checking.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}

# What the dashboard must show, by the series that shows it.
REQUIRED = {
    "event intake by topic": "relance_events_consumed_total",
    "rejected messages": "relance_events_rejected_total",
    "commands decided (sent)": "relance_commands_decided_total",
    "suppressions": "relance_suppressions_total",
    "deferrals": "relance_deferrals_total",
    "deliveries by outcome": "relance_deliveries_total",
    "delivery attempts by result": "relance_delivery_attempts_total",
    "oldest undelivered command": "relance_oldest_undelivered_seconds",
    "deadline-to-command latency": "relance_deadline_to_command_seconds_bucket",
    "command-to-delivery latency": "relance_command_to_delivery_seconds_bucket",
    "pending deadlines": "relance_deadlines_pending",
    "consumer lag": "relance_consumer_lag",
    "readiness": "relance_ready",
    "partitions assigned": "relance_partitions_assigned",
    "state recovery": "relance_state_recovery_seconds",
    "workers up": "up",
    "memory": "process_resident_memory_bytes",
    "marketing sends by variant": "relance_sends_total",
    "conversions": "relance_conversions_total",
    "revenue": "relance_revenue_total",
    "holdout conversions": "relance_holdout_conversions_total",
    "holdout revenue": "relance_holdout_revenue_total",
}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels() -> Iterator[dict[str, Any]]:
    """Every panel, those folded into a row included."""
    for panel in dashboard()["panels"]:
        yield panel
        yield from panel.get("panels", [])


def targets() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for panel in panels():
        for target in panel.get("targets", []):
            yield panel, target


def promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def test_the_dashboard_is_relance() -> None:
    loaded = dashboard()
    assert loaded["uid"] == "relance"
    assert loaded["title"] == "relance"
    assert loaded["schemaVersion"] >= 39


def test_every_panel_has_a_title_a_description_and_the_prometheus_datasource() -> None:
    for panel in panels():
        if panel["type"] == "row":
            continue
        assert panel.get("title"), panel["id"]
        assert panel.get("description"), panel["title"]
        assert panel.get("datasource") == DATASOURCE, panel["title"]
        assert panel.get("targets"), panel["title"]


def test_every_target_has_a_query_a_unique_ref_id_and_the_datasource() -> None:
    for panel in panels():
        refs = [target["refId"] for target in panel.get("targets", [])]
        assert len(refs) == len(set(refs)), panel["title"]
    for panel, target in targets():
        assert target.get("expr"), panel["title"]
        assert target.get("datasource") == DATASOURCE, panel["title"]


def test_panel_ids_are_unique_and_every_panel_has_a_place_on_the_grid() -> None:
    ids = [panel["id"] for panel in panels()]
    assert len(ids) == len(set(ids))
    taken: dict[tuple[int, int], str] = {}
    for panel in panels():
        grid = panel["gridPos"]
        assert {"x", "y", "w", "h"} <= set(grid), panel["title"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in taken, f"{panel['title']} overlaps {taken[x, y]}"
                taken[x, y] = panel["title"]


@pytest.mark.parametrize("topic", REQUIRED)
def test_the_dashboard_shows(topic: str) -> None:
    name = re.compile(rf"\b{REQUIRED[topic]}\b")
    exprs = [STRING.sub('""', target["expr"]) for _, target in targets()]
    assert any(name.search(expr) for expr in exprs), f"no query reads {REQUIRED[topic]}"


def test_the_queries_read_only_metrics_relance_exposes() -> None:
    for panel, target in targets():
        assert names_in(target["expr"]) - known_names() == set(), panel["title"]


def test_the_queries_use_no_variable_the_check_cannot_stand_in_for() -> None:
    for panel, target in targets():
        assert "$" not in promql(target["expr"]), panel["title"]


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    # promtool parses a recording rule's expression as Prometheus would; one rule per target.
    records = [
        {
            "record": f"dashboard:panel_{panel['id']}_{target['refId']}",
            "expr": promql(target["expr"]),
        }
        for panel, target in targets()
    ]
    rules = tmp_path / "dashboard.rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}))
    result = promtool("check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr
