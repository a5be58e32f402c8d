"""One contact's step: apply an event, or fire what is due, and return what was decided.

This is the whole per-contact decision path; the simulator and the live worker both call it.
"""

from __future__ import annotations

import msgspec

from relance.core import events
from relance.core.catalog import Catalog
from relance.core.commands import Candidate, Deferral, Outcome, SendCommand, Suppression, command_id
from relance.core.detectors import activity as activity_detector
from relance.core.detectors import birthday as birthday_detector
from relance.core.detectors import browse as browse_detector
from relance.core.detectors import cart as cart_detector
from relance.core.detectors import category as category_detector
from relance.core.detectors import digest as digest_detector
from relance.core.detectors import orders as order_detector
from relance.core.detectors import price as price_detector
from relance.core.detectors import search as search_detector
from relance.core.detectors import stock as stock_detector
from relance.core.detectors import subscription as subscription_detector
from relance.core.detectors import welcome as welcome_detector
from relance.core.duplicates import fingerprint, known, remember
from relance.core.events import (
    CartChange,
    ContactProfile,
    Engagement,
    Event,
    Order,
    PageView,
    event_to_record,
)
from relance.core.journeys import exit_on, next_step
from relance.core.policy import arbitration
from relance.core.policy.decide import decide
from relance.core.scenarios import Config, Scenario
from relance.core.state import ContactState, Journey

_NO_CATALOG = Catalog()  # read only: an empty catalog changes nothing


def on_input(state: ContactState, event: Event, config: Config,
             catalog: Catalog = _NO_CATALOG) -> ContactState | None:
    """``on_event`` for an event read from an input, which may come twice: ``None`` when the
    contact already had it (a duplicate: nothing to apply), else the state with its id
    remembered for ``config.inputs.dedupe_window_ms``.

    An event that changes nothing (a view of a page no scenario looks at, a repeated
    unsubscribe) needs neither: it is not looked up nor remembered, which keeps the memory
    small and spares the hash for most views. A copy of it changes nothing either, unless
    the state changed in between, as when the same event had come late. Nor does a cart
    change, order or engagement of kind ``other`` (``events.of_unknown_kind``)."""
    if events.of_unknown_kind(event):
        return state
    after = on_event(state, event, config, catalog)
    if after is state:
        return state
    mark = fingerprint(event.event_id)
    memory = state.seen
    if mark in memory and known(memory, mark):  # most ids are new: spare the call
        return None
    # structs.replace rather than _replace: a quarter of the cost, once per event.
    return msgspec.structs.replace(after, seen=remember(memory, mark, event.occurred_at,
                                                        config.inputs.dedupe_window_ms))


