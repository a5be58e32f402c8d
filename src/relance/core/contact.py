"""One contact's step: apply an event, or fire what is due, and return what was decided.

This is the whole per-contact decision path; the simulator and the live worker both call it.
"""

from __future__ import annotations

import msgspec

from relance.core import engagement, events
from relance.core.catalog import Catalog
from relance.core.commands import Deferral, Outcome, SendCommand, Suppression, command_id
from relance.core.detectors import digest
from relance.core.detectors.base import Detector, Fold
from relance.core.duplicates import fingerprint, known, remember
from relance.core.events import ContactProfile, Engagement, Event, PageView, event_to_record
from relance.core.journeys import exit_on
from relance.core.policy import arbitration
from relance.core.policy.decide import decide
from relance.core.scenarios import Config, Scenario
from relance.core.state import ContactState, Journey

_NO_CATALOG = Catalog()  # read only: an empty catalog changes nothing


def on_input(
    state: ContactState, event: Event, config: Config, catalog: Catalog = _NO_CATALOG
) -> ContactState | None:
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
    return msgspec.structs.replace(
        after, seen=remember(memory, mark, event.occurred_at, config.inputs.dedupe_window_ms)
    )


def on_event(
    state: ContactState, event: Event, config: Config, catalog: Catalog = _NO_CATALOG
) -> ContactState:
    """Fold one event into the contact's state; deadlines move, nothing is decided yet.

    The detectors of the kinds configured that react to the event's type fold it in, in
    the registry's order (``Config.reactions``): most shops use a few kinds, and this runs
    once per event."""
    journeys = state.journeys
    record = event_to_record(event) if config.conditional else None
    if record is not None:
        journeys = exit_on(journeys, config.scenarios, record, event.occurred_at)
    if type(event) is Engagement:
        return _engaged(state, event, journeys)
    event_class = type(event)
    reactions = (
        config.reactions.get(event_class)
        if record is None
        else config.triggered(event_class, record)
    )
    if reactions is None:
        raise TypeError(f"not an event: {event!r}")
    profile = state.profile.updated(event) if type(event) is ContactProfile else state.profile
    fold = Fold(
        state,
        profile,
        state.cart,
        state.browse,
        journeys,
        state.watching,
        state.categories,
        state.interests,
        config,
        catalog,
    )
    for react, scenarios in reactions:
        react(fold, event, scenarios)
    return _folded(state, fold, event_class, config)


def _engaged(state: ContactState, event: Engagement, journeys: tuple[Journey, ...]) -> ContactState:
    """An engagement reaches no detector; its exits (``exit_when: [{type: engagement, kind:
    click}]``) apply like any event's."""
    profile = state.profile.engaged(event)
    reach = engagement.on_engagement(state.reach, event)
    if profile is state.profile and journeys is state.journeys and reach is state.reach:
        return state
    return state._replace(profile=profile, journeys=journeys, reach=reach)


def _folded(state: ContactState, fold: Fold, event_class: type, config: Config) -> ContactState:
    """The state once the detectors folded an event in."""
    journeys = fold.journeys
    if event_class is PageView and (
        fold.browse is state.browse
        and journeys is state.journeys
        and fold.watching is state.watching
        and fold.categories is state.categories
        and fold.interests is state.interests
    ):
        # A view that changed nothing (a page no kind looks at) keeps its state, so its id
        # is not remembered; the other events always make a new state.
        return state
    # Variant delays apply to what views, carts and orders start, not (as ever) to what a
    # profile starts.
    if (
        config.timed_variants
        and journeys is not state.journeys
        and event_class is not ContactProfile
    ):
        journeys = _timed(journeys, state, config)
    # Positional, for speed (once per event): every field of ContactState, in order.
    return ContactState(
        state.contact_id,
        fold.profile,
        fold.cart,
        fold.browse,
        state.last_sent,
        journeys,
        fold.watching,
        fold.categories,
        fold.interests,
        state.pending,
        state.sends,
        state.seen,
        state.reach,
    )


def _timed(
    journeys: tuple[Journey, ...], state: ContactState, config: Config
) -> tuple[Journey, ...]:
    """Journeys just started wait their experiment variant's delay, when it has one."""
    timed = []
    for journey in journeys:
        scenario = config.get(journey.scenario)
        if (
            scenario is not None
            and scenario.experiment is not None
            and journey.step == 1
            and journey not in state.journeys
        ):
            variant = scenario.experiment.assign(state.contact_id, scenario.name)
            if variant is not None and variant.delay_ms is not None:
                journey = journey._replace(due_at=journey.started_at + variant.delay_ms)
        timed.append(journey)
    return tuple(timed)


