"""Subscription expiry: reminders a number of days before the subscription's last day.

The last day comes from the contact profile (``subscription_ends_on``); each entry of the
scenario's ``days_before`` (default 3 and 0: three days before, and on the day) is a step,
sent at ``send_at`` in the contact's time zone. A new end date (a renewal) plans the
reminders again under a new instance; steps already past when the profile is read are
skipped, never sent late.
"""

from __future__ import annotations

from datetime import timedelta

from relance.core.catalog import Catalog
from relance.core.commands import Candidate
from relance.core.detectors.base import Detector, Fold, Scenarios
from relance.core.detectors.keys import Days, Key, TimeOfDay
from relance.core.events import ContactProfile
from relance.core.journeys import replan
from relance.core.localtime import at_local
from relance.core.scenario import Scenario
from relance.core.state import ContactState, Journey, Profile


def _step_time(profile: Profile, scenario: Scenario, step: int) -> int | None:
    if profile.subscription_ends_on is None or not 1 <= step <= len(scenario.days_before):
        return None
    day = profile.subscription_ends_on - timedelta(days=scenario.days_before[step - 1])
    return at_local(day, scenario.send_at_minute, profile.timezone)


def planned(profile: Profile, scenario: Scenario, after: int, step: int = 1) -> Journey | None:
    """The first step from ``step`` on whose time is after ``after``."""
    if profile.subscription_ends_on is None:
        return None
    instance = profile.subscription_ends_on.isoformat()
    for number in range(step, len(scenario.days_before) + 1):
        moment = _step_time(profile, scenario, number)
        if moment is not None and moment > after:
            return Journey(scenario.name, instance, number, moment, moment)
    return None


class SubscriptionExpiry(Detector):
    kinds = ("subscription_expiry",)
    family = "reminders"
    triggers = frozenset({"contact"})
    keys = (
        Key("send_at", TimeOfDay(), "send_at_minute"),
        Key("days_before", Days(), "days_before"),
    )
    dated = True

    def on_contact(self, fold: Fold, profile: ContactProfile, scenarios: Scenarios) -> None:
        before, after = fold.before.profile, fold.profile
        if not scenarios or (
            before.subscription_ends_on == after.subscription_ends_on
            and before.timezone == after.timezone
        ):
            return
        at = profile.occurred_at
        fold.journeys = replan(
            fold.journeys, scenarios, lambda scenario: planned(after, scenario, at)
        )

    def following(
        self, state: ContactState, journey: Journey, scenario: Scenario
    ) -> Journey | None:
        return planned(state.profile, scenario, journey.due_at, journey.step + 1)

    def candidate(
        self, state: ContactState, journey: Journey, scenario: Scenario, catalog: Catalog
    ) -> Candidate | None:
        ends = state.profile.subscription_ends_on
        if ends is None or ends.isoformat() != journey.instance:
            return None
        return Candidate(
            journey.scenario,
            journey.instance,
            journey.step,
            journey.due_at,
            {"ends_on": journey.instance, "days_left": scenario.days_before[journey.step - 1]},
        )


DETECTOR = SubscriptionExpiry()
