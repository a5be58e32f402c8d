"""Delivery errors, split by what the sender should do next.

    RelanceError
     └── DeliveryError                 a provider could not deliver a message
          ├── TemporaryDeliveryError   retry later: 4xx replies, connection refused or
          │                            reset, timeouts
          └── PermanentDeliveryError   do not retry: 5xx replies, recipient refused,
                                       authentication failed, TLS not available

``code`` and ``text`` keep the server's reply when there was one (``None`` otherwise).
"""

from __future__ import annotations

from relance.errors import RelanceError


class DeliveryError(RelanceError):
    """A message a provider could not deliver; ``code``/``text`` are the server's reply."""

    def __init__(self, text: str, code: int | None = None) -> None:
        self.code = code
        self.text = text
        super().__init__(f"{code} {text}" if code is not None else text)

    def __reduce__(self) -> tuple[type[DeliveryError], tuple[str, int | None]]:
        return type(self), (self.text, self.code)


class TemporaryDeliveryError(DeliveryError):
    """The same message may go through later (4xx reply, network failure, timeout)."""


class PermanentDeliveryError(DeliveryError):
    """The message will not go through as it is (5xx reply, refused recipient, bad login)."""
