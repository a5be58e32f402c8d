"""A day and a time of day in a contact's own time zone, as epoch milliseconds."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from relance.core.timestamps import from_datetime


def zone(name: str | None) -> tzinfo:
    """The named IANA zone; UTC when none is known (or the name is not a zone)."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return UTC


def at_local(day: date, minute_of_day: int, zone_name: str | None) -> int:
    return from_datetime(
        datetime(
            day.year,
            day.month,
            day.day,
            minute_of_day // 60,
            minute_of_day % 60,
            tzinfo=zone(zone_name),
        )
    )


def local_year(moment: int, zone_name: str | None) -> int:
    return datetime.fromtimestamp(moment / 1000, zone(zone_name)).year
