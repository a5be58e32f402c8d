"""Postmark's Email API: one ``POST /email`` per message, authenticated by the server token.

The request is Postmark's JSON message: ``From``, ``To`` (``Cc``, ``Bcc``, ``ReplyTo`` when
the message has them), ``Subject``, ``TextBody`` and ``HtmlBody``, the message's other
headers as ``Headers`` (``[{"Name", "Value"}]``: ``Message-ID``, ``X-Relance-Command-Id``,
``List-Unsubscribe`` ...), the command and contact ids as ``Metadata``, the scenario as
``Tag``, and the ``MessageStream``: the marketing (broadcast) stream for marketing messages,
the transactional one for the others.

Postmark answers 200 with ``{"ErrorCode": 0, "Message": "OK", "MessageID", ...}`` when it
took the message, and otherwise an HTTP status with ``{"ErrorCode", "Message"}``: 422 for a
message it will not send (ErrorCode 300 invalid request, 405 not allowed to send, 406
inactive recipient, i.e. suppressed after a hard bounce, a spam complaint or an
unsubscribe ...), 401 for a bad token, 429 when sending too fast, 500 and 503 for its own
failures. 429, 5xx and ErrorCode 100 (maintenance) are temporary; any other refusal is
permanent, its ErrorCode and Message in the detail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Final

from relance.providers.base import Dispatch
from relance.providers.errors import DeliveryError, TemporaryDeliveryError
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

NAME: Final = "Postmark"
URL: Final = "https://api.postmarkapp.com"
# Postmark's API error codes (its API overview) that a send can meet, in words.
ERROR_CODES: Final = {
    10: "bad or missing server token",
    100: "maintenance",
    300: "invalid email request",
    400: "sender signature not found",
    401: "sender signature not confirmed",
    402: "invalid JSON",
    403: "incompatible JSON",
    405: "not allowed to send",
    406: "inactive recipient",
    409: "JSON required",
    412: "account is pending",
    413: "account may not send",
    429: "rate limit exceeded",
}
# Error codes that say "later", whatever the HTTP status they come with.
_LATER: Final = frozenset({100, 429})
_SPECIALS: Final = frozenset('()<>@,;:\\".[]')


def postmark_address(name: str, address: str) -> str:
    """``Name <address>``, the name quoted when it holds punctuation, as Postmark asks."""
    if not name:
        return address
    if _SPECIALS.intersection(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>"


def _list(addresses: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(postmark_address(name, address) for name, address in addresses)


def postmark_body(mail: Mail, dispatch: Dispatch | None, stream: str) -> dict[str, Any]:
    """The JSON of ``POST /email`` for ``mail``, sent through ``stream``."""
    body: dict[str, Any] = {
        "From": postmark_address(*mail.sender),
        "To": _list(mail.to),
        "Subject": mail.subject,
        "MessageStream": stream,
    }
    for key, addresses in (("Cc", mail.cc), ("Bcc", mail.bcc), ("ReplyTo", mail.reply_to)):
        if addresses:
            body[key] = _list(addresses)
    if mail.text is not None:
        body["TextBody"] = mail.text
    if mail.html is not None:
        body["HtmlBody"] = mail.html
    headers = mail.headers_for(dispatch)
    if headers:
        body["Headers"] = [{"Name": name, "Value": value} for name, value in headers]
    metadata = mail.metadata(dispatch)
    if metadata:
        body["Metadata"] = metadata
    if dispatch is not None and dispatch.scenario:
        body["Tag"] = dispatch.scenario
    return body


def _detail(answer: Mapping[str, Any], body: bytes) -> tuple[int | None, str]:
    code = answer.get("ErrorCode")
    message = answer.get("Message")
    if not isinstance(code, int) or isinstance(code, bool):
        return None, text_of(body)
    words = ERROR_CODES.get(code)
    said = shortened(message) if isinstance(message, str) and message else ""
    return code, f"ErrorCode {code}" + (f" ({words})" if words else "") + (
        f": {said}" if said else ""
    )


def postmark_refusal(
    status: int, body: bytes, headers: Mapping[str, str], now: float
) -> DeliveryError | None:
    """None when Postmark took the message, else what its answer means."""
    answer = json_object(body)
    code, detail = _detail(answer, body)
    if 200 <= status < 300 and not code:
        return None
    wait = retry_after(headers, now)
    if code in _LATER:
        return TemporaryDeliveryError(f"{NAME}: {detail}", status, wait)
    return by_status(NAME, status, detail, wait)


@dataclass(frozen=True)
class Postmark:
    """The adapter (``relance.providers.esp.Api``): the server token and the two streams'
    ids (a new server's are ``outbound`` and ``broadcast``)."""

    token: str = field(repr=False)
    transactional_stream: str = "outbound"
    marketing_stream: str = "broadcast"
    name: str = NAME

    def request(self, message: EmailMessage, dispatch: Dispatch | None) -> Request:
        marketing = dispatch is None or dispatch.marketing
        stream = self.marketing_stream if marketing else self.transactional_stream
        return Request(
            "/email",
            {
                "Accept": "application/json",
                "Content-Type": "application/json",
                "X-Postmark-Server-Token": self.token,
            },
            postmark_body(mail_of(message), dispatch, stream),
        )

    def refusal(
        self, status: int, body: bytes, headers: Mapping[str, str], now: float
    ) -> DeliveryError | None:
        return postmark_refusal(status, body, headers, now)
