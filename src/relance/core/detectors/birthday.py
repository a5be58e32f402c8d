"""Birthday: one message a year, on the contact's birthday at a local time of day.

The day and the time are the contact's own (their profile's time zone, UTC when unknown). A
birthday on 29 February is celebrated on 28 February in other years. A profile read after
the day's send time plans next year's: a birthday message is never late.
"""

from __future__ import annotations

from datetime import date

from relance.core.catalog import Catalog
from relance.core.commands import Candidate
from relance.core.detectors.base import Detector, Fold, Scenarios
from relance.core.detectors.keys import Key, TimeOfDay
from relance.core.events import ContactProfile
from relance.core.journeys import replan
from relance.core.localtime import at_local, local_year
from relance.core.scenario import Scenario
from relance.core.state import ContactState, Journey, Profile


def _celebrated(birthday: date, year: int) -> date:
    try:
        return birthday.replace(year=year)
    except ValueError:  # 29 February outside a leap year
        return date(year, 2, 28)


def next_time(profile: Profile, send_at_minute: int, after: int) -> tuple[int, int] | None:
    """(year, epoch ms) of the first birthday send time strictly after ``after``."""
    if profile.birthday is None:
        return None
    year = local_year(after, profile.timezone)
    for candidate_year in (year, year + 1):
        day = _celebrated(profile.birthday, candidate_year)
        moment = at_local(day, send_at_minute, profile.timezone)
        if moment > after:
            return candidate_year, moment
    return None  # unreachable: next year's is always later


def planned(profile: Profile, scenario: Scenario, after: int) -> Journey | None:
    found = next_time(profile, scenario.send_at_minute, after)
    if found is None:
        return None
    year, moment = found
    return Journey(scenario.name, f"{year}", 1, moment, moment)


class Birthday(Detector):
    kinds = ("birthday",)
    triggers = frozenset({"contact"})
    keys = (Key("send_at", TimeOfDay(), "send_at_minute"),)
    dated = True

    def on_contact(self, fold: Fold, profile: ContactProfile, scenarios: Scenarios) -> None:
        """Plan each birthday scenario when the birthday or time zone is new or changed."""
        before, after, journeys = fold.before.profile, fold.profile, fold.journeys
        if not scenarios or (
            before.birthday == after.birthday
            and before.timezone == after.timezone
            and all(
                any(j.scenario == s.name for j in journeys) or after.birthday is None
                for s in scenarios
            )
        ):
            return
        at = profile.occurred_at
        fold.journeys = replan(journeys, scenarios, lambda scenario: planned(after, scenario, at))

    def following(
        self, state: ContactState, journey: Journey, scenario: Scenario
    ) -> Journey | None:
        """Next year's."""
        return planned(state.profile, scenario, journey.due_at)

    def candidate(
        self, state: ContactState, journey: Journey, scenario: Scenario, catalog: Catalog
    ) -> Candidate | None:
        if state.profile.birthday is None:
            return None
        return Candidate(
            journey.scenario,
            journey.instance,
            journey.step,
            journey.due_at,
            {"year": int(journey.instance)},
        )


DETECTOR = Birthday()
