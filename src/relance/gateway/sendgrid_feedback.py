"""SendGrid's Event Webhook, a JSON array of events a request, as engagement events. Pure.

``event`` says what happened (SendGrid's Event Webhook reference; docs/gateway.md has the
table): ``bounce`` is a ``hard_bounce`` unless its ``type`` is ``blocked`` (a temporary
refusal: dropped ``soft_bounce``); ``dropped`` for one of SendGrid's suppression lists
(``reason`` ``Bounced Address``, ``Spam Reporting Address``, ``Unsubscribed Address``) is a
``hard_bounce``, ``spam_complaint`` or ``unsubscribe``; ``spamreport`` a ``spam_complaint``;
``unsubscribe`` and ``group_unsubscribe`` an ``unsubscribe`` of all the channel's marketing;
``open`` an ``open`` unless ``sg_machine_open`` (Apple Mail's privacy proxy fetched it, not
the contact: dropped ``machine_open``); ``click`` a ``click``. Anything else (``processed``,
``delivered``, ``deferred``, ``group_resubscribe`` ...) is dropped ``not_engagement``.

The time is ``timestamp`` (Unix seconds), the contact and command the event's own
``relance_contact_id`` and ``relance_command_id`` (``custom_args`` are at the top level of
each event), its identity ``sg_event_id``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

from relance.core.events import EngagementKind
from relance.gateway.feedback import Dropped, Feedback, WebhookError, engagement, text

ESP: Final = "sendgrid"
KINDS: Final[dict[str, EngagementKind]] = {
    "spamreport": "spam_complaint",
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "unsubscribe",
    "open": "open",
    "click": "click",
}
DROPPED_BY_LIST: Final[dict[str, EngagementKind]] = {
    "Bounced Address": "hard_bounce",
    "Spam Reporting Address": "spam_complaint",
    "Unsubscribed Address": "unsubscribe",
}


def sendgrid_events(body: bytes) -> Sequence[object]:
    """The events of a SendGrid webhook request (each checked by ``sendgrid_feedback``), or
    WebhookError when the body is no JSON array."""
    try:
        events = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise WebhookError(f"not JSON: {exc}") from None
    if not isinstance(events, list):
        raise WebhookError("not a JSON array of events")
    return events


def _kind(event: Mapping[str, Any], what: str) -> EngagementKind | Dropped:
    if what == "bounce":
        return Dropped("soft_bounce") if event.get("type") == "blocked" else "hard_bounce"
    if what == "dropped":
        reason = text(event, "reason")
        return (DROPPED_BY_LIST.get(reason) if reason else None) or Dropped("not_engagement")
    if what == "open" and event.get("sg_machine_open") is True:
        return Dropped("machine_open")
    return KINDS.get(what) or Dropped("not_engagement")


def sendgrid_feedback(event: object, now_ms: int) -> Feedback:
    """What one event of a SendGrid batch means to relance; WebhookError if it is no event."""
    if not isinstance(event, dict):
        raise WebhookError("an event that is not a JSON object")
    what = text(event, "event")
    if what is None:
        raise WebhookError("an event without its 'event'")
    kind = _kind(event, what)
    if isinstance(kind, Dropped):
        return kind
    stamp = event.get("timestamp")
    at = (
        int(stamp * 1000)
        if isinstance(stamp, int | float) and not isinstance(stamp, bool)
        else None
    )
    identity = (
        text(event, "sg_event_id") or "",
        text(event, "sg_message_id"),
        stamp,
        text(event, "url"),
    )
    return engagement(ESP, identity, event, kind, at, now_ms)
