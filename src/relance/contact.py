"""One contact's step: apply an event, or fire what is due, and return what was decided.

This is the whole per-contact decision path; the simulator and the live worker both call it.
"""

from __future__ import annotations

from relance.commands import Candidate, Outcome
from relance.detectors import browse as browse_detector
from relance.detectors import cart as cart_detector
from relance.events import CartChange, ContactProfile, Event, Order, PageView
from relance.policy import decide
from relance.scenarios import Config
from relance.state import Browse, Cart, ContactState, Profile


def on_event(state: ContactState, event: Event, config: Config) -> ContactState:
    """Fold one event into the contact's state; deadlines move, nothing is decided yet."""
    if isinstance(event, PageView):
        browse = browse_detector.on_view(state.browse, event, cart_open=state.cart.is_open,
                                         scenario=config.browse_abandonment)
        return state if browse is state.browse else _with(state, browse=browse)
    if isinstance(event, CartChange):
        cart = cart_detector.on_change(state.cart, event, config.cart_abandonment)
        return _with(state, cart=cart, browse=browse_detector.on_cart(state.browse, event))
    if isinstance(event, Order):
        return _with(state, cart=cart_detector.on_order(state.cart, event),
                     browse=browse_detector.on_order(state.browse, event))
    if isinstance(event, ContactProfile):
        return _with(state, profile=state.profile.updated(event))
    raise TypeError(f"not an event: {event!r}")


def on_due(state: ContactState, now: int, config: Config) -> tuple[ContactState, list[Outcome]]:
    """Fire every deadline at or before ``now``, earliest first, through contact policy."""
    new_cart, cart_candidate = cart_detector.on_due(state.cart, now)
    new_browse, browse_candidate = browse_detector.on_due(state.browse, now)
    state = _with(state, cart=new_cart, browse=new_browse)
    candidates = [c for c in (cart_candidate, browse_candidate) if c is not None]
    candidates.sort(key=_firing_order)
    outcomes: list[Outcome] = []
    for candidate in candidates:
        scenario = config.get(candidate.scenario)
        if scenario is None:
            continue
        state, outcome = decide(state, candidate, scenario)
        outcomes.append(outcome)
    return state, outcomes


def _firing_order(candidate: Candidate) -> tuple[int, str]:
    return candidate.due_at, candidate.scenario


def _with(state: ContactState, *, profile: Profile | None = None, cart: Cart | None = None,
          browse: Browse | None = None) -> ContactState:
    # Hand-written ``replace``: this runs once per event and dataclasses.replace is slower.
    return ContactState(
        state.contact_id,
        state.profile if profile is None else profile,
        state.cart if cart is None else cart,
        state.browse if browse is None else browse,
        state.last_sent,
    )
