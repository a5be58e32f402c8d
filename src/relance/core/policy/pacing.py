"""Pacing marketing messages: quiet hours and frequency caps, in the contact's time zone.

Quiet hours (``"21:00-08:00"``) hold a message until they end. Caps count the contact's
marketing messages on a channel in the same local day and ISO week; over a cap, the message
waits for the next day (or week). Both return the time a held message may go, or ``None``.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Final

from relance.core.localtime import zone
from relance.core.timestamps import DAY_MS, from_datetime

KEPT_MS: Final = 8 * DAY_MS  # sends older than a week and a day count for no cap
# The latest sends a contact keeps, which bounds its state: a cap counts at most this many
# (the scenario file refuses a larger cap), so keeping no more changes no decision.
SENDS_KEPT: Final = 64


def parse_hours(text: str) -> tuple[int, int]:
    """``"21:00-08:00"`` to (start, end) minutes after midnight; ``ValueError`` if not."""
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ValueError(f"{text!r} is not a span of local times like 21:00-08:00") from None
    return start.hour * 60 + start.minute, end.hour * 60 + end.minute


def _local(moment: int, timezone: str | None) -> datetime:
    return datetime.fromtimestamp(moment / 1000, zone(timezone))


def _at(local: datetime, minute: int) -> datetime:
    return local.replace(hour=minute // 60, minute=minute % 60, second=0, microsecond=0)


def quiet_until(moment: int, timezone: str | None, hours: tuple[int, int] | None) -> int | None:
    """When quiet hours around ``moment`` end, or ``None`` if it is not in them."""
    if hours is None:
        return None
    start, end = hours
    local = _local(moment, timezone)
    minute = local.hour * 60 + local.minute
    inside = start <= minute or minute < end if start > end else start <= minute < end
    if not inside:
        return None
    day = local if minute < end else local + timedelta(days=1)
    # Wall-clock arithmetic in the zone: DST days are 23 or 25 hours long.
    return from_datetime(_at(day.replace(tzinfo=None), end).replace(tzinfo=zone(timezone)))


def cap_until(
    sends: tuple[int, ...],
    moment: int,
    timezone: str | None,
    per_day: int | None,
    per_week: int | None,
) -> int | None:
    """When the next message may go if ``sends`` (times of this channel's marketing
    messages) already reached a cap for the local day or week of ``moment``."""
    local = _local(moment, timezone)
    midnight = _at(local.replace(tzinfo=None), 0)
    tz = zone(timezone)
    next_day = from_datetime((midnight + timedelta(days=1)).replace(tzinfo=tz))
    monday = midnight - timedelta(days=local.weekday())
    next_week = from_datetime((monday + timedelta(days=7)).replace(tzinfo=tz))
    day_start = from_datetime(midnight.replace(tzinfo=tz))
    week_start = from_datetime(monday.replace(tzinfo=tz))
    if per_week is not None and sum(week_start <= s <= moment for s in sends) >= per_week:
        return next_week
    if per_day is not None and sum(day_start <= s <= moment for s in sends) >= per_day:
        return next_day
    return None
