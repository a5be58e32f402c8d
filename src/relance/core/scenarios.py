"""The scenario configuration: every scenario configured, the contact policy, the input
rules, and what the core precomputes of them; and the built-in catalogue.

A scenario (``scenario``) has a kind, which a detector implements (``detectors``).
``scenario_file`` reads configurations from YAML; the catalogue below holds every built-in
scenario with its defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from relance.core.conditions import matches
from relance.core.detectors import registry
from relance.core.detectors.base import HOOKS, Detector, Fold, defines
from relance.core.events import Event

# Re-exported: their home before the detectors, which read them, needed them below here.
from relance.core.scenario import CHANNELS as CHANNELS
from relance.core.scenario import Channel as Channel
from relance.core.scenario import Scenario as Scenario
from relance.core.scenario import Step as Step
from relance.core.timestamps import DAY_MS, HOUR_MS, MINUTE_MS

Scenarios = tuple[Scenario, ...]
# A detector's hook for one event class, with the scenarios it answers for.
Reaction = tuple[Callable[[Fold, Any, Scenarios], None], Scenarios]


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
    # Which message an order is attributed to: "last_touch", "first_touch" or "none".
    attribution: str = "last_touch"
    # The sunset rule: no marketing for a contact sent so many marketing messages, or sent
    # them for so long, without an open or a click since (None: no limit).
    sunset_after_sends: int | None = None
    sunset_after_ms: int | None = None
    sunsets: bool = field(init=False, repr=False, compare=False)  # either is set

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "sunsets", self.sunset_after_sends is not None or self.sunset_after_ms is not None
        )


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
        object.__setattr__(
            self, "screen", tuple(limit // 4 for limit in (self.max_id_bytes, *others))
        )
        object.__setattr__(self, "smallest_field_bytes", min(self.max_id_bytes, *others))
        object.__setattr__(self, "smallest_other_bytes", min(others))


@dataclass(frozen=True, slots=True)
class Config:
    scenarios: tuple[Scenario, ...]
    policy: Policy = Policy()
    inputs: InputRules = InputRules()
    _by_name: dict[str, Scenario] = field(init=False, repr=False, compare=False)
    # Looked up once per event: plain attributes rather than a method call.
    conditional: bool = field(init=False, repr=False, compare=False)
    timed_variants: bool = field(init=False, repr=False, compare=False)
    # Per event class, the hooks of the kinds configured (or always run) that react to it,
    # in the registry's order, each with the scenarios of its kinds.
    reactions: dict[type[Event], tuple[Reaction, ...]] = field(
        init=False, repr=False, compare=False
    )
    # The same with, for each, whether the scenarios' ``when`` filters them (the event
    # class triggers the kind and a scenario has conditions).
    _screened: dict[type[Event], tuple[tuple[Reaction, bool], ...]] = field(
        init=False, repr=False, compare=False
    )
    # Kind -> detector, for every kind configured.
    detectors: dict[str, Detector] = field(init=False, repr=False, compare=False)
    # The kinds a catalog update may answer (back in stock, price drop), with their
    # scenarios; what runs after every step of a contact (``Detector.tidy``); the kinds
    # with ``Detector.fired`` and ``ended`` hooks.
    answering: tuple[tuple[Detector, Scenarios], ...] = field(init=False, repr=False, compare=False)
    tidying: tuple[Detector, ...] = field(init=False, repr=False, compare=False)
    firing: frozenset[str] = field(init=False, repr=False, compare=False)
    ending: frozenset[str] = field(init=False, repr=False, compare=False)
    # Scenarios whose messages show the viewed products: those are kept while one runs.
    browsing: frozenset[str] = field(init=False, repr=False, compare=False)
    # Whether a message offers related products (learnt from every order), or none does.
    relates: bool = field(init=False, repr=False, compare=False)
    # Whether marketing messages are remembered (``state.Touch``): for attribution, or for
    # a step that depends on engagement; and how long one is of use.
    touching: bool = field(init=False, repr=False, compare=False)
    touch_kept_ms: int = field(init=False, repr=False, compare=False)
    # The scenarios with a step that depends on engagement (``if:``, ``unless:``).
    conditioned: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Refuses a kind no detector implements (``registry.UnknownKindError``)."""
        found = {s.kind: registry.detector_for(s.kind, s.name) for s in self.scenarios}
        groups = [
            (d, tuple(s for kind in d.kinds for s in self.scenarios if s.kind == kind))
            for d in registry.detectors()
        ]
        active = [(d, scenarios) for d, scenarios in groups if scenarios or d.always]
        screened = _screened(active)
        setting = object.__setattr__  # frozen: the derived fields are set once, here
        setting(self, "_by_name", {s.name: s for s in self.scenarios})
        setting(self, "conditional", any(s.when or s.exit_when for s in self.scenarios))
        setting(
            self,
            "timed_variants",
            any(
                s.experiment and any(v.delay_ms is not None for v in s.experiment.variants)
                for s in self.scenarios
            ),
        )
        setting(self, "_screened", screened)
        setting(
            self,
            "reactions",
            {cls: tuple(reaction for reaction, _ in entries) for cls, entries in screened.items()},
        )
        setting(self, "detectors", found)
        setting(
            self,
            "answering",
            tuple((d, scenarios) for d, scenarios in active if d.follows is not None and scenarios),
        )
        setting(self, "tidying", tuple(d for d, _ in active if defines(d, "tidy")))
        setting(self, "firing", frozenset(k for k, d in found.items() if defines(d, "fired")))
        setting(self, "ending", frozenset(k for k, d in found.items() if defines(d, "ended")))
        setting(
            self, "browsing", frozenset(s.name for s in self.scenarios if found[s.kind].shows_views)
        )
        setting(self, "relates", any(found[s.kind].relates(s) for s in self.scenarios))
        conditioned = [s for s in self.scenarios if any(step.engaged for step in s.steps)]
        setting(self, "conditioned", frozenset(s.name for s in conditioned))
        setting(self, "touching", self.policy.attribution != "none" or bool(conditioned))
        setting(self, "touch_kept_ms", _touch_kept_ms(self.scenarios, conditioned))

    def enabled(self) -> Iterator[Scenario]:
        yield from self.scenarios

    def get(self, name: str) -> Scenario | None:
        return self._by_name.get(name)

    def of_kind(self, kind: str) -> tuple[Scenario, ...]:
        return tuple(s for s in self.scenarios if s.kind == kind)

    def triggered(
        self, event_class: type[Event], record: Mapping[str, Any]
    ) -> tuple[Reaction, ...] | None:
        """``reactions`` for an event (as ``record``), without the scenarios whose ``when``
        it does not meet; ``None`` for a class no hook takes."""
        entries = self._screened.get(event_class)
        if entries is None:
            return None
        return tuple(
            (hook, tuple(s for s in scenarios if not s.when or matches(s.when, record)))
            if screened
            else (hook, scenarios)
            for (hook, scenarios), screened in entries
        )

    def with_delays(self, delay_ms: int) -> Config:
        """Every step ``delay_ms`` after the previous one (the demo's short delays)."""
        return Config(
            tuple(
                replace(
                    s,
                    steps=tuple(
                        replace(step, delay_ms=delay_ms * (n + 1) if step.delay_ms else 0)
                        for n, step in enumerate(s.steps)
                    ),
                )
                for s in self.scenarios
            ),
            self.policy,
            self.inputs,
        )


