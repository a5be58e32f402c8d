"""Delivery errors, split by what the sender should do next.

    RelanceError
     └── DeliveryError                 a provider could not deliver a message
          ├── TemporaryDeliveryError   retry later: SMTP 4xx replies, HTTP 429 and 5xx,
          │                            connection refused or reset, timeouts
          └── PermanentDeliveryError   do not retry: SMTP 5xx replies, other HTTP 4xx,
                                       recipient refused or suppressed, authentication
                                       failed, TLS not available

``code`` and ``text`` keep the server's reply when there was one (``None`` otherwise); a
temporary error's ``retry_after`` is the wait the server asked for (an HTTP Retry-After), if
it asked for one.
"""

from __future__ import annotations

from relance.errors import RelanceError


class DeliveryError(RelanceError):
    """A message a provider could not deliver; ``code``/``text`` are the server's reply."""

    def __init__(self, text: str, code: int | None = None) -> None:
        self.code = code
        self.text = text
        super().__init__(f"{code} {text}" if code is not None else text)

    def __reduce__(self) -> tuple[type[DeliveryError], tuple[object, ...]]:
        return type(self), (self.text, self.code)


class TemporaryDeliveryError(DeliveryError):
    """The same message may go through later (4xx reply, network failure, timeout);
    ``retry_after``: seconds the server asked to wait before the next attempt, if it did."""

    def __init__(
        self, text: str, code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(text, code)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[type[DeliveryError], tuple[object, ...]]:
        return type(self), (self.text, self.code, self.retry_after)


class PermanentDeliveryError(DeliveryError):
    """The message will not go through as it is (5xx reply, refused recipient, bad login)."""
