"""Metrics: built from the registry they are given, named by convention, labels bounded."""

from __future__ import annotations

from dataclasses import fields

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from relance.metrics import ConversionMetrics, Metrics

# "version" is relance_build_info's: one value per process.
# variant: from the scenario file; currency: three letters or "other" (wiring.MetricsObserver).
BOUNDED_LABELS = {
    "topic",
    "reason",
    "scenario",
    "channel",
    "outcome",
    "result",
    "le",
    "version",
    "variant",
    "currency",
}


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> Metrics:
    return Metrics.create(registry)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_counters_move(registry: CollectorRegistry, metrics: Metrics) -> None:
    metrics.events_consumed.labels(topic="page-views").inc()
    metrics.events_consumed.labels(topic="page-views").inc()
    metrics.events_rejected.labels(topic="carts", reason="not_avro").inc()
    metrics.commands_decided.labels(scenario="cart_abandonment").inc()
    metrics.suppressions.labels(scenario="cart_abandonment", reason="quiet_period").inc()
    metrics.deliveries.labels(channel="email", outcome="delivered").inc()
    metrics.delivery_attempts.labels(channel="email", result="temporary_failure").inc()
    assert value(registry, "relance_events_consumed_total", topic="page-views") == 2
    assert value(registry, "relance_events_rejected_total", topic="carts", reason="not_avro") == 1
    assert value(registry, "relance_commands_decided_total", scenario="cart_abandonment") == 1
    assert (
        value(
            registry,
            "relance_suppressions_total",
            scenario="cart_abandonment",
            reason="quiet_period",
        )
        == 1
    )
    assert value(registry, "relance_deliveries_total", channel="email", outcome="delivered") == 1
    assert (
        value(
            registry, "relance_delivery_attempts_total", channel="email", result="temporary_failure"
        )
        == 1
    )


def test_histograms_and_gauge(registry: CollectorRegistry, metrics: Metrics) -> None:
    metrics.deadline_to_command.labels(scenario="browse_abandonment").observe(0.2)
    metrics.deadline_to_command.labels(scenario="browse_abandonment").observe(7200)
    metrics.command_to_delivery.labels(channel="email").observe(1.5)
    metrics.deadlines_pending.set(12)
    name = "relance_deadline_to_command_seconds"
    assert value(registry, f"{name}_count", scenario="browse_abandonment") == 2
    assert value(registry, f"{name}_bucket", scenario="browse_abandonment", le="0.25") == 1
    assert value(registry, f"{name}_bucket", scenario="browse_abandonment", le="10800.0") == 2
    assert value(registry, "relance_command_to_delivery_seconds_sum", channel="email") == 1.5
    assert value(registry, "relance_deadlines_pending") == 12


def test_each_registry_is_its_own(registry: CollectorRegistry, metrics: Metrics) -> None:
    metrics.events_consumed.labels(topic="orders").inc()
    other = CollectorRegistry()
    Metrics.create(other)
    assert value(other, "relance_events_consumed_total", topic="orders") is None
    with pytest.raises(ValueError, match="Duplicated"):
        Metrics.create(registry)


def test_prefix(registry: CollectorRegistry) -> None:
    Metrics.create(registry, prefix="shop").events_consumed.labels(topic="t").inc()
    assert value(registry, "shop_events_consumed_total", topic="t") == 1


def test_names_follow_conventions_and_no_label_can_carry_a_contact(
    registry: CollectorRegistry, metrics: Metrics
) -> None:
    text = generate_latest(registry).decode()
    types = dict(line.split()[2:4] for line in text.splitlines() if line.startswith("# TYPE"))
    counters = {name for name, kind in types.items() if kind == "counter"}
    histograms = {name for name, kind in types.items() if kind == "histogram"}
    assert counters == {
        "relance_events_consumed_total",
        "relance_events_rejected_total",
        "relance_commands_decided_total",
        "relance_suppressions_total",
        "relance_deliveries_total",
        "relance_deferrals_total",
        "relance_events_applied_total",
        "relance_delivery_attempts_total",
        "relance_duplicate_events_total",
        "relance_sends_total",
        "relance_conversions_total",
        "relance_revenue_total",
        "relance_holdout_conversions_total",
        "relance_holdout_revenue_total",
        "relance_source_events_total",
    }
    assert histograms == {
        "relance_deadline_to_command_seconds",
        "relance_command_to_delivery_seconds",
    }
    assert types["relance_deadlines_pending"] == "gauge"
    assert types["relance_anonymous_visitors"] == "gauge"
    assert types["relance_oldest_undelivered_seconds"] == "gauge"
    assert types["relance_build_info"] == "gauge"
    families = [getattr(metrics, field.name) for field in fields(metrics)]
    families += [getattr(metrics.conversions, field.name) for field in fields(ConversionMetrics)]
    declared = {
        label
        for family in families
        if not isinstance(family, ConversionMetrics)
        for label in family._labelnames
    }
    assert declared <= BOUNDED_LABELS
    assert not any("contact" in label or label.endswith("_id") for label in declared)


