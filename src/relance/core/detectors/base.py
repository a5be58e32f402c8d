"""What a scenario kind is: one detector, a few named hooks.

A detector, like a stateful stream operator, is one object with named hooks:

- the events it reacts to are the hooks it defines (``on_view``, ``on_cart``, ``on_order``,
  ``on_contact``); each folds its event into the detector's part of the contact's state
  (a ``Fold``) and starts, moves or cancels its kind's journeys;
- ``candidate``: the message a step of its journey raises when it falls due (``None``:
  nothing to send), and ``following``: the journey's next step;
- what happens after a step, for the kinds concerned: ``fired`` (a digest forgets what it
  held), ``ended`` (category counts start again), ``tidy`` (views are kept while a journey
  that shows them runs);
- catalog hooks for the kinds a product update answers (``follows``, ``concerns``,
  ``on_catalog``: back in stock, price drop);
- ``keys``: the kind's own configuration keys, with their defaults.

``registry`` lists the kinds; a ``Config`` precomputes, per event type, the hooks of the
kinds it configures with their scenarios, so an event costs only the kinds in use.
Detectors read no clock and do no I/O: time comes in with the events and as ``now``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Final

import msgspec

from relance.core.catalog import Catalog
from relance.core.commands import Candidate
from relance.core.detectors.keys import Key
from relance.core.events import (
    CartChange,
    CatalogUpdate,
    ContactProfile,
    Event,
    Order,
    PageView,
)
from relance.core.journeys import next_step
from relance.core.scenario import Scenario
from relance.core.state import Browse, Cart, ContactState, Journey, Profile

if TYPE_CHECKING:  # the configuration sits above the detectors: it lists them
    from relance.core.scenarios import Config

Scenarios = tuple[Scenario, ...]
Journeys = tuple[Journey, ...]


class Fold(msgspec.Struct, gc=False):
    """A contact's state while one event is folded in: hooks read and replace its parts,
    and ``contact.on_event`` builds the new (immutable) state from them once, at the end.
    Unlike that state it is mutable: it lives for one event, and holds no cycle."""

    before: ContactState  # as it was before the event
    profile: Profile  # already updated, for a profile event
    cart: Cart
    browse: Browse
    journeys: Journeys
    watching: tuple[tuple[str, int], ...]
    categories: tuple[tuple[str, int, int], ...]
    interests: tuple[tuple[str, float, int], ...]
    config: Config
    catalog: Catalog
    # Set by a kind whose messages show the viewed products (category abandonment), for
    # the browse part to record this view even with no browse scenario.
    views_wanted: bool = False


class Detector:
    """The base of every detector: hooks a kind does not define do nothing. (The event
    hooks take their arguments by position: one method may serve several.)"""

    # The kinds it implements: usually one; order notifications and cross-sell share
    # their journeys (and the bound on them).
    kinds: ClassVar[tuple[str, ...]] = ()
    # The event types that start its journeys: what a scenario's ``when`` filters.
    triggers: ClassVar[frozenset[str]] = frozenset()
    keys: ClassVar[tuple[Key, ...]] = ()
    # Runs even with no scenario of its kinds: it keeps a part other kinds read (the cart
    # whether one is open, the time a cart add or an order disarmed browsing).
    always: ClassVar[bool] = False
    # Sent on dates at a local time (``send_at``): no delay, and a quiet period holds back
    # one date's message, not the dates after it.
    dated: ClassVar[bool] = False
    # Its messages show the viewed products: they are kept while one of its journeys runs.
    shows_views: ClassVar[bool] = False
    # Why its messages never wait for a digest, if they do not ("reminder is about one
    # visit").
    undigested: ClassVar[str | None] = None
    # Why a file cannot name the kind, if it cannot (relance makes the digests itself).
    not_configured: ClassVar[str | None] = None
    # The ContactState field of (product id, ...) entries a catalog update may answer.
    follows: ClassVar[str | None] = None
    # The family its marketing scenarios are in unless the file says (``events.FAMILIES``):
    # "reminders" for the kinds that remind a contact of what they did.
    family: ClassVar[str] = "recommendations"

    def on_view(self, fold: Fold, view: PageView, scenarios: Scenarios, /) -> None:
        """Fold a page view in."""

    def on_cart(self, fold: Fold, change: CartChange, scenarios: Scenarios, /) -> None:
        """Fold a cart change in."""

    def on_order(self, fold: Fold, order: Order, scenarios: Scenarios, /) -> None:
        """Fold an order in."""

    def on_contact(self, fold: Fold, profile: ContactProfile, scenarios: Scenarios, /) -> None:
        """Fold a profile in (``fold.profile`` is the updated one)."""

    def candidate(
        self, state: ContactState, journey: Journey, scenario: Scenario, catalog: Catalog
    ) -> Candidate | None:
        raise NotImplementedError(f"{type(self).__name__} raises no candidate")

    def following(
        self, state: ContactState, journey: Journey, scenario: Scenario
    ) -> Journey | None:
        """The journey's next step after ``journey``'s, or ``None``: it ends."""
        return next_step(journey, scenario)

    def fired(self, state: ContactState, journey: Journey) -> ContactState:
        """A step of its journey fell due and its candidate was taken."""
        return state

    def ended(self, state: ContactState, journey: Journey) -> ContactState:
        """Its journey ended (sent, suppressed or withdrawn, with no next step)."""
        return state

    def tidy(self, state: ContactState, config: Config) -> ContactState:
        """After any step of the contact, whatever its kind."""
        return state

    def relates(self, scenario: Scenario) -> bool:
        """Whether the scenario's messages offer related products (learnt from orders)."""
        return False

    def concerns(self, update: CatalogUpdate) -> bool:
        """Whether a catalog update may answer the contacts that follow its product."""
        return False

    def on_catalog(
        self, state: ContactState, update: CatalogUpdate, scenarios: Scenarios
    ) -> ContactState:
        """Answer a catalog update for a contact that follows its product."""
        return state


# Per event class, the hook that folds it in. Engagements reach no detector: they change
# the profile (consent, opens and clicks), which decisions read.
HOOKS: Final[dict[type[Event], str]] = {
    PageView: "on_view",
    CartChange: "on_cart",
    Order: "on_order",
    ContactProfile: "on_contact",
}


def defines(detector: Detector, hook: str) -> bool:
    """Whether the detector has a ``hook`` of its own (the base's does nothing): a
    ``Config`` calls only those, as a call costs more than the check."""
    own: Any = getattr(type(detector), hook)
    return own is not getattr(Detector, hook)
