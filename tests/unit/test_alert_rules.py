"""The Prometheus alerts: valid, unit-tested by promtool case by case, on metrics that exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ..metric_names import PROMETHEUS, known_names, names_in, promtool

ALERTS = PROMETHEUS / "alerts.yaml"
ALERT_TESTS = PROMETHEUS / "alerts.test.yaml"
CONFIG = PROMETHEUS / "prometheus.yml"
CONTAINER_RULES = "/etc/prometheus/alerts.yaml"


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def alert_cases() -> list[dict[str, Any]]:
    tests = yaml.safe_load(ALERT_TESTS.read_text())["tests"]
    return [case for test in tests for case in test.get("alert_rule_test", [])]


def test_the_rules_pass_promtool_check() -> None:
    result = promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_unit_tests_pass() -> None:
    result = promtool("test", "rules", ALERT_TESTS.name, cwd=PROMETHEUS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_config_passes_promtool_check(tmp_path: Path) -> None:
    # check config opens every rule file, and the config names the path the compose stack
    # mounts the rules at, which does not exist here: a copy points at the rules in the repo.
    config = yaml.safe_load(CONFIG.read_text())
    assert config["rule_files"] == [CONTAINER_RULES]
    config["rule_files"] = [str(ALERTS)]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config))
    result = promtool("check", "config", str(copy))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_config_scrapes_the_worker_the_sender_and_the_gateway() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    assert config["global"]["scrape_interval"] == "15s"
    targets = {
        job["job_name"]: [
            target for static in job["static_configs"] for target in static["targets"]
        ]
        for job in config["scrape_configs"]
    }
    assert targets == {
        "relance-worker": ["worker:6066"],
        "relance-sender": ["sender:6067"],
        "relance-gateway": ["gateway:6068"],
    }


def test_every_alert_has_a_wait_a_severity_a_summary_and_a_description() -> None:
    for rule in rules():
        assert "alert" in rule, f"{rule.get('record')}: only alerts belong in alerts.yaml"
        assert rule.get("for"), rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert set(rule["annotations"]) == {"summary", "description"}, rule["alert"]
        assert "{{" in rule["annotations"]["description"], rule["alert"]


def test_every_alert_has_a_case_that_fires_it_and_one_that_does_not() -> None:
    alerts = {rule["alert"] for rule in rules()}
    cases = alert_cases()
    fired = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert alerts - fired == set(), "alerts no test case fires"
    assert alerts - quiet == set(), "alerts no test case keeps quiet"
    assert (fired | quiet) - alerts == set(), "test cases for alerts that do not exist"


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: rule["alert"])
def test_the_rules_read_only_metrics_relance_exposes(rule: dict[str, Any]) -> None:
    assert names_in(rule["expr"]) - known_names() == set()
