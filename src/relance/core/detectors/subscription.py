"""Subscription expiry: reminders a number of days before the subscription's last day.

The last day comes from the contact profile (``subscription_ends_on``); each entry of the
scenario's ``days_before`` (default 3 and 0: three days before, and on the day) is a step,
sent at ``send_at`` in the contact's time zone. A new end date (a renewal) plans the
reminders again under a new instance; steps already past when the profile is read are
skipped, never sent late.
"""

from __future__ import annotations

from datetime import timedelta

from relance.core.commands import Candidate
from relance.core.journeys import replan
from relance.core.localtime import at_local
from relance.core.scenarios import Scenario
from relance.core.state import Journey, Profile

Journeys = tuple[Journey, ...]


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


def on_profile(before: Profile, after: Profile, journeys: Journeys,
               scenarios: tuple[Scenario, ...], at: int) -> Journeys:
    if not scenarios or (before.subscription_ends_on == after.subscription_ends_on
                         and before.timezone == after.timezone):
        return journeys
    return replan(journeys, scenarios, lambda scenario: planned(after, scenario, at))


def following(profile: Profile, journey: Journey, scenario: Scenario) -> Journey | None:
    return planned(profile, scenario, journey.due_at, journey.step + 1)


def candidate(profile: Profile, journey: Journey, scenario: Scenario) -> Candidate | None:
    ends = profile.subscription_ends_on
    if ends is None or ends.isoformat() != journey.instance:
        return None
    return Candidate(journey.scenario, journey.instance, journey.step, journey.due_at,
                     {"ends_on": journey.instance,
                      "days_left": scenario.days_before[journey.step - 1]})
