"""Conversions between epoch milliseconds (the core's time) and ISO-8601 text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

SECOND_MS = 1000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
_NAIVE_EPOCH = datetime(1970, 1, 1)  # only its text is used, as UTC


def parse_iso(text: str) -> int:
    """ISO-8601 with an explicit offset (``Z`` or ``+02:00``) to epoch ms.

    A time without an offset is refused: guessing the zone would shift deadlines by hours.
    """
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (write e.g. 2024-05-01T10:00:00Z)")
    return from_datetime(moment)


def from_datetime(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone")
    return (moment - _EPOCH) // _ONE_MS


def to_iso(epoch_ms: int) -> str:
    """Epoch ms to ISO-8601 UTC with millisecond precision, e.g. ``2024-05-01T10:00:00.000Z``."""
    seconds, millis = divmod(epoch_ms, SECOND_MS)
    return f"{_second(seconds)}.{millis:03d}Z"


@lru_cache(maxsize=4096)
def _second(seconds: int) -> str:
    """The text of a whole second: once per second, as outcomes come in bursts of a few
    deadlines (a datetime and its text cost a few µs, once per command and decision)."""
    return (_NAIVE_EPOCH + timedelta(seconds=seconds)).isoformat(timespec="seconds")
