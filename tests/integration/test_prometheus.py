"""A real Prometheus (Debian's package) scrapes a worker and a sender on the embedded broker;
its HTTP API answers for relance's metrics, every dashboard query and the alert rules."""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from relance.core.events import CartChange, Order, OrderItem
from relance.demo.ports import free_port
from relance.demo.processes import spawn, stop_processes

from ..metric_names import GRAFANA, PROMETHEUS
from .conftest import Stack, wait_for
from .test_live_pipeline import SHOE, now_ms, produce, profile

pytestmark = pytest.mark.integration


class Prometheus:
    def __init__(self, root: Path, targets: dict[str, int]) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.fail(
                "prometheus is not on PATH: install it (Debian/Ubuntu: apt-get "
                "install prometheus); .ci/run does",
                pytrace=False,
            )
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(PROMETHEUS / "alerts.yaml")],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
                for job, port in targets.items()
            ],
        }
        (root / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.process = spawn(
            [
                binary,
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={root / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            log=root / "prometheus.log",
        )

    def api(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=5) as page:
                answer = json.load(page)
        except OSError:
            return None
        assert answer["status"] == "success", answer
        return answer["data"]

    def values(self, expr: str) -> dict[str, float]:
        """An instant query as {job: value} (or {"": value} without a job label)."""
        data = self.api("query", query=expr)
        if data is None:
            return {}
        return {r["metric"].get("job", ""): float(r["value"][1]) for r in data["result"]}

    def stop(self) -> None:
        stop_processes([self.process], grace=30)


@pytest.fixture
def prometheus(stack: Stack, tmp_path: Path) -> Iterator[Prometheus]:
    server = Prometheus(
        tmp_path,
        {
            "relance-worker": int(stack.env["RELANCE_WEB_PORT"]),
            "relance-sender": int(stack.env["RELANCE_SENDER_WEB_PORT"]),
        },
    )
    try:
        yield server
    finally:
        server.stop()


def dashboard_queries() -> list[str]:
    board = json.loads((GRAFANA / "relance.json").read_text())
    return [
        target["expr"].replace("$__rate_interval", "1m")
        for panel in board["panels"]
        for target in panel.get("targets", [])
    ]


def test_prometheus_scrapes_relance_and_answers_for_its_metrics(
    stack: Stack, prometheus: Prometheus
) -> None:
    stack.start("worker")
    stack.start("sender")
    wait_for(
        lambda: (
            prometheus.values("relance_ready") == {"relance-worker": 1.0, "relance-sender": 1.0}
        ),
        timeout=90,
    )
    t = now_ms()
    produce(stack, [profile("gus", t), CartChange("gus-1", "gus", t + 10, "add", SHOE, 1)])
    wait_for(lambda: stack.sink.messages(), timeout=60)

    carts = f'relance_events_consumed_total{{topic="{stack.topic("carts")}"}}'
    wait_for(lambda: prometheus.values(carts) == {"relance-worker": 1.0}, timeout=30)
    decided = 'relance_commands_decided_total{scenario="cart_abandonment"}'
    wait_for(lambda: prometheus.values(decided) == {"relance-worker": 1.0}, timeout=30)
    delivered = 'relance_deliveries_total{channel="email",outcome="delivered"}'
    wait_for(lambda: prometheus.values(delivered) == {"relance-sender": 1.0}, timeout=30)
    assert prometheus.values('up{job=~"relance-.*"}') == {
        "relance-worker": 1.0,
        "relance-sender": 1.0,
    }
    assert prometheus.values("sum by (job) (relance_consumer_lag)")["relance-worker"] == 0.0

    for expr in dashboard_queries():
        assert prometheus.api("query", query=expr) is not None, expr
    (group,) = prometheus.api("rules")["groups"]
    alerts = yaml.safe_load((PROMETHEUS / "alerts.yaml").read_text())["groups"][0]["rules"]
    assert {rule["name"] for rule in group["rules"]} == {rule["alert"] for rule in alerts}
    wait_for(
        lambda: all(
            rule["health"] == "ok" for rule in prometheus.api("rules")["groups"][0]["rules"]
        ),
        timeout=30,
    )
    # Not even pending: a healthy pipeline that just read its first events alerts nothing.
    wait_for(lambda: prometheus.api("alerts")["alerts"] == [], timeout=30)


def panel_queries(title: str) -> list[str]:
    board = json.loads((GRAFANA / "relance.json").read_text())
    (panel,) = [p for p in board["panels"] if p["title"] == title]
    return [target["expr"].replace("$__rate_interval", "1m") for target in panel["targets"]]


def test_the_conversion_panels_read_what_the_worker_attributed(
    stack: Stack, prometheus: Prometheus
) -> None:
    stack.start("worker")
    sends = 'relance_sends_total{scenario="cart_abandonment",variant="none"}'
    conversions = 'relance_conversions_total{scenario="cart_abandonment",variant="none"}'
    # Scraped at 0 before the first send, so that increase() sees both grow.
    wait_for(lambda: prometheus.values(sends) == {"relance-worker": 0.0}, timeout=90)
    t = now_ms()
    produce(stack, [profile("hal", t), CartChange("hal-1", "hal", t + 10, "add", SHOE, 1)])
    wait_for(lambda: prometheus.values(sends) == {"relance-worker": 1.0}, timeout=90)
    ordered = now_ms()
    produce(
        stack, [Order("hal-2", "hal", ordered, "o-5", "placed", (OrderItem(SHOE, 1),), 89.9, "EUR")]
    )
    wait_for(lambda: prometheus.values(conversions) == {"relance-worker": 1.0}, timeout=60)

    def by_scenario(expr: str) -> dict[tuple[str, ...], float]:
        answer = prometheus.api("query", query=expr)["result"]
        return {
            tuple(r["metric"].get(k, "") for k in ("scenario", "variant", "currency")): float(
                r["value"][1]
            )
            for r in answer
        }

    rate, holdout = panel_queries("Conversion rate by scenario and variant")
    assert by_scenario(rate) == {("cart_abandonment", "none", ""): pytest.approx(1.0)}
    assert by_scenario(holdout) == {}  # no holdout in this file
    # A revenue series starts at its first order's total (its currency was not known
    # before): Prometheus sees it grow from the second order on (docs/attribution.md).
    produce(
        stack,
        [Order("hal-3", "hal", now_ms(), "o-6", "placed", (OrderItem(SHOE, 2),), 179.8, "EUR")],
    )
    (per_send, _) = panel_queries("Revenue per send")
    wait_for(lambda: by_scenario(per_send), timeout=60)
    # increase() extrapolates a series that starts above 0: the value is only near 179.8.
    ((labels, revenue),) = by_scenario(per_send).items()
    assert labels == ("cart_abandonment", "none", "EUR") and revenue > 0