def _screened(
    active: list[tuple[Detector, Scenarios]],
) -> dict[type[Event], tuple[tuple[Reaction, bool], ...]]:
    """Per event class, the hooks of the detectors configured, each with whether its
    scenarios have ``when`` conditions on that event (``Config.triggered`` screens those)."""
    return {
        cls: tuple(
            (
                (getattr(d, HOOKS[cls]), scenarios),
                cls.type in d.triggers and any(s.when for s in scenarios),
            )
            for d, scenarios in active
            if defines(d, HOOKS[cls])
        )
        for cls in HOOKS
    }


def _touch_kept_ms(scenarios: Scenarios, conditioned: list[Scenario]) -> int:
    """How long a contact remembers a message it was sent: the longest attribution window,
    or the longest wait of a step that depends on engagement."""
    return max(
        (
            *(max(s.after_send_ms, s.after_click_ms) for s in scenarios),
            *(s.steps[-1].delay_ms - s.steps[0].delay_ms for s in conditioned),
        ),
        default=0,
    )


def _one_step(delay_ms: int, template: str) -> tuple[Step, ...]:
    return (Step(delay_ms, template),)


def _order_update(name: str, status: str, priority: int) -> Scenario:
    return Scenario(
        name,
        "order_status",
        _one_step(0, name),
        0,
        priority,
        "email",
        transactional=True,
        statuses=frozenset({status}),
    )