def on_due(
    state: ContactState, now: int, config: Config, catalog: Catalog = _NO_CATALOG
) -> tuple[ContactState, list[Outcome]]:
    """Fire every step due at or before ``now``, earliest first, through contact policy."""
    outcomes: list[Outcome] = []
    while state.journeys and (due := min(state.journeys, key=_firing_order)).due_at <= now:
        scenario = config.get(due.scenario)
        detector = None if scenario is None else config.detectors[scenario.kind]
        following = None
        # A scenario no longer configured: its journey ends quietly.
        if scenario is not None and detector is not None:
            state, outcome, following = _fire(state, due, scenario, detector, catalog, config)
            if outcome is not None:
                outcomes.append(outcome)
                state = engagement.reached(state, outcome, config)
        rest = tuple(j for j in state.journeys if j is not due)
        state = state._replace(journeys=rest if following is None else (*rest, following))
        for kind in config.tidying:
            state = kind.tidy(state, config)
        if (
            scenario is not None
            and detector is not None
            and following is None
            and scenario.kind in config.ending
        ):
            state = detector.ended(state, due)
    return state, outcomes


def _fire(
    state: ContactState,
    due: Journey,
    scenario: Scenario,
    detector: Detector,
    catalog: Catalog,
    config: Config,
) -> tuple[ContactState, Outcome | None, Journey | None]:
    """One step: what policy decides of it, and the journey's next step (if it goes on)."""
    following = detector.following(state, due, scenario)
    candidate = detector.candidate(state, due, scenario, catalog)
    if scenario.kind in config.firing:
        state = detector.fired(state, due)
    if candidate is None:
        return state, None, None
    cid = command_id(state.contact_id, candidate.scenario, candidate.instance, candidate.step)
    held = _held_back(state, due, scenario, config, cid, following)
    if held is not None:
        return state, held[0], held[1]
    state, outcome = decide(state, candidate, scenario, config.policy, cid, due.started_at)
    return _decided(state, outcome, due, scenario, detector, following)


def _held_back(
    state: ContactState,
    due: Journey,
    scenario: Scenario,
    config: Config,
    cid: str,
    following: Journey | None,
) -> tuple[Outcome, Journey | None] | None:
    """Before contact policy: a stale step, an engagement condition unmet, or a scenario of
    higher priority due with it; none of those: None."""
    if _stale(due, scenario):
        return Suppression(cid, state.contact_id, due.scenario, "stale", due.due_at, due.step), None
    if (
        due.scenario in config.conditioned
        and (unmet := engagement.unmet(state, due, scenario)) is not None
    ):
        return Suppression(
            cid, state.contact_id, due.scenario, unmet, due.due_at, due.step
        ), following
    winner = arbitration.outranked_until(state, due, scenario, config)
    if winner is None:
        return None
    if scenario.on_hold == "defer":
        until = winner + config.policy.arbitration_window_ms + 1
        return Deferral(
            cid, state.contact_id, due.scenario, "lower_priority", due.due_at, until, due.step
        ), due._replace(due_at=until)
    return Suppression(
        cid, state.contact_id, due.scenario, "lower_priority", due.due_at, due.step
    ), following


def _decided(
    state: ContactState,
    outcome: Outcome,
    due: Journey,
    scenario: Scenario,
    detector: Detector,
    following: Journey | None,
) -> tuple[ContactState, Outcome | None, Journey | None]:
    """What policy decided, and where the journey goes from there."""
    if isinstance(outcome, Deferral):
        return state, outcome, due._replace(due_at=outcome.until)
    if isinstance(outcome, SendCommand) and scenario.digest is not None:
        # Any kind's scenario may wait for a digest: the digests hold what policy let go.
        state = digest.hold(state, outcome, scenario)
        outcome = Suppression(
            outcome.command_id,
            state.contact_id,
            outcome.scenario,
            "digested",
            outcome.decided_at,
            outcome.step,
        )
    if isinstance(outcome, Suppression) and outcome.reason == "quiet_period" and not detector.dated:
        following = None  # a dated kind's next date is not the quiet period's to hold
    return state, outcome, following


def _firing_order(journey: Journey) -> tuple[int, str, str]:
    return journey.due_at, journey.scenario, journey.instance


def _stale(journey: Journey, scenario: Scenario) -> bool:
    limit = scenario.stale_after_ms
    return limit is not None and journey.due_at - journey.started_at > limit
