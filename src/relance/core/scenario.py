"""One scenario: what relance answers, when, through which channel, in which order.

A scenario has a *kind*, the behaviour that triggers it and the events that end it (carts
left open, products viewed and left, an order changing status): a detector
(``detectors``) implements each kind. Its configuration says how long to wait, how many
messages to send (``steps``, each counted from the trigger) and how. Several scenarios may
share a kind (an email and a later second reminder, two order notifications), so adding one
is configuration, not code. ``scenarios`` holds the configuration (every scenario, the
contact policy, the input rules) and the built-in catalogue.

This module sits below the detectors, which read scenarios; ``scenarios`` sits above them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relance.core.conditions import Condition
from relance.core.events import CHANNELS as CHANNELS  # re-exported: the scenario file's reader
from relance.core.events import Channel as Channel
from relance.core.experiments import Experiment
from relance.core.timestamps import DAY_MS


@dataclass(frozen=True, slots=True)
class Step:
    """One message of a scenario: sent ``delay_ms`` after the trigger, with its template;
    ``engaged``, when set, is its condition on the journey's last message sent: (True,
    "opened") for ``if: opened``, (False, "clicked") for ``unless: clicked``
    (``core.engagement``)."""

    delay_ms: int
    template: str
    engaged: tuple[bool, str] | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    # A kind a detector registers (``detectors.registry``); a ``Config`` refuses any other.
    kind: str
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
    # The values of the keys a kind declares with no field above, (key, value) pairs: a
    # new kind's settings need no change here (see ``detectors.keys.Key``).
    options: tuple[tuple[str, Any], ...] = ()
    # Whether its messages are marketing (an unsubscribe link and List-Unsubscribe headers);
    # None: those of a scenario that is not transactional. A digest skips contact policy
    # like a transactional scenario, yet is marketing when one of its members is.
    marketing: bool | None = None
    # Attribution windows (``core.attribution``): an order placed so long after the message
    # was sent, or after it was clicked, is the message's.
    after_send_ms: int = 5 * DAY_MS
    after_click_ms: int = DAY_MS

    @property
    def is_marketing(self) -> bool:
        return not self.transactional if self.marketing is None else self.marketing

    def __post_init__(self) -> None:
        if not self.family:
            object.__setattr__(
                self, "family", default_family(self.kind, self.transactional, self.digest)
            )

    @property
    def delay_ms(self) -> int:
        return self.steps[0].delay_ms

    @property
    def template(self) -> str:
        return self.steps[0].template


def default_family(kind: str, transactional: bool, digest: str | None) -> str:
    """A scenario's family unless its file says: a scenario sent in a digest is a digest's,
    else its kind's detector says (``Detector.family``)."""
    if digest is not None or kind == "digest":
        return "digests"
    if transactional:
        return "transactional"
    # Imported here: the detectors import this module. No Scenario is made before they are.
    from relance.core.detectors import registry

    return registry.family(kind)
