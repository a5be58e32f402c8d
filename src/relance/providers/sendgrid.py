"""SendGrid's v3 Mail Send: one ``POST /v3/mail/send`` per message, with a Bearer API key.

The request is SendGrid's JSON: one ``personalizations`` entry (``to``, and ``cc``/``bcc``
when the message has them), ``from`` and ``reply_to`` as ``{"email", "name"}``, ``subject``,
``content`` (``text/plain`` first, then ``text/html``, as SendGrid requires), the message's
other headers as ``headers`` (its reserved ones left out, non-ASCII values RFC 2047-encoded
as it asks), the command and contact ids as ``custom_args`` (strings, echoed by its Event
Webhook in every event) and the scenario and the kind of message (``marketing`` or
``transactional``) as ``categories`` (US-ASCII, at most 10).

SendGrid answers 202 with an empty body when it queued the message (200 in sandbox mode),
and otherwise an HTTP status with ``{"errors": [{"message", "field", "help"}]}``: 400 for a
request it refuses, 401/403 for the key, 413 for a body too large, 429 when the rate limit
is reached (``X-RateLimit-Reset``: the Unix time it resets), 500 and 503 for its own
failures. 429 and 5xx are temporary, waiting for ``Retry-After`` or the reset when given;
any other refusal is permanent, with SendGrid's messages in the detail. A suppressed
recipient (bounced, unsubscribed) is not refused here: SendGrid accepts the message and
drops it, which only its Event Webhook tells.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from email.header import Header
from email.message import EmailMessage
from typing import Any, Final

from relance.providers.base import Dispatch
from relance.providers.errors import DeliveryError
from relance.providers.esp import (
    Mail,
    Request,
    by_status,
    json_object,
    mail_of,
    retry_after,
    shortened,
    text_of,
)

NAME: Final = "SendGrid"
URL: Final = "https://api.sendgrid.com"
# Headers SendGrid does not let a request set (its Mail Send reference).
RESERVED: Final = frozenset(
    {
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "content-type",
        "content-transfer-encoding",
        "to",
        "from",
        "subject",
        "reply-to",
        "cc",
        "bcc",
    }
)
_MOST_CATEGORY: Final = 255


def _address(name: str, address: str) -> dict[str, str]:
    return {"email": address, "name": name} if name else {"email": address}


def _header_value(value: str) -> str:
    # RFC 2047 words of at most 75 characters, on one line: a JSON value is not folded.
    return value if value.isascii() else Header(value, "utf-8").encode(linesep=" ")


def _categories(dispatch: Dispatch) -> list[str]:
    kind = "marketing" if dispatch.marketing else "transactional"
    return [
        name
        for name in dict.fromkeys((dispatch.scenario, kind))
        if name and name.isascii() and len(name) <= _MOST_CATEGORY
    ]


def sendgrid_body(mail: Mail, dispatch: Dispatch | None) -> dict[str, Any]:
    """The JSON of ``POST /v3/mail/send`` for ``mail``."""
    personalization: dict[str, Any] = {"to": [_address(*a) for a in mail.to]}
    for key, addresses in (("cc", mail.cc), ("bcc", mail.bcc)):
        if addresses:
            personalization[key] = [_address(*a) for a in addresses]
    content = [
        {"type": kind, "value": value}
        for kind, value in (("text/plain", mail.text), ("text/html", mail.html))
        if value
    ]
    body: dict[str, Any] = {
        "personalizations": [personalization],
        "from": _address(*mail.sender),
        "subject": mail.subject,
        "content": content,
    }
    if mail.reply_to:
        body["reply_to"] = _address(*mail.reply_to[0])
    headers = {
        name: _header_value(value)
        for name, value in mail.headers_for(dispatch)
        if name.lower() not in RESERVED
    }
    if headers:
        body["headers"] = headers
    custom_args = mail.metadata(dispatch)
    if custom_args:
        body["custom_args"] = custom_args
    if dispatch is not None and (categories := _categories(dispatch)):
        body["categories"] = categories
    return body


def _detail(answer: Mapping[str, Any], body: bytes) -> str:
    errors = answer.get("errors")
    if not isinstance(errors, list):
        return text_of(body)
    said = []
    for error in errors:
        if isinstance(error, Mapping) and isinstance(error.get("message"), str):
            where = error.get("field")
            said.append(
                f"{where}: {error['message']}"
                if isinstance(where, str) and where
                else error["message"]
            )
    return shortened("; ".join(said)) if said else text_of(body)


def _reset_wait(headers: Mapping[str, str], now: float) -> float | None:
    reset = headers.get("X-RateLimit-Reset", "").strip()
    return max(0.0, int(reset) - now) if reset.isdigit() else None


def sendgrid_refusal(
    status: int, body: bytes, headers: Mapping[str, str], now: float
) -> DeliveryError | None:
    """None when SendGrid took the message, else what its answer means."""
    if 200 <= status < 300:
        return None
    wait = retry_after(headers, now)
    if wait is None and status == 429:
        wait = _reset_wait(headers, now)
    return by_status(NAME, status, _detail(json_object(body), body), wait)


@dataclass(frozen=True)
class SendGrid:
    """The adapter (``relance.providers.esp.Api``): the API key (a Mail Send permission is
    enough)."""

    api_key: str = field(repr=False)
    name: str = NAME

    def request(self, message: EmailMessage, dispatch: Dispatch | None) -> Request:
        return Request(
            "/v3/mail/send",
            {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
            sendgrid_body(mail_of(message), dispatch),
        )

    def refusal(
        self, status: int, body: bytes, headers: Mapping[str, str], now: float
    ) -> DeliveryError | None:
        return sendgrid_refusal(status, body, headers, now)