def on_event(state: ContactState, event: Event, config: Config,
             catalog: Catalog = _NO_CATALOG) -> ContactState:
    """Fold one event into the contact's state; deadlines move, nothing is decided yet."""
    cart, browse, journeys = state.cart, state.browse, state.journeys
    watching, categories, interests = state.watching, state.categories, state.interests
    record = event_to_record(event) if config.conditional else None
    kinds = config.by_kind if record is None else config.triggered_by(event.type, record)
    if record is not None:
        journeys = exit_on(journeys, config.scenarios, record, event.occurred_at)
    if type(event) is Engagement:
        # Its exits (exit_when: [{type: engagement, kind: click}]) apply, like any event's.
        profile = state.profile.engaged(event)
        if profile is state.profile and journeys is state.journeys:
            return state
        return state._replace(profile=profile, journeys=journeys)
    if type(event) is ContactProfile:
        profile = state.profile.updated(event)
        journeys = birthday_detector.on_profile(state.profile, profile, journeys,
                                                kinds["birthday"], event.occurred_at)
        journeys = subscription_detector.on_profile(state.profile, profile, journeys,
                                                    kinds["subscription_expiry"],
                                                    event.occurred_at)
        journeys = welcome_detector.on_profile(state, profile, journeys, kinds["welcome"],
                                               event.event_id, event.occurred_at)
        return state._replace(profile=profile, journeys=journeys)
    if kinds["reactivation"] and not isinstance(event, ContactProfile | Engagement):
        journeys = activity_detector.on_activity(journeys, event, kinds["reactivation"])
    # Each detector runs only when a scenario of its kind is configured: most shops use a
    # few kinds, and this runs once per event.
    if type(event) is PageView:
        cart_open = bool(cart.lines)
        if kinds["category_abandonment"]:
            categories, journeys = category_detector.on_view(
                categories, journeys, event, cart_open=cart_open,
                scenarios=kinds["category_abandonment"], disarmed_at=browse.disarmed_at)
        browse, journeys = browse_detector.on_view(
            browse, journeys, event, cart_open=cart_open, scenarios=kinds["browse_abandonment"],
            keep_views=bool(kinds["category_abandonment"]))
        if kinds["back_in_stock"]:
            watching = stock_detector.on_view(watching, event, catalog, kinds["back_in_stock"])
        if kinds["search_abandonment"]:
            journeys = search_detector.on_view(journeys, event, kinds["search_abandonment"])
        if kinds["price_drop"]:
            interests = price_detector.on_event(interests, event)
        if (browse is state.browse and journeys is state.journeys
                and watching is state.watching and categories is state.categories
                and interests is state.interests):
            return state
    elif type(event) is CartChange:
        cart, journeys = cart_detector.on_change(cart, journeys, event, kinds["cart_abandonment"],
                                                 max_lines=config.inputs.cart_lines)
        browse, journeys = browse_detector.on_cart(browse, journeys, event,
                                                   kinds["browse_abandonment"])
        if kinds["category_abandonment"]:
            categories, journeys = category_detector.on_cart(categories, journeys, event,
                                                             kinds["category_abandonment"])
        if kinds["search_abandonment"]:
            journeys = search_detector.on_cart(journeys, event, kinds["search_abandonment"])
        if kinds["price_drop"]:
            interests = price_detector.on_event(interests, event)
    elif type(event) is Order:
        cart, journeys = cart_detector.on_order(cart, journeys, event, kinds["cart_abandonment"])
        browse, journeys = browse_detector.on_order(browse, journeys, event,
                                                    kinds["browse_abandonment"])
        if kinds["category_abandonment"]:
            categories, journeys = category_detector.on_order(categories, journeys, event,
                                                              kinds["category_abandonment"])
        if kinds["search_abandonment"]:
            journeys = search_detector.on_order(journeys, event, kinds["search_abandonment"])
        journeys = order_detector.on_order(journeys, event,
                                           kinds["order_status"] + kinds["cross_sell"])
        journeys = welcome_detector.on_order(journeys, event, kinds["welcome"])
    else:
        raise TypeError(f"not an event: {event!r}")
    if config.timed_variants and journeys is not state.journeys:
        journeys = _timed(journeys, state, config)
    # Positional, for speed (once per event): every field of ContactState, in order.
    return ContactState(state.contact_id, state.profile, cart, browse, state.last_sent, journeys,
                        watching, categories, interests, state.pending, state.sends, state.seen)


def _timed(journeys: tuple[Journey, ...], state: ContactState,
           config: Config) -> tuple[Journey, ...]:
    """Journeys just started wait their experiment variant's delay, when it has one."""
    timed = []
    for journey in journeys:
        scenario = config.get(journey.scenario)
        if (scenario is not None and scenario.experiment is not None and journey.step == 1
                and journey not in state.journeys):
            variant = scenario.experiment.assign(state.contact_id, scenario.name)
            if variant is not None and variant.delay_ms is not None:
                journey = journey._replace(due_at=journey.started_at + variant.delay_ms)
        timed.append(journey)
    return tuple(timed)


def on_due(state: ContactState, now: int, config: Config,
           catalog: Catalog = _NO_CATALOG) -> tuple[ContactState, list[Outcome]]:
    """Fire every step due at or before ``now``, earliest first, through contact policy."""
    outcomes: list[Outcome] = []
    while state.journeys and (due := min(state.journeys, key=_firing_order)).due_at <= now:
        scenario = config.get(due.scenario)
        following = None
        if scenario is not None:  # else no longer configured: the journey ends quietly
            state, outcome, following = _fire(state, due, scenario, catalog, config)
            if outcome is not None:
                outcomes.append(outcome)
        rest = tuple(j for j in state.journeys if j is not due)
        journeys = rest if following is None else (*rest, following)
        state = _ended(state._replace(journeys=journeys), config)
        if scenario is not None and scenario.kind == "category_abandonment" and \
                following is None and due.data:
            # Answered: that category's views count again from zero.
            state = state._replace(categories=tuple(
                c for c in state.categories if c[0] != due.data["category_id"]))
    return state, outcomes


