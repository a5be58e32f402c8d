"""Email through an ESP's HTTP API: the transport Postmark's and SendGrid's adapters share.

An adapter (``relance.providers.postmark``, ``relance.providers.sendgrid``) is pure: it turns
the message the SMTP path would send into the ESP's JSON request, and the ESP's answer into
nothing (accepted) or a ``DeliveryError``. ``EspProvider`` posts it with one aiohttp session
per provider (kept alive between sends, closed when the sender stops) and turns network
failures and timeouts into temporary errors.

Neither ESP takes an idempotency key on its send endpoint: the command id rides in the
message (the ``X-Relance-Command-Id`` header and the ESP's metadata, which its webhooks echo),
and the sender's ledger is what keeps a redelivered command from being sent again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage, MIMEPart
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any, Final, Protocol

import aiohttp
import orjson

from relance.providers.base import Dispatch
from relance.providers.errors import (
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)

COMMAND_ID_HEADER: Final = "X-Relance-Command-Id"
# The metadata keys an ESP's webhooks echo: prefixed, since SendGrid puts custom_args at the
# top level of each event, beside its own "email", "event" and "timestamp".
COMMAND_ID_KEY: Final = "relance_command_id"
CONTACT_ID_KEY: Final = "relance_contact_id"

# Headers the request carries as fields of their own, or that the ESP writes itself.
_AS_FIELDS: Final = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "subject",
        "date",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)
_MOST_BODY: Final = 64 * 1024  # bytes of an answer read: its error, not a page of HTML


@dataclass(frozen=True, slots=True)
class Mail:
    """What an ESP's JSON takes of a message: addresses as (name, address) pairs, both
    bodies, and the headers that are not fields of their own, in the message's order."""

    sender: tuple[str, str]
    to: tuple[tuple[str, str], ...]
    cc: tuple[tuple[str, str], ...]
    bcc: tuple[tuple[str, str], ...]
    reply_to: tuple[tuple[str, str], ...]
    subject: str
    text: str | None
    html: str | None
    headers: tuple[tuple[str, str], ...]
    command_id: str | None

    def headers_for(self, dispatch: Dispatch | None) -> tuple[tuple[str, str], ...]:
        """The headers to pass on, the command id's among them even if the message lacks it."""
        if dispatch is None or self.command_id is not None:
            return self.headers
        return (*self.headers, (COMMAND_ID_HEADER, dispatch.command_id))

    def metadata(self, dispatch: Dispatch | None) -> dict[str, str]:
        """The command (and contact) id for the ESP to keep and echo in its webhooks."""
        found = {}
        command_id = dispatch.command_id if dispatch is not None else self.command_id
        if command_id:
            found[COMMAND_ID_KEY] = command_id
        if dispatch is not None and dispatch.contact_id:
            found[CONTACT_ID_KEY] = dispatch.contact_id
        return found


def _addresses(message: EmailMessage, name: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        (display, address)
        for display, address in getaddresses([str(value) for value in message.get_all(name, [])])
        if address
    )


def _body(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body((subtype,))
    if not isinstance(part, MIMEPart):
        return None
    content = part.get_content()
    return content if isinstance(content, str) else None


def mail_of(message: EmailMessage) -> Mail:
    """The parts of ``message`` an ESP request is built from (raises ``ValueError`` without a
    From or a To address)."""
    (sender, *_) = _addresses(message, "From") or (None,)
    to = _addresses(message, "To")
    if sender is None or not to:
        raise ValueError("the message has no From or no To address")
    headers = tuple(
        (name, str(value)) for name, value in message.items() if name.lower() not in _AS_FIELDS
    )
    command_id = message.get(COMMAND_ID_HEADER)
    return Mail(
        sender,
        to,
        _addresses(message, "Cc"),
        _addresses(message, "Bcc"),
        _addresses(message, "Reply-To"),
        str(message.get("Subject", "")),
        _body(message, "plain"),
        _body(message, "html"),
        headers,
        str(command_id) if command_id else None,
    )


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """The seconds a ``Retry-After`` header asks to wait (a number of seconds, or an HTTP
    date), or None when there is none or it cannot be read."""
    value = headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, at.timestamp() - now)


def shortened(text: str, most: int = 300) -> str:
    """An ESP's message for an error detail: one line, and not a page long."""
    line = " ".join(text.split())
    return line if len(line) <= most else line[: most - 1] + "…"


@dataclass(frozen=True, slots=True)
class Request:
    path: str
    headers: Mapping[str, str]
    body: dict[str, Any]


class Api(Protocol):
    """One ESP's adapter: pure, no I/O."""

    @property
    def name(self) -> str:
        """How errors and logs name the ESP."""
        ...

    def request(self, message: EmailMessage, dispatch: Dispatch | None) -> Request: ...

    def refusal(
        self, status: int, body: bytes, headers: Mapping[str, str], now: float
    ) -> DeliveryError | None:
        """None when the ESP accepted the message, else what its answer means."""
        ...


class EspProvider:
    """A ``Provider`` posting each message to ``base_url`` as ``api`` builds it."""

    def __init__(
        self,
        api: Api,
        base_url: str,
        *,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api = api
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # never shows the token
        return f"EspProvider({self.api.name}, {self.base_url!r})"

    def _opened(self) -> aiohttp.ClientSession:
        # Opened on the first send, inside the sender's event loop, which it belongs to.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def send(self, message: EmailMessage, dispatch: Dispatch | None = None) -> None:
        try:
            request = self.api.request(message, dispatch)
        except ValueError as exc:  # a message no ESP request can carry: the same every time
            raise PermanentDeliveryError(f"{self.api.name}: {exc}") from exc
        try:
            async with self._opened().post(
                self.base_url + request.path,
                data=orjson.dumps(request.body),
                headers=request.headers,
            ) as reply:
                status, headers = reply.status, reply.headers
                body = b""
                async for chunk in reply.content.iter_chunked(8192):
                    body += chunk
                    if len(body) >= _MOST_BODY:
                        break
        except aiohttp.ClientConnectorCertificateError as exc:
            raise PermanentDeliveryError(
                f"{self.api.name}: TLS certificate refused: {exc.certificate_error}"
            ) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TemporaryDeliveryError(
                f"{self.api.name} unreachable: {str(exc) or type(exc).__name__}"
            ) from exc
        refused = self.api.refusal(status, body, headers, self.clock())
        if refused is not None:
            raise refused

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def temporary_status(status: int) -> bool:
    """HTTP answers worth trying again: rate limited, timed out, the ESP's own failure."""
    return status in (408, 429) or status >= 500


def json_object(body: bytes) -> dict[str, Any]:
    """An answer's JSON object, or an empty one when it is not JSON (a proxy's HTML page)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def text_of(body: bytes) -> str:
    return shortened(body.decode("utf-8", "replace"))


def by_status(name: str, status: int, detail: str, wait: float | None = None) -> DeliveryError:
    """The error an HTTP refusal stands for: temporary (with the wait asked) or permanent."""
    text = f"{name}: {detail}" if detail else name
    if temporary_status(status):
        return TemporaryDeliveryError(text, status, wait)
    return PermanentDeliveryError(text, status)
