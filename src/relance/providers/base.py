"""The one seam between the sender and a delivery backend (SMTP today; HTTP APIs later)."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol


class Provider(Protocol):
    """Delivers one message, or raises a ``relance.providers.errors.DeliveryError``.

    ``TemporaryDeliveryError`` means: try the same message again later;
    ``PermanentDeliveryError`` means: retrying will not help.
    """

    async def send(self, message: EmailMessage) -> None: ...
