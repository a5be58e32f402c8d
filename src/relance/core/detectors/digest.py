"""Digests: a scenario with ``digest: daily`` or ``weekly`` does not send each message on
its own; what it decides in a period waits in the contact's state and goes out as one
message, the next morning (daily) or on Monday morning (weekly), at 09:00 local time.

The messages held are decided as usual (consent, quiet period) and counted as suppressed
with reason ``digested``; the digest itself (scenario ``digest_daily`` / ``digest_weekly``,
template ``digest``) needs only the address. Its command id derives from the period.

A contact holds at most ``HELD_KEPT`` messages (the latest; an older one is dropped), and a
held message keeps of its payload what a digest line shows: its product and its plain
values, not its lists (an order's lines, offered products). That bounds the stored state.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from relance.core.catalog import Catalog
from relance.core.commands import Candidate, SendCommand
from relance.core.detectors.base import Detector
from relance.core.localtime import at_local, zone
from relance.core.scenario import Scenario
from relance.core.state import ContactState, Journey

SEND_AT_MINUTE = 9 * 60
HELD_KEPT = 10


def name_of(period: str) -> str:
    return f"digest_{period}"


def _period(period: str, moment: int, timezone: str | None) -> tuple[str, int]:
    """The period ``moment`` falls in (its key) and when its digest goes out."""
    day: date = datetime.fromtimestamp(moment / 1000, zone(timezone)).date()
    if period == "daily":
        return day.isoformat(), at_local(day + timedelta(days=1), SEND_AT_MINUTE, timezone)
    year, week, weekday = day.isocalendar()
    monday = day + timedelta(days=8 - weekday)
    return f"{year}-W{week:02d}", at_local(monday, SEND_AT_MINUTE, timezone)


def hold(state: ContactState, command: SendCommand, scenario: Scenario) -> ContactState:
    """Keep a decided message for its period's digest, and plan the digest."""
    assert scenario.digest is not None
    name = name_of(scenario.digest)
    key, due = _period(scenario.digest, command.decided_at, state.profile.timezone)
    item: dict[str, Any] = {
        "scenario": command.scenario,
        "template": command.template,
        "decided_at": command.decided_at,
        "payload": _line(command.payload),
    }
    pending = (*state.pending, (name, key, item))[-HELD_KEPT:]
    journeys = state.journeys
    if not any(j.scenario == name and j.instance == key for j in journeys):
        journeys = (*journeys, Journey(name, key, 1, due, due))
    return state._replace(pending=pending, journeys=journeys)


def _line(payload: dict[str, Any]) -> dict[str, Any]:
    """What of a held message's payload a digest line shows."""
    return {
        key: value
        for key, value in payload.items()
        if key == "product" or value is None or type(value) in (str, int, float, bool)
    }


class Digests(Detector):
    """The digests themselves: ``hold`` keeps the messages of the scenarios with a
    ``digest``, whatever their kind; ``contact`` calls it after policy decided them."""

    kinds = ("digest",)
    not_configured = "relance makes one per period for the scenarios with digest: daily or weekly"

    def candidate(
        self, state: ContactState, journey: Journey, scenario: Scenario, catalog: Catalog
    ) -> Candidate | None:
        items = [
            item
            for name, key, item in state.pending
            if name == journey.scenario and key == journey.instance
        ]
        if not items:
            return None
        return Candidate(
            journey.scenario,
            journey.instance,
            1,
            journey.due_at,
            {"period": journey.instance, "items": items},
        )

    def fired(self, state: ContactState, journey: Journey) -> ContactState:
        """The period's messages went out (or could not): they are no longer held."""
        return state._replace(
            pending=tuple(
                p
                for p in state.pending
                if not (p[0] == journey.scenario and p[1] == journey.instance)
            )
        )


DETECTOR = Digests()
