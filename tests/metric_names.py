"""What the alert rules and the dashboard may query, and promtool to check them with.

The known names come from the registries the processes build (relance.metrics plus
prometheus_client's ProcessCollector, as in relance.cli; the gateway's), so a renamed metric
fails the deploy tests instead of leaving an alert that never fires or a panel that stays
empty.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, ProcessCollector

from relance.metrics import GatewayMetrics, Metrics

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"

# The series a family exposes. `_created` is left out: prometheus_client can be told not to
# export it, so no query should rely on it.
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("", "_count", "_sum"),
}

# Metric names in PromQL, once string literals ("relance-worker") are taken out.
NAME = re.compile(r"\b(?:relance|process)_[a-zA-Z0-9_]*[a-zA-Z0-9]")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')


@cache
def known_names() -> frozenset[str]:
    """Every series name relance's processes expose (on Linux, for the process_* ones)."""
    registry = CollectorRegistry()
    Metrics.create(registry)
    ProcessCollector(registry=registry)
    gateway = CollectorRegistry()  # its own process: relance_ready is in both
    GatewayMetrics.create(gateway)
    return frozenset(
        family.name + suffix
        for family in (*registry.collect(), *gateway.collect())
        for suffix in SUFFIXES[family.type]
    )


def names_in(expr: str) -> set[str]:
    """The relance_* and process_* metric names an expression reads."""
    return set(NAME.findall(STRING.sub('""', expr)))


def promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Runs promtool; a machine without it fails the test rather than skipping it."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not on PATH: install Prometheus's tools "
            "(Debian/Ubuntu: apt-get install prometheus)",
            pytrace=False,
        )
    return subprocess.run(
        [path, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