def test_the_observer_counts_sends_conversions_and_revenue_by_variant_and_holdout(
    registry: CollectorRegistry, metrics: Metrics
) -> None:
    from relance.core.commands import Attribution, Recipient, SendCommand
    from relance.wiring import MetricsObserver

    observer = MetricsObserver(metrics)
    recipient = Recipient("a@example.com", None, None)
    for variant, marketing in ((None, True), ("soon", True), (None, False)):
        observer.decided(
            SendCommand(
                "id",
                "c1",
                "cart_abandonment",
                1,
                "email",
                "t",
                1,
                0,
                recipient,
                {},
                variant,
                marketing=marketing,
            ),
            0,
        )

    def credit(variant: str | None, holdout: bool, revenue: float, currency: str) -> None:
        observer.decided(
            Attribution(
                "id",
                "c1",
                "cart_abandonment",
                1,
                variant,
                holdout,
                "sent",
                "o-1",
                revenue,
                currency,
                0,
            ),
            0,
        )

    credit(None, False, 10.0, "EUR")
    credit("soon", False, 2.5, "EUR")
    credit("soon", False, 1.0, "a currency of its own")
    credit(None, True, 7.0, "EUR")
    sends = "relance_sends_total"
    assert value(registry, sends, scenario="cart_abandonment", variant="none") == 1
    assert value(registry, sends, scenario="cart_abandonment", variant="soon") == 1
    assert (
        value(registry, "relance_conversions_total", scenario="cart_abandonment", variant="soon")
        == 2
    )
    assert (
        value(
            registry,
            "relance_revenue_total",
            scenario="cart_abandonment",
            variant="none",
            currency="EUR",
        )
        == 10.0
    )
    assert (
        value(
            registry,
            "relance_revenue_total",
            scenario="cart_abandonment",
            variant="soon",
            currency="other",
        )
        == 1.0
    )
    assert value(registry, "relance_holdout_conversions_total", scenario="cart_abandonment") == 1
    assert (
        value(
            registry, "relance_holdout_revenue_total", scenario="cart_abandonment", currency="EUR"
        )
        == 7.0
    )


def test_the_worker_starts_the_conversion_series_of_its_marketing_scenarios_at_zero(
    registry: CollectorRegistry, metrics: Metrics
) -> None:
    from relance.scenario_file import load_config
    from relance.wiring import MetricsObserver

    MetricsObserver(metrics).expect(
        load_config("""\
scenarios:
  cart_abandonment: {experiment: {holdout: 10%, variants: {a: {weight: 1}, b: {weight: 1}}}}
  browse_abandonment: {}
  order_confirmation: {}
""")
    )
    for scenario, variant in (
        ("cart_abandonment", "a"),
        ("cart_abandonment", "b"),
        ("browse_abandonment", "none"),
    ):
        for name in ("relance_sends_total", "relance_conversions_total"):
            assert value(registry, name, scenario=scenario, variant=variant) == 0
    assert value(registry, "relance_holdout_conversions_total", scenario="cart_abandonment") == 0
    assert (
        value(registry, "relance_suppressions_total", scenario="cart_abandonment", reason="holdout")
        == 0
    )
    assert (
        value(registry, "relance_holdout_conversions_total", scenario="browse_abandonment") is None
    )
    text = generate_latest(registry).decode()
    assert 'scenario="order_confirmation"' not in text  # transactional: no conversions