def _fire(state: ContactState, due: Journey, scenario: Scenario, catalog: Catalog,
          config: Config) -> tuple[ContactState, Outcome | None, Journey | None]:
    """One step: what policy decides of it, and the journey's next step (if it goes on)."""
    following = _following(state, due, scenario)
    candidate = _candidate(state, due, scenario, catalog)
    if scenario.kind == "digest":
        state = digest_detector.sent(state, due)
    if candidate is None:
        return state, None, None
    cid = command_id(state.contact_id, candidate.scenario, candidate.instance, candidate.step)
    if _stale(due, scenario):
        return state, Suppression(cid, state.contact_id, due.scenario, "stale", due.due_at,
                                  due.step), None
    winner = arbitration.outranked_until(state, due, scenario, config)
    if winner is not None:
        if scenario.on_hold == "defer":
            until = winner + config.policy.arbitration_window_ms + 1
            return state, Deferral(cid, state.contact_id, due.scenario, "lower_priority",
                                   due.due_at, until, due.step), due._replace(due_at=until)
        return state, Suppression(cid, state.contact_id, due.scenario, "lower_priority",
                                  due.due_at, due.step), following
    state, outcome = decide(state, candidate, scenario, config.policy, cid, due.started_at)
    if isinstance(outcome, Deferral):
        return state, outcome, due._replace(due_at=outcome.until)
    if isinstance(outcome, SendCommand) and scenario.digest is not None:
        state = digest_detector.hold(state, outcome, scenario)
        outcome = Suppression(outcome.command_id, state.contact_id, outcome.scenario,
                              "digested", outcome.decided_at, outcome.step)
    if (isinstance(outcome, Suppression) and outcome.reason == "quiet_period"
            and scenario.kind not in ("birthday", "subscription_expiry")):
        following = None
    return state, outcome, following


def _firing_order(journey: Journey) -> tuple[int, str, str]:
    return journey.due_at, journey.scenario, journey.instance


def _candidate(state: ContactState, journey: Journey, scenario: Scenario,
               catalog: Catalog) -> Candidate | None:
    if scenario.kind == "cart_abandonment":
        return cart_detector.candidate(state.cart, journey, catalog)
    if scenario.kind == "browse_abandonment":
        return browse_detector.candidate(state.browse, journey, catalog)
    if scenario.kind == "back_in_stock":
        return stock_detector.candidate(journey, catalog)
    if scenario.kind == "price_drop":
        return price_detector.candidate(journey, catalog)
    if scenario.kind == "category_abandonment":
        return category_detector.candidate(state.browse, journey, catalog)
    if scenario.kind == "search_abandonment":
        return search_detector.candidate(journey)
    if scenario.kind == "birthday":
        return birthday_detector.candidate(state.profile, journey)
    if scenario.kind == "reactivation":
        return activity_detector.candidate(journey)
    if scenario.kind == "subscription_expiry":
        return subscription_detector.candidate(state.profile, journey, scenario)
    if scenario.kind == "welcome":
        return welcome_detector.candidate(journey, catalog)
    if scenario.kind == "digest":
        return digest_detector.candidate(state, journey)
    return order_detector.candidate(journey, scenario, catalog)


def _following(state: ContactState, journey: Journey, scenario: Scenario) -> Journey | None:
    """The journey's next step; a birthday's next is next year's."""
    if scenario.kind == "birthday":
        return birthday_detector.planned(state.profile, scenario, journey.due_at)
    if scenario.kind == "subscription_expiry":
        return subscription_detector.following(state.profile, journey, scenario)
    if scenario.kind == "welcome":
        return welcome_detector.following(journey, scenario)
    return next_step(journey, scenario)


def _stale(journey: Journey, scenario: Scenario) -> bool:
    limit = scenario.stale_after_ms
    return limit is not None and journey.due_at - journey.started_at > limit


def _ended(state: ContactState, config: Config) -> ContactState:
    """Views are answered once no browse journey is left to use them."""
    if not state.browse.viewed:
        return state
    browsing = config.browsing
    if any(j.scenario in browsing for j in state.journeys):
        return state
    return state._replace(browse=browse_detector.answered(state.browse))
