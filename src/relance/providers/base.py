"""The one seam between the sender and a delivery backend (an SMTP relay, an ESP's HTTP API)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Dispatch:
    """What a provider is told about a message besides its content.

    An ESP keeps it with the message and echoes it in its webhooks (Postmark's Metadata and
    Tag, SendGrid's custom_args and categories), so a bounce or a click can be traced back to
    the command and the contact; ``marketing`` picks Postmark's broadcast stream. An SMTP
    relay has no use for it.
    """

    command_id: str
    contact_id: str
    scenario: str
    marketing: bool = True


class Provider(Protocol):
    """Delivers one message, or raises a ``relance.providers.errors.DeliveryError``.

    ``TemporaryDeliveryError`` means: try the same message again later (after its
    ``retry_after``, if it has one); ``PermanentDeliveryError`` means: retrying will not help.
    ``close`` releases what the provider keeps open between sends (an HTTP session); the
    sender calls it once, when it stops.
    """

    async def send(self, message: EmailMessage, dispatch: Dispatch | None = None) -> None: ...

    async def close(self) -> None: ...
