"""A provider that keeps failing the command in hand: what /readyz says, and how old that
command is (``relance_oldest_undelivered_seconds``).

An outage starts with a temporary failure and ends when the provider answers (a delivery, or
a refusal that is final). It is reported while a command of its channel is being retried:
the sender holds its partitions meanwhile, so that command is the oldest undelivered one.
An outage outlives the command that saw it (expired, or handed to another sender): the next
command of the channel continues it, or ends it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from relance.core.timestamps import to_iso
from relance.logs import redact


@dataclass(slots=True)
class _Outage:
    since: int
    error: str


class Outages:
    def __init__(self, names: Mapping[str, str], clock: Callable[[], int]) -> None:
        """``names``: per channel, how /readyz names its provider (no credentials)."""
        self.names = names
        self.clock = clock
        self._outages: dict[str, _Outage] = {}
        self._retrying: tuple[str, int] | None = None  # channel, decided_at of the one held

    def failed(self, channel: str, decided_at: int, error: str) -> None:
        """The command in hand (decided at ``decided_at``) failed temporarily."""
        outage = self._outages.get(channel)
        if outage is None:
            self._outages[channel] = _Outage(self.clock(), redact(error))
        else:
            outage.error = redact(error)
        self._retrying = (channel, decided_at)

    def answered(self, channel: str) -> None:
        """The provider took a message or refused it for good: it is reachable."""
        self._outages.pop(channel, None)

    def released(self) -> None:
        """The command in hand is done with (settled, or abandoned to another sender)."""
        self._retrying = None

    def age(self, channel: str) -> float:
        """Seconds since the decision of the command being retried on ``channel``, or 0."""
        if self._retrying is None or self._retrying[0] != channel:
            return 0.0
        return max(0.0, (self.clock() - self._retrying[1]) / 1000)

    def problems(self) -> list[str]:
        if self._retrying is None or self._retrying[0] not in self._outages:
            return []
        channel = self._retrying[0]
        outage = self._outages[channel]
        seconds = max(0, self.clock() - outage.since) // 1000
        return [
            f"the {channel} provider ({self.names.get(channel, channel)}) has failed "
            f"every attempt since {to_iso(outage.since)} ({seconds} s), retrying; "
            f"last error: {outage.error}"
        ]
