"""What the core decides: candidates from detectors, then send commands or suppressions.

A command's id is a UUID derived from (contact, scenario, instance, step): replaying the same
events yields the same ids, which is what lets the sender drop a redelivered command.

They are frozen msgspec structs: a few are built for every decision, and a frozen dataclass
costs ten to twenty times as much to build (it sets each field through ``object``).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, Final, Literal

import msgspec

from relance.core.timestamps import to_iso

COMMAND_NAMESPACE: Final = uuid.UUID("5b0f3c3e-8d1a-4f43-9a55-6a3c1b2f7e10")

SuppressionReason = Literal[
    "quiet_period",
    "no_address",
    "no_consent",
    "stale",
    "digested",
    "unsubscribed",
    "bounced",
    "complained",
    "lower_priority",
    "holdout",
    "frequency_cap",
    "unengaged",
    "opened",
    "clicked",
    "not_opened",
    "not_clicked",
]


_NAMESPACE_BYTES: Final = COMMAND_NAMESPACE.bytes
_VARIANT: Final = "89ab89ab89ab89ab"  # RFC 4122 variant: the top two bits of byte 8 are 10


def command_id(contact_id: str, scenario: str, instance: str, step: int) -> str:
    """``str(uuid.uuid5(COMMAND_NAMESPACE, name))``, spelled out: a quarter of the cost,
    and it runs for every decision."""
    name = f"{contact_id}\x1f{scenario}\x1f{instance}\x1f{step}".encode()
    h = hashlib.sha1(_NAMESPACE_BYTES + name).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[int(h[16], 16)]}{h[17:20]}-{h[20:32]}"


class Candidate(msgspec.Struct, frozen=True, gc=False):
    """A detector's wish to message a contact, before contact policy has had its say.

    ``payload`` is JSON-ready data for the template; it is built once and never mutated.
    """

    scenario: str
    instance: str
    step: int
    due_at: int
    payload: dict[str, Any]


class Recipient(msgspec.Struct, frozen=True, gc=False):
    email: str | None
    locale: str | None
    timezone: str | None
    phone: str | None = None
    first_name: str | None = None
    attributes: dict[str, str] | None = None  # the profile's, for the templates


class SendCommand(msgspec.Struct, frozen=True, gc=False):
    command_id: str
    contact_id: str
    scenario: str
    step: int
    channel: str
    template: str
    priority: int
    decided_at: int
    recipient: Recipient
    payload: dict[str, Any]
    variant: str | None = None  # the experiment variant the contact is assigned to
    # When the message is no longer worth sending (the journey's start + stale_after);
    # the sender gives up retrying then, or at its own delivery horizon if that is sooner.
    expires_at: int | None = None
    # A marketing message carries an unsubscribe link and List-Unsubscribe headers; a
    # transactional one (an order notification) does not need them.
    marketing: bool = True

    def to_record(self) -> dict[str, Any]:
        return {
            "command_id": self.command_id,
            "contact_id": self.contact_id,
            "scenario": self.scenario,
            "step": self.step,
            "channel": self.channel,
            "template": self.template,
            "priority": self.priority,
            "decided_at": to_iso(self.decided_at),
            "recipient": {
                "email": self.recipient.email,
                "locale": self.recipient.locale,
                "timezone": self.recipient.timezone,
                "phone": self.recipient.phone,
                "first_name": self.recipient.first_name,
                "attributes": self.recipient.attributes or {},
            },
            "payload": self.payload,
            "variant": self.variant,
            "expires_at": None if self.expires_at is None else to_iso(self.expires_at),
            "marketing": self.marketing,
        }


class Suppression(msgspec.Struct, frozen=True, gc=False):
    """A candidate that policy stopped, with the id the command would have had."""

    command_id: str
    contact_id: str
    scenario: str
    reason: SuppressionReason
    decided_at: int
    step: int = 1

    def to_record(self) -> dict[str, Any]:
        return {
            "command_id": self.command_id,
            "contact_id": self.contact_id,
            "scenario": self.scenario,
            "reason": self.reason,
            "decided_at": to_iso(self.decided_at),
        }


class Deferral(msgspec.Struct, frozen=True, gc=False):
    """A candidate held back by contact policy and planned again for ``until``."""

    command_id: str
    contact_id: str
    scenario: str
    reason: Literal["lower_priority", "frequency_cap", "quiet_hours"]
    decided_at: int
    until: int
    step: int = 1


class Attribution(msgspec.Struct, frozen=True, gc=False):
    """An order placed within a marketing message's window (``core.attribution``): the
    message's conversion, or its holdout's when the contact was held out of it.
    ``decided_at`` is the order's time; ``touch`` says which window: ``sent`` or
    ``clicked``."""

    command_id: str
    contact_id: str
    scenario: str
    step: int
    variant: str | None
    holdout: bool
    touch: Literal["sent", "clicked"]
    order_id: str
    revenue: float
    currency: str
    decided_at: int

    def to_record(self) -> dict[str, Any]:
        return {
            "outcome": "attributed",
            "contact_id": self.contact_id,
            "order_id": self.order_id,
            "revenue": self.revenue,
            "currency": self.currency,
            "command_id": self.command_id,
            "scenario": self.scenario,
            "step": self.step,
            "variant": self.variant,
            "holdout": self.holdout,
            "touch": self.touch,
            "decided_at": to_iso(self.decided_at),
        }


Outcome = SendCommand | Suppression | Deferral | Attribution


def decision_record(outcome: Outcome) -> dict[str, Any]:
    """What became of a candidate, for the decisions topic and ``simulate --explain``:
    ``sent`` (with its channel and template) or ``suppressed`` with the reason; or an
    order ``attributed`` to a message."""
    if isinstance(outcome, Attribution):
        return outcome.to_record()
    sent = isinstance(outcome, SendCommand)
    return {
        "command_id": outcome.command_id,
        "contact_id": outcome.contact_id,
        "scenario": outcome.scenario,
        "step": outcome.step,
        "outcome": "sent"
        if sent
        else "deferred"
        if isinstance(outcome, Deferral)
        else "suppressed",
        "reason": None if isinstance(outcome, SendCommand) else outcome.reason,
        "channel": outcome.channel if isinstance(outcome, SendCommand) else None,
        "template": outcome.template if isinstance(outcome, SendCommand) else None,
        "decided_at": to_iso(outcome.decided_at),
        "until": to_iso(outcome.until) if isinstance(outcome, Deferral) else None,
        "variant": outcome.variant if isinstance(outcome, SendCommand) else None,
    }
