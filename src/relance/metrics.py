"""Prometheus metrics, built once from an injected registry and passed to who counts.

Labels are bounded (topic, reason, scenario, channel, outcome, result, and the one version of
``relance_build_info``): never a contact or command id, which would grow a series per shopper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from relance import __version__

# From a deadline to its command: normally sub-second, hours when the worker was behind.
DEADLINE_LAG_BUCKETS: Final = (
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    1800.0,
    3600.0,
    3 * 3600.0,
    6 * 3600.0,
    24 * 3600.0,
)
# From a command to its delivery: a provider call, or retries over minutes.
DELIVERY_BUCKETS: Final = (
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
)


@dataclass(frozen=True, slots=True)
class ConversionMetrics:
    """What marketing brought in (``core.attribution``), against its holdouts: labels are
    scenario and variant names (from the scenario file) and currencies (three letters, any
    other code counted as ``other``). Held-out decisions are ``relance_suppressions_total``
    with reason ``holdout``."""

    sends: Counter
    conversions: Counter
    revenue: Counter
    holdout_conversions: Counter
    holdout_revenue: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry, prefix: str = "relance") -> ConversionMetrics:
        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(f"{prefix}_{name}", doc, labels, registry=registry)

        return cls(
            sends=counter(
                "sends",
                "Marketing messages decided, by scenario and experiment "
                "variant (none: no experiment).",
                "scenario",
                "variant",
            ),
            conversions=counter(
                "conversions", "Orders attributed to a marketing message.", "scenario", "variant"
            ),
            revenue=counter(
                "revenue",
                "The totals of the orders attributed to a marketing message.",
                "scenario",
                "variant",
                "currency",
            ),
            holdout_conversions=counter(
                "holdout_conversions",
                "Orders of contacts held out of a scenario, within its window.",
                "scenario",
            ),
            holdout_revenue=counter(
                "holdout_revenue", "The totals of the holdout conversions.", "scenario", "currency"
            ),
        )


# The process counters: (name, help, labels), each ``relance_<name>_total``.
_COUNTERS: Final[tuple[tuple[str, str, tuple[str, ...]], ...]] = (
    ("events_consumed", "Events read, by topic.", ("topic",)),
    (
        "events_applied",
        "Events applied to contact states (read ones wait while an older one may still come).",
        (),
    ),
    (
        "duplicate_events",
        "Events a contact already had (the same event id), skipped, by topic.",
        ("topic",),
    ),
    ("events_rejected", "Messages dead-lettered, by reason.", ("topic", "reason")),
    (
        "source_events",
        "Events of source topics by outcome: relayed, not_used, unknown, anonymous;"
        " of the identity topic: buffered, dropped, mapped, linked, released, "
        "expired.",
        ("topic", "outcome"),
    ),
    ("commands_decided", "Send commands decided.", ("scenario",)),
    ("suppressions", "Candidates stopped by contact policy.", ("scenario", "reason")),
    ("deferrals", "Candidates contact policy planned again for later.", ("scenario", "reason")),
    (
        "deliveries",
        "Commands the sender is done with, by final outcome (a temporary failure is "
        "not one: it is retried).",
        ("channel", "outcome"),
    ),
    (
        "delivery_attempts",
        "Attempts at a provider, by result: delivered, temporary_failure, permanent_failure.",
        ("channel", "result"),
    ),
)


# The process gauges: (field, name, help, labels), each ``relance_<name>``.
_GAUGES: Final[tuple[tuple[str, str, str, tuple[str, ...]], ...]] = (
    ("deadlines_pending", "deadlines_pending", "Deadlines armed and not yet due.", ()),
    (
        "anonymous_visitors",
        "anonymous_visitors",
        "Anonymous visitors the identity stage keeps.",
        (),
    ),
    (
        "consumer_lag",
        "consumer_lag",
        "Messages behind the end of each consumed topic, over this process's partitions.",
        ("topic",),
    ),
    (
        "ready",
        "ready",
        "1 when /readyz passes: in the group, state recovered, broker reachable.",
        (),
    ),
    ("partitions_assigned", "partitions_assigned", "Partitions this process is assigned.", ()),
    (
        "state_recovery",
        "state_recovery_seconds",
        "How long the latest restore of contact states from the changelog took.",
        (),
    ),
    (
        "oldest_undelivered",
        "oldest_undelivered_seconds",
        "Age (from its decision) of the "
        "command the sender keeps retrying, the oldest undelivered one; 0 when none.",
        ("channel",),
    ),
)


@dataclass(frozen=True, slots=True)
class Metrics:
    events_consumed: Counter
    events_applied: Counter
    duplicate_events: Counter
    events_rejected: Counter
    source_events: Counter
    commands_decided: Counter
    suppressions: Counter
    deferrals: Counter
    deliveries: Counter
    delivery_attempts: Counter
    deadline_to_command: Histogram
    command_to_delivery: Histogram
    deadlines_pending: Gauge
    anonymous_visitors: Gauge
    consumer_lag: Gauge
    ready: Gauge
    partitions_assigned: Gauge
    state_recovery: Gauge
    oldest_undelivered: Gauge
    build_info: Gauge
    conversions: ConversionMetrics

    @classmethod
    def create(
        cls, registry: CollectorRegistry, prefix: str = "relance", version: str = __version__
    ) -> Metrics:
        counters: dict[str, Any] = {  # the fields named as the counters
            name: Counter(f"{prefix}_{name}", doc, labels, registry=registry)
            for name, doc, labels in _COUNTERS
        }
        gauges: dict[str, Any] = {
            field: Gauge(f"{prefix}_{name}", doc, labels, registry=registry)
            for field, name, doc, labels in _GAUGES
        }
        build_info = Gauge(
            f"{prefix}_build_info",
            "1, labelled with the version of relance this process runs.",
            ["version"],
            registry=registry,
        )
        build_info.labels(version).set(1)
        return cls(
            **counters,
            **gauges,
            deadline_to_command=Histogram(
                f"{prefix}_deadline_to_command_seconds",
                "From a scenario's deadline to the command decided for it.",
                ["scenario"],
                buckets=DEADLINE_LAG_BUCKETS,
                registry=registry,
            ),
            command_to_delivery=Histogram(
                f"{prefix}_command_to_delivery_seconds",
                "From a command's decision to its delivery outcome.",
                ["channel"],
                buckets=DELIVERY_BUCKETS,
                registry=registry,
            ),
            build_info=build_info,
            conversions=ConversionMetrics.create(registry, prefix),
        )


# From a gateway's write to the broker's acknowledgement: milliseconds, seconds in trouble.
WRITE_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class GatewayMetrics:
    """The gateway's (``relance gateway``): labels are its routes, outcomes, kinds and
    scopes, each a short fixed list."""

    requests: Counter
    events_written: Counter
    write_latency: Histogram
    ready: Gauge
    webhook_requests: Counter
    webhook_events: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry, prefix: str = "relance") -> GatewayMetrics:
        return cls(
            requests=Counter(
                f"{prefix}_gateway_requests",
                "Link requests answered, by route "
                "(unsubscribe, preferences, click) and outcome (page, written, "
                "repeated, redirected, invalid, expired, bad_request, "
                "unavailable).",
                ["route", "outcome"],
                registry=registry,
            ),
            events_written=Counter(
                f"{prefix}_gateway_events_written",
                "Engagement events "
                "acknowledged by the broker (links' and webhooks'), by "
                "kind and scope.",
                ["kind", "scope"],
                registry=registry,
            ),
            write_latency=Histogram(
                f"{prefix}_gateway_write_seconds",
                "From an engagement event's write to its acknowledgement.",
                buckets=WRITE_BUCKETS,
                registry=registry,
            ),
            ready=Gauge(
                f"{prefix}_ready",
                "1 when /readyz passes: in the group, state recovered, broker reachable.",
                registry=registry,
            ),
            webhook_requests=Counter(
                f"{prefix}_gateway_webhook_requests",
                "ESP webhook "
                "requests answered, by esp (postmark, sendgrid) and "
                "outcome (written, unauthorized, malformed, "
                "unavailable).",
                ["esp", "outcome"],
                registry=registry,
            ),
            webhook_events=Counter(
                f"{prefix}_gateway_webhook_events",
                "Events of ESP "
                "webhooks, by esp and outcome (written, repeated, "
                "not_engagement, soft_bounce, machine_open, no_contact, "
                "malformed).",
                ["esp", "outcome"],
                registry=registry,
            ),
        )
