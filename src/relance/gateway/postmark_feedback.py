"""Postmark's webhook events, one JSON object a request, as engagement events. Pure.

``RecordType`` says what happened (Postmark's webhook reference; docs/gateway.md has the
table): a ``Bounce`` is a ``hard_bounce`` when its ``Type`` is ``HardBounce`` or
``BadEmailAddress``, a ``spam_complaint`` or ``unsubscribe`` for ``SpamComplaint`` or
``Unsubscribe``, and dropped ``soft_bounce`` for any other (``SoftBounce``, ``Transient``,
``DnsError`` ...); a ``SpamComplaint`` is a ``spam_complaint``; a ``SubscriptionChange``
that suppresses sending is a ``hard_bounce``, ``spam_complaint`` or ``unsubscribe`` by its
``SuppressionReason`` (``HardBounce``, ``SpamComplaint``, ``ManualSuppression``: the
recipient's unsubscribe on a broadcast stream, or the shop's); ``Open`` and ``Click`` are
``open`` and ``click``. A ``Delivery``, a reactivation and anything else are dropped
``not_engagement``.

The event's time is ``BouncedAt``, ``ReceivedAt`` or ``ChangedAt``; the contact and command
are ``Metadata``'s. A reactivation does not lift a bounce in relance: only a later consent
in a contact profile lifts an unsubscribe, and nothing lifts a bounce or a complaint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson

from relance.core.events import EngagementKind
from relance.gateway.feedback import Dropped, Feedback, WebhookError, engagement, iso_ms, text

ESP: Final = "postmark"
HARD_BOUNCES: Final = frozenset({"HardBounce", "BadEmailAddress"})
BOUNCE_KINDS: Final[dict[str, EngagementKind]] = {
    **dict.fromkeys(HARD_BOUNCES, "hard_bounce"),
    "SpamComplaint": "spam_complaint",
    "Unsubscribe": "unsubscribe",
}
SUPPRESSIONS: Final[dict[str, EngagementKind]] = {
    "HardBounce": "hard_bounce",
    "SpamComplaint": "spam_complaint",
    "ManualSuppression": "unsubscribe",
}
# The field that holds each record's time.
TIMES: Final = {
    "Bounce": "BouncedAt",
    "SpamComplaint": "BouncedAt",
    "Open": "ReceivedAt",
    "Click": "ReceivedAt",
    "SubscriptionChange": "ChangedAt",
}


def postmark_record(body: bytes) -> Mapping[str, Any]:
    """The one event of a Postmark webhook request, or WebhookError."""
    try:
        record = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise WebhookError(f"not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise WebhookError("not a JSON object")
    if text(record, "RecordType") is None:
        raise WebhookError("no RecordType")
    return record


def _kind(record: Mapping[str, Any]) -> EngagementKind | Dropped:
    what = record["RecordType"]
    if what == "Bounce":
        bounce = text(record, "Type")
        if bounce is None:
            raise WebhookError("a Bounce without its Type")
        return BOUNCE_KINDS.get(bounce) or Dropped("soft_bounce")
    if what == "SpamComplaint":
        return "spam_complaint"
    if what in ("Open", "Click"):
        return "open" if what == "Open" else "click"
    if what == "SubscriptionChange" and record.get("SuppressSending") is True:
        reason = text(record, "SuppressionReason")
        return (SUPPRESSIONS.get(reason) if reason else None) or Dropped("not_engagement")
    return Dropped("not_engagement")


def postmark_feedback(record: Mapping[str, Any], now_ms: int) -> Feedback:
    """What the Postmark event ``record`` (``postmark_record``) means to relance."""
    kind = _kind(record)
    if isinstance(kind, Dropped):
        return kind
    what = record["RecordType"]
    metadata = record.get("Metadata")
    at = record.get(TIMES[what])
    # Postmark gives no event id: what it sends again with a retried request names it.
    identity = (
        what,
        text(record, "MessageID") or text(record, "MessageId"),
        at,
        record.get("ID"),
        text(record, "OriginalLink"),
        text(record, "SuppressionReason"),
        text(record, "Email") or text(record, "Recipient"),
    )
    return engagement(
        ESP, identity, metadata if isinstance(metadata, dict) else {}, kind, iso_ms(at), now_ms
    )
