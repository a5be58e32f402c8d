"""Engagement: the marketing messages a contact was sent, what they did with them, and the
steps that depend on it (``unless: clicked``, ``if: opened``).

A contact's state keeps its last ``TOUCHES_KEPT`` marketing messages (``state.Touch``),
each no longer than ``Config.touch_kept_ms`` after it was sent or clicked: what attribution
and a step's condition need, and no more. An open or click names its message by command id
(the tracking links and pixel carry it); one that names none counts for the latest message
sent before it. A click counts as an open too: images are often blocked, links are not.

A step's condition looks at the journey's last message sent before it (its command id is
derived from contact, scenario, instance and step, so the core knows it) and its opens and
clicks up to the time the step falls due. A step whose condition fails is suppressed
(``clicked``, ``opened``, ``not_clicked``, ``not_opened``) and the journey goes on to its
next step. No message of the journey sent yet: ``if:`` fails, ``unless:`` holds.
"""

from __future__ import annotations

import uuid
from typing import Final, Literal

from relance.core.commands import Outcome, SendCommand, Suppression, command_id
from relance.core.events import Engagement
from relance.core.scenarios import Config, Scenario
from relance.core.state import ContactState, Journey, Reach, Touch

TOUCHES_KEPT: Final = 4
Unmet = Literal["opened", "clicked", "not_opened", "not_clicked"]
_UNMET: Final[dict[tuple[bool, str], Unmet]] = {
    (True, "opened"): "not_opened",
    (True, "clicked"): "not_clicked",
    (False, "opened"): "opened",
    (False, "clicked"): "clicked",
}
_EMPTY: Final = Reach()


def command_bytes(cid: str) -> bytes | None:
    """A command id's 16 bytes (what a touch keeps); ``None`` if it is not a UUID's hex.
    (``uuid.UUID`` would take five times as long, once per message decided.)"""
    try:
        raw = bytes.fromhex(cid.replace("-", ""))
    except ValueError:
        return None
    return raw if len(raw) == 16 else None


def command_text(raw: bytes) -> str:
    return str(uuid.UUID(bytes=raw))


def reached(state: ContactState, outcome: Outcome, config: Config) -> ContactState:
    """After a step's decision: a marketing message sent, or held out, is remembered; one
    sent is also one more without an answer, for the sunset rule. Touches no longer of use
    are let go."""
    reach = state.reach
    if reach is None and not config.touching and not config.policy.sunsets:
        return state  # nothing to remember (attribution off, no step on engagement)
    if type(outcome) is SendCommand and outcome.marketing:
        holdout, variant = False, outcome.variant
    elif type(outcome) is Suppression and outcome.reason == "holdout":
        holdout, variant = True, None
    else:
        return state if reach is None else let_go(state, outcome.decided_at, config)
    reach = reach or _EMPTY
    touches, at = reach.touches, outcome.decided_at
    raw = command_bytes(outcome.command_id)
    if config.touching and raw is not None:
        touch = Touch(outcome.scenario, outcome.step, raw, at, variant, holdout)
        touches = (*recent(touches, at, config.touch_kept_ms), touch)[-TOUCHES_KEPT:]
    unanswered, since = reach.unanswered, reach.unanswered_since
    if config.policy.sunsets and not holdout:
        unanswered, since = unanswered + 1, since or at
    after = Reach(touches, reach.orders, unanswered, since)
    return state if after == reach else state._replace(reach=after)


def let_go(state: ContactState, now: int, config: Config) -> ContactState:
    """The state without the touches no longer of use at ``now`` (a kept state stays small
    when the contact is not sent more)."""
    reach = state.reach
    if reach is None:
        return state
    kept = recent(reach.touches, now, config.touch_kept_ms)
    if kept is reach.touches:
        return state
    after = reach._replace(touches=kept)
    return state._replace(reach=None if after == _EMPTY else after)


def recent(touches: tuple[Touch, ...], now: int, kept_ms: int) -> tuple[Touch, ...]:
    """The touches still of use at ``now``: sent or clicked within ``kept_ms``."""
    kept = tuple(t for t in touches if max(t.at, t.clicked_at) + kept_ms >= now)
    return touches if len(kept) == len(touches) else kept


def on_engagement(reach: Reach | None, event: Engagement) -> Reach | None:
    """An open or click: on its message (by command id, else the latest sent before it),
    and an answer that resets the sunset count."""
    if reach is None or event.kind not in ("open", "click"):
        return reach
    touches = list(reach.touches)
    found = _engaged(touches, event)
    if found is not None:
        touch = touches[found]
        at = event.occurred_at
        touches[found] = (
            touch._replace(clicked_at=max(touch.clicked_at, at))
            if event.kind == "click"
            else touch._replace(opened_at=max(touch.opened_at, at))
        )
    after = Reach(tuple(touches), reach.orders)
    return reach if after == reach else after


def _engaged(touches: list[Touch], event: Engagement) -> int | None:
    """Which touch ``event`` is about: the one it names, or the latest sent before it."""
    raw = None if event.command_id is None else command_bytes(event.command_id)
    if event.command_id is not None and raw is None:
        return None  # it names a message, not one of relance's
    for index in range(len(touches) - 1, -1, -1):
        touch = touches[index]
        if raw is not None:
            if touch.command == raw:
                return index
        elif not touch.holdout and touch.at <= event.occurred_at:
            return index
    return None


def unmet(state: ContactState, journey: Journey, scenario: Scenario) -> Unmet | None:
    """Why the journey's due step may not go (its ``if:`` or ``unless:`` fails), if so."""
    if journey.step > len(scenario.steps):
        return None
    condition = scenario.steps[journey.step - 1].engaged
    if condition is None:
        return None
    wanted, what = condition
    touch = _last_sent(state, journey)
    at = (
        0
        if touch is None
        else (touch.clicked_at if what == "clicked" else touch.opened_at or touch.clicked_at)
    )
    done = 0 < at <= journey.due_at
    return None if done is wanted else _UNMET[condition]


def _last_sent(state: ContactState, journey: Journey) -> Touch | None:
    touches = (state.reach or _EMPTY).touches
    if not touches:
        return None
    for step in range(journey.step - 1, 0, -1):
        raw = command_bytes(command_id(state.contact_id, journey.scenario, journey.instance, step))
        for touch in touches:
            if touch.command == raw and not touch.holdout:
                return touch
    return None
