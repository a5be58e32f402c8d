"""Scenarios: what relance answers, when, through which channel, in which order.

A scenario has a *kind*, the behaviour that triggers it and the events that end it (carts
left open, products viewed and left, an order changing status); its configuration says how
long to wait, how many messages to send (``steps``, each counted from the trigger) and how.
Several scenarios may share a kind (an email and a later second reminder, two order
notifications), so adding one is configuration, not code. ``scenario_file`` reads them from
YAML; the catalogue below holds every built-in scenario with its defaults.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

from relance.core.conditions import Condition, matches
from relance.core.events import CHANNELS as CHANNELS  # re-exported: the scenario file's reader
from relance.core.events import Channel
from relance.core.experiments import Experiment
from relance.core.timestamps import DAY_MS, HOUR_MS, MINUTE_MS

Kind = Literal["cart_abandonment", "browse_abandonment", "category_abandonment",
               "search_abandonment", "order_status", "birthday", "reactivation",
               "back_in_stock", "subscription_expiry", "welcome", "price_drop", "cross_sell",
               "digest"]
KINDS: Final = frozenset(Kind.__args__)  # type: ignore[attr-defined]
# The event types that start each kind: what a scenario's ``when`` conditions look at.
TRIGGERS: Final[dict[str, frozenset[str]]] = {
    "cart_abandonment": frozenset({"cart"}), "browse_abandonment": frozenset({"page_view"}),
    "category_abandonment": frozenset({"page_view"}),
    "search_abandonment": frozenset({"page_view"}), "back_in_stock": frozenset({"page_view"}),
    "price_drop": frozenset({"page_view", "cart"}), "order_status": frozenset({"order"}),
    "cross_sell": frozenset({"order"}), "welcome": frozenset({"contact"}),
    "birthday": frozenset({"contact"}), "subscription_expiry": frozenset({"contact"}),
    "reactivation": frozenset({"page_view", "cart", "order"}), "digest": frozenset(),
}


@dataclass(frozen=True, slots=True)
class Step:
    """One message of a scenario: sent ``delay_ms`` after the trigger, with its template."""

    delay_ms: int
    template: str


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    kind: Kind
    steps: tuple[Step, ...]
    quiet_period_ms: int
    priority: int
    channel: Channel
    # Transactional messages answer something the contact did (an order): they need no
    # marketing consent and no quiet period holds them back.
    transactional: bool = False
    # What a contact leaves with one click on the preference page (one of ``FAMILIES``,
    # ``transactional`` for a transactional scenario, which no unsubscribe stops); empty:
    # its kind's (``default_family``).
    family: str = ""
    # Never send once the interest that triggered the scenario is older than this.
    stale_after_ms: int | None = None
    # order_status and cross_sell scenarios: the order statuses that trigger them.
    statuses: frozenset[str] = frozenset()
    # order_status scenarios: add products bought with the order's (a cross-sell block).
    cross_sell: bool = False
    # "daily" or "weekly": messages wait and go out combined in one digest per period.
    digest: str | None = None
    # What a candidate that loses arbitration does: "drop" it, or "defer" it past the winner.
    on_hold: str = "drop"
    experiment: Experiment | None = None
    # Conditions on the triggering event (see ``conditions``); none: every trigger counts.
    when: tuple[Condition, ...] = ()
    # Events that end the scenario besides its kind's own exits: each a set of conditions
    # on the event's record (its ``type`` included).
    exit_when: tuple[tuple[Condition, ...], ...] = ()
    # birthday and subscription_expiry scenarios: the local time of day they are sent at,
    # minutes after midnight.
    send_at_minute: int = 9 * 60
    # subscription_expiry scenarios: the days before the last day that each have a message.
    days_before: tuple[int, ...] = (3, 0)
    # price_drop scenarios: how much lower than the price seen a new price must be.
    min_drop_percent: int = 10
    # welcome scenarios: how long after the start an order takes the ordered branch.
    window_ms: int = 14 * 24 * 60 * 60 * 1000
    # category_abandonment scenarios: product views in one category that arm it.
    min_views: int = 3
    # Whether its messages are marketing (an unsubscribe link and List-Unsubscribe headers);
    # None: those of a scenario that is not transactional. A digest skips contact policy
    # like a transactional scenario, yet is marketing when one of its members is.
    marketing: bool | None = None

    @property
    def is_marketing(self) -> bool:
        return not self.transactional if self.marketing is None else self.marketing

    def __post_init__(self) -> None:
        if not self.family:
            object.__setattr__(self, "family", default_family(self.kind, self.transactional,
                                                              self.digest))

    @property
    def delay_ms(self) -> int:
        return self.steps[0].delay_ms

    @property
    def template(self) -> str:
        return self.steps[0].template


@dataclass(frozen=True)
class Policy:
    """Contact policy across scenarios (the file's ``policy`` section)."""

    # Marketing candidates of one contact due within this window of each other: only the
    # highest priority goes (0: no arbitration).
    arbitration_window_ms: int = 0
    # Per channel: at most so many marketing messages a local day and an ISO week.
    caps: Mapping[str, tuple[int | None, int | None]] = field(default_factory=dict)
    # Per channel: local (start, end) minutes when no marketing message goes out.
    quiet_hours: Mapping[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class InputSource:
    """A topic of another tracking's events (the file's ``inputs.sources``) and how it is
    read: ``relance.tracking`` maps each of its events, by ``format``, to canonical ones.

    Plain data to the core, which never reads a source: it is here so that ``relance
    simulate`` and the worker, sharing the scenario file, read a source alike.
    """

    name: str  # the topic (``relance simulate --source`` names it too)
    format: str  # canonical, segment, ga4, shopify or mapping
    options: tuple[tuple[str, str], ...] = ()  # the format's own, e.g. ("currency", "EUR")
    mapping: object = None  # format mapping: the mapping file as read (relance.tracking)

    def option(self, name: str, default: str) -> str:
        return next((value for key, value in self.options if key == name), default)


@dataclass(frozen=True)
class InputRules:
    """What the core accepts of inbound events (the file's ``inputs`` section).

    They change decisions, so they live in the scenario file that ``relance simulate`` and
    the worker share, not in process settings: both paths refuse and skip the same events.
    Sizes are UTF-8 bytes: what a field costs in the stored state and on Kafka, whatever its
    script. With these defaults the largest state a contact can reach stays under 1 MB, the
    broker's default record limit (see ``tests/unit/test_state_bounds.py``).
    """

    # Most bytes of one encoded event; a larger one is refused as ``too_large``.
    max_event_bytes: int = 64 * 1024
    # Most bytes of one string field, by kind: ids (event, contact, product, order, cart,
    # category and command ids, and the short codes currency and locale), product names,
    # URLs (url, image_url), search queries.
    max_id_bytes: int = 256
    max_name_bytes: int = 512
    max_url_bytes: int = 2048
    max_query_bytes: int = 512
    # Most lines a cart keeps; a new line in a full cart pushes out the oldest one.
    cart_lines: int = 50
    # An event id applied to a contact within this window (event time) is a duplicate.
    dedupe_window_ms: int = 24 * HOUR_MS
    # A profile's ``attributes``: most entries, and most bytes of one key or one value.
    # (Its ``first_name`` is a name: ``max_name_bytes``.)
    max_attributes: int = 20
    max_attribute_bytes: int = 256
    # Topics of other trackings' events, read through an adapter each (``relance.tracking``).
    sources: tuple[InputSource, ...] = ()
    # Anonymous visitors of the sources (``relance.tracking.identity``): once identified,
    # their events of this window before count for the contact (0: they are skipped); an
    # anonymous id keeps at most so many events, and is forgotten a window after it was seen.
    anonymous_window_ms: int = 0
    anonymous_max_events: int = 20
    # Derived, for the decoders (``codec.limits``): per kind, the characters up to which a
    # field cannot be over its limit (a character is at most 4 bytes); the smallest limit,
    # and the smallest but the ids'.
    screen: tuple[int, int, int, int] = field(init=False, repr=False, compare=False)
    smallest_field_bytes: int = field(init=False, repr=False, compare=False)
    smallest_other_bytes: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        others = (self.max_name_bytes, self.max_url_bytes, self.max_query_bytes)
        object.__setattr__(self, "screen", tuple(limit // 4 for limit in (
            self.max_id_bytes, *others)))
        object.__setattr__(self, "smallest_field_bytes", min(self.max_id_bytes, *others))
        object.__setattr__(self, "smallest_other_bytes", min(others))


@dataclass(frozen=True, slots=True)
class Config:
    scenarios: tuple[Scenario, ...]
    policy: Policy = Policy()
    inputs: InputRules = InputRules()
    _by_name: dict[str, Scenario] = field(init=False, repr=False, compare=False)
    # Looked up once per event: plain attributes rather than a method call.
    by_kind: dict[Kind, tuple[Scenario, ...]] = field(init=False, repr=False, compare=False)
    conditional: bool = field(init=False, repr=False, compare=False)
    timed_variants: bool = field(init=False, repr=False, compare=False)
    browsing: frozenset[str] = field(init=False, repr=False, compare=False)
    # Whether a message offers related products (learnt from every order), or none does.
    relates: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_kind = {kind: tuple(s for s in self.scenarios if s.kind == kind) for kind in KINDS}
        object.__setattr__(self, "_by_name", {s.name: s for s in self.scenarios})
        object.__setattr__(self, "by_kind", by_kind)
        object.__setattr__(self, "conditional",
                           any(s.when or s.exit_when for s in self.scenarios))
        object.__setattr__(self, "timed_variants", any(
            s.experiment and any(v.delay_ms is not None for v in s.experiment.variants)
            for s in self.scenarios))
        # Scenarios whose messages show the viewed products: those are kept while one runs.
        object.__setattr__(self, "browsing", frozenset(
            s.name for s in (*by_kind["browse_abandonment"], *by_kind["category_abandonment"])))
        object.__setattr__(self, "relates", any(
            s.kind in ("cross_sell", "welcome") or s.cross_sell for s in self.scenarios))

    def enabled(self) -> Iterator[Scenario]:
        yield from self.scenarios

    def get(self, name: str) -> Scenario | None:
        return self._by_name.get(name)

    def of_kind(self, kind: Kind) -> tuple[Scenario, ...]:
        return self.by_kind[kind]

    def triggered_by(self, event_type: str, record: Mapping[str, Any]
                     ) -> dict[Kind, tuple[Scenario, ...]]:
        """``by_kind`` without the scenarios whose ``when`` an event of ``event_type`` (as
        ``record``) does not meet; kinds it does not trigger are left whole."""
        return {kind: tuple(s for s in scenarios if not s.when or matches(s.when, record))
                if event_type in TRIGGERS[kind] else scenarios
                for kind, scenarios in self.by_kind.items()}

    def with_delays(self, delay_ms: int) -> Config:
        """Every step ``delay_ms`` after the previous one (the demo's short delays)."""
        return Config(tuple(
            replace(s, steps=tuple(replace(step, delay_ms=delay_ms * (n + 1) if step.delay_ms
                                           else 0) for n, step in enumerate(s.steps)))
            for s in self.scenarios), self.policy, self.inputs)


# The kinds whose messages remind a contact of what they did; the others recommend.
REMINDERS: Final = frozenset({"cart_abandonment", "browse_abandonment", "category_abandonment",
                              "search_abandonment", "back_in_stock", "price_drop",
                              "subscription_expiry"})


def default_family(kind: str, transactional: bool, digest: str | None) -> str:
    """A scenario's family unless its file says: a scenario sent in a digest is a digest's."""
    if digest is not None or kind == "digest":
        return "digests"
    if transactional:
        return "transactional"
    return "reminders" if kind in REMINDERS else "recommendations"


def _one_step(delay_ms: int, template: str) -> tuple[Step, ...]:
    return (Step(delay_ms, template),)


def _order_update(name: str, status: str, priority: int) -> Scenario:
    return Scenario(name, "order_status", _one_step(0, name), 0, priority, "email",
                    transactional=True, statuses=frozenset({status}))


CATALOGUE: Final[dict[str, Scenario]] = {s.name: s for s in (
    Scenario("cart_abandonment", "cart_abandonment", _one_step(HOUR_MS, "cart_abandonment"),
             24 * HOUR_MS, 100, "email"),
    Scenario("browse_abandonment", "browse_abandonment",
             _one_step(HOUR_MS, "browse_abandonment"), 24 * HOUR_MS, 50, "email"),
    Scenario("category_abandonment", "category_abandonment",
             _one_step(HOUR_MS, "category_abandonment"), 24 * HOUR_MS, 45, "email"),
    Scenario("search_abandonment", "search_abandonment",
             _one_step(30 * MINUTE_MS, "search_abandonment"), 24 * HOUR_MS, 40, "email"),
    _order_update("order_confirmation", "placed", 1000),
    _order_update("shipping_update", "shipped", 900),
    _order_update("delivery_update", "delivered", 900),
    _order_update("order_cancellation", "cancelled", 1000),
    Scenario("review_request", "order_status", _one_step(14 * DAY_MS, "review_request"),
             0, 40, "email", statuses=frozenset({"delivered"})),
    Scenario("cross_sell", "cross_sell", _one_step(7 * DAY_MS, "cross_sell"), 7 * DAY_MS, 30,
             "email", statuses=frozenset({"delivered"})),
    Scenario("price_drop", "price_drop", _one_step(0, "price_drop"), 7 * DAY_MS, 65, "email",
             stale_after_ms=14 * DAY_MS),
    Scenario("birthday", "birthday", _one_step(0, "birthday"), 0, 60, "email"),
    Scenario("back_in_stock", "back_in_stock", _one_step(0, "back_in_stock"), 0, 70, "email",
             stale_after_ms=30 * DAY_MS),
    Scenario("subscription_expiry", "subscription_expiry",
             _one_step(0, "subscription_expiry"), 0, 80, "email", transactional=True),
    Scenario("welcome", "welcome", (Step(0, "welcome"), Step(DAY_MS, "welcome_ordered"),
                                    Step(25 * DAY_MS, "welcome_reminder")), 0, 90, "email"),
    Scenario("reactivation", "reactivation", _one_step(60 * DAY_MS, "reactivation"),
             30 * DAY_MS, 10, "email"),
)}
# What runs without a configuration file. The rest of the catalogue is off until a file
# lists it; the order notifications above all: most shop platforms already send them, and
# twice is worse than once.
DEFAULT_CONFIG: Final = Config((CATALOGUE["cart_abandonment"], CATALOGUE["browse_abandonment"]))


def digest_scenario(period: str, members: list[Scenario]) -> Scenario:
    """The scenario that sends a period's digest; its members passed contact policy already."""
    return Scenario(f"digest_{period}", "digest", _one_step(0, "digest"), 0,
                    max(s.priority for s in members), "email", transactional=True,
                    marketing=any(not s.transactional for s in members))
