"""What an ESP's webhook event means to relance: one engagement event, or a reason to drop
it. Common to the ESPs' mappings (``postmark_feedback``, ``sendgrid_feedback``). Pure.

The contact and command come from the metadata relance gave the ESP with the message
(``relance.providers.esp``: Postmark's ``Metadata``, SendGrid's ``custom_args``), which the
ESP echoes in every event. Contacts are keyed by id, never by address: an event without the
contact id (a message not sent by relance, or sent before the ids were passed) is dropped
``no_contact``. Event ids are a UUIDv5 of the ESP and what the ESP says identifies the
event, so a webhook the ESP retries writes the same events, which the worker applies once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from relance.core.events import Engagement, EngagementKind
from relance.providers.esp import COMMAND_ID_KEY, CONTACT_ID_KEY

FEEDBACK_NAMESPACE: Final = uuid.UUID("5b0c3f0e-8a51-4c53-9d0b-7c61e2a4f1d9")

# Why an event is dropped (a metric label: a short fixed list).
DropReason = Literal["not_engagement", "soft_bounce", "machine_open", "no_contact"]
DROP_REASONS: Final = ("not_engagement", "soft_bounce", "machine_open", "no_contact")


@dataclass(frozen=True, slots=True)
class Dropped:
    """An event relance does nothing with: a delivery, a soft bounce, an open a mail
    client's privacy proxy made, or one that names no contact."""

    reason: DropReason


Feedback = Engagement | Dropped


class WebhookError(ValueError):
    """A webhook body or event that is not what the ESP documents; the message says what."""


def text(record: Mapping[str, Any], name: str) -> str | None:
    """``record[name]`` when it is a non-empty string, else None."""
    value = record.get(name)
    return value if isinstance(value, str) and value else None


def iso_ms(value: object) -> int | None:
    """Epoch milliseconds of an ISO 8601 time with its offset (Postmark's), else None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return int(moment.timestamp() * 1000) if moment.tzinfo is not None else None


def engagement(
    esp: str,
    identity: tuple[object, ...],
    ids: Mapping[str, Any],
    kind: EngagementKind,
    at_ms: int | None,
    now_ms: int,
) -> Feedback:
    """The engagement event of ``kind`` for the contact ``ids`` name (the echoed metadata),
    identified by ``identity``; at the ESP's time, never later than ``now_ms`` (an event is
    not in the future, and a clock ahead of the gateway's would get it dead-lettered)."""
    contact = text(ids, CONTACT_ID_KEY)
    if contact is None:
        return Dropped("no_contact")
    name = "\x1f".join([esp, kind, *(str(part) for part in identity)])
    occurred = now_ms if at_ms is None else min(at_ms, now_ms)
    return Engagement(
        str(uuid.uuid5(FEEDBACK_NAMESPACE, name)),
        contact,
        occurred,
        kind,
        "email",
        text(ids, COMMAND_ID_KEY),
    )