CATALOGUE: Final[dict[str, Scenario]] = {
    s.name: s
    for s in (
        Scenario(
            "cart_abandonment",
            "cart_abandonment",
            _one_step(HOUR_MS, "cart_abandonment"),
            24 * HOUR_MS,
            100,
            "email",
        ),
        Scenario(
            "browse_abandonment",
            "browse_abandonment",
            _one_step(HOUR_MS, "browse_abandonment"),
            24 * HOUR_MS,
            50,
            "email",
        ),
        Scenario(
            "category_abandonment",
            "category_abandonment",
            _one_step(HOUR_MS, "category_abandonment"),
            24 * HOUR_MS,
            45,
            "email",
        ),
        Scenario(
            "search_abandonment",
            "search_abandonment",
            _one_step(30 * MINUTE_MS, "search_abandonment"),
            24 * HOUR_MS,
            40,
            "email",
        ),
        _order_update("order_confirmation", "placed", 1000),
        _order_update("shipping_update", "shipped", 900),
        _order_update("delivery_update", "delivered", 900),
        _order_update("order_cancellation", "cancelled", 1000),
        Scenario(
            "review_request",
            "order_status",
            _one_step(14 * DAY_MS, "review_request"),
            0,
            40,
            "email",
            statuses=frozenset({"delivered"}),
        ),
        Scenario(
            "cross_sell",
            "cross_sell",
            _one_step(7 * DAY_MS, "cross_sell"),
            7 * DAY_MS,
            30,
            "email",
            statuses=frozenset({"delivered"}),
        ),
        Scenario(
            "price_drop",
            "price_drop",
            _one_step(0, "price_drop"),
            7 * DAY_MS,
            65,
            "email",
            stale_after_ms=14 * DAY_MS,
        ),
        Scenario("birthday", "birthday", _one_step(0, "birthday"), 0, 60, "email"),
        Scenario(
            "back_in_stock",
            "back_in_stock",
            _one_step(0, "back_in_stock"),
            0,
            70,
            "email",
            stale_after_ms=30 * DAY_MS,
        ),
        Scenario(
            "subscription_expiry",
            "subscription_expiry",
            _one_step(0, "subscription_expiry"),
            0,
            80,
            "email",
            transactional=True,
        ),
        Scenario(
            "welcome",
            "welcome",
            (
                Step(0, "welcome"),
                Step(DAY_MS, "welcome_ordered"),
                Step(25 * DAY_MS, "welcome_reminder"),
            ),
            0,
            90,
            "email",
        ),
        Scenario(
            "reactivation",
            "reactivation",
            _one_step(60 * DAY_MS, "reactivation"),
            30 * DAY_MS,
            10,
            "email",
        ),
    )
}
# What runs without a configuration file. The rest of the catalogue is off until a file
# lists it; the order notifications above all: most shop platforms already send them, and
# twice is worse than once.
DEFAULT_CONFIG: Final = Config((CATALOGUE["cart_abandonment"], CATALOGUE["browse_abandonment"]))


def digest_scenario(period: str, members: list[Scenario]) -> Scenario:
    """The scenario that sends a period's digest; its members passed contact policy already."""
    return Scenario(
        f"digest_{period}",
        "digest",
        _one_step(0, "digest"),
        0,
        max(s.priority for s in members),
        "email",
        transactional=True,
        marketing=any(not s.transactional for s in members),
    )
