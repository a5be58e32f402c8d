"""The engagement events the gateway writes, one per answer that changes something.

Their event ids are deterministic: a UUIDv5 of contact, channel, scope, purpose and the
token's issue time (a click's also of its message and URL, so two links of one message are
two clicks). The same link followed twice writes the same event, which the worker applies
once (it drops an event id a contact already had within ``inputs.dedupe_window``); the
gateway does not even write it again while it remembers the id. Pure.
"""

from __future__ import annotations

import uuid
from typing import Final

from relance.core.events import Engagement
from relance.tokens import Claims

EVENT_NAMESPACE: Final = uuid.UUID("4923134e-eded-4e20-b8e6-9ba5e2573044")


def event_id(claims: Claims, purpose: str, scope: str) -> str:
    parts = [claims.contact_id, claims.channel, scope, purpose, str(claims.issued_at)]
    if purpose == "click":
        parts += [claims.command_id or "", claims.url or ""]
    return str(uuid.uuid5(EVENT_NAMESPACE, "\x1f".join(parts)))


def unsubscribe(claims: Claims, scope: str, now_ms: int) -> Engagement:
    """``claims``' contact leaves ``scope`` (``all`` or a family) on its channel; the
    purpose is the link's (a one-click unsubscribe or a choice on the preference page)."""
    return Engagement(
        event_id(claims, claims.purpose, scope),
        claims.contact_id,
        now_ms,
        "unsubscribe",
        claims.channel,
        claims.command_id,
        scope,
    )


def click(claims: Claims, now_ms: int) -> Engagement:
    """The contact followed the link of message ``claims.command_id`` to ``claims.url``."""
    return Engagement(
        event_id(claims, "click", claims.scope),
        claims.contact_id,
        now_ms,
        "click",
        claims.channel,
        claims.command_id,
    )
