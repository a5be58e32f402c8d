"""Build the MIME message of a rendered send command, ready for any provider.

The Message-ID is derived from the command id, so a redelivered command yields the same
Message-ID and a receiving system (or a human) can tell the duplicate apart. A marketing
email carries ``List-Unsubscribe`` (the one-click link, and a ``mailto:`` when configured)
and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058), which Gmail and Yahoo
require of bulk senders; the relay's DKIM signature should cover both.
"""

from __future__ import annotations

import email.policy
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime, parseaddr
from typing import Any, Final

from relance.sender.errors import MessageError
from relance.sender.render import RenderedEmail

COMMAND_ID_HEADER: Final = "X-Relance-Command-Id"
ONE_CLICK: Final = "List-Unsubscribe=One-Click"


class UriListHeader(UnstructuredHeader):
    """``<uri>, <uri>`` folded between the URIs only. A signed link is longer than a header
    line's 78 characters, and the standard folding would turn it into encoded words, which
    readers of List-Unsubscribe (RFC 2369) do not decode; a line may be 998 long."""

    def fold(self, *, policy: Policy) -> str:
        uris = re.split(r"(?<=>),\s*(?=<)", str(self))
        name: str = self.name  # type: ignore[attr-defined]  # from the BaseHeader mixed in
        return f"{name}: " + f",{policy.linesep} ".join(uris) + policy.linesep


_HEADERS = HeaderRegistry()
# map_to_type mixes BaseHeader in itself, as it does for its own UnstructuredHeader.
_HEADERS.map_to_type("list-unsubscribe", UriListHeader)  # type: ignore[arg-type]  # BaseHeader is mixed in there
# The header objects keep this policy's classes whatever policy a provider flattens with.
MESSAGE_POLICY: Final = email.policy.default.clone(header_factory=_HEADERS)


def _domain_of(sender: str) -> str | None:
    _, address = parseaddr(sender)
    local, at, domain = address.rpartition("@")
    return domain if at and local and domain else None


def build_message(
    command: Mapping[str, Any],
    rendered: RenderedEmail,
    *,
    sender: str,
    domain: str | None = None,
    now: datetime | None = None,
) -> EmailMessage:
    """A multipart/alternative message (text, then HTML) addressed to the command's recipient.

    ``domain`` is the right-hand side of the Message-ID (default: the sender's domain);
    ``now`` is the Date header (default: the wall clock).
    """
    command_id = command.get("command_id")
    if not isinstance(command_id, str) or not command_id:
        raise MessageError(None, "the command has no command_id")
    recipient = command.get("recipient") or {}
    to = recipient.get("email") if isinstance(recipient, Mapping) else None
    if not isinstance(to, str) or not to.strip():
        raise MessageError(command_id, "the recipient has no email address")
    id_domain = domain or _domain_of(sender)
    if id_domain is None:
        raise MessageError(
            command_id,
            f"no domain for the Message-ID: sender {sender!r} has none and no domain was given",
        )
    message = EmailMessage(policy=MESSAGE_POLICY)
    try:
        message["From"] = sender
        message["To"] = to.strip()
        message["Subject"] = rendered.subject
        message["Date"] = format_datetime(now or datetime.now(UTC))
        message["Message-ID"] = f"<{command_id}@{id_domain}>"
        message[COMMAND_ID_HEADER] = command_id
        if rendered.list_unsubscribe:
            message["List-Unsubscribe"] = ", ".join(f"<{uri}>" for uri in rendered.list_unsubscribe)
            message["List-Unsubscribe-Post"] = ONE_CLICK
    except ValueError as exc:  # e.g. a header value with a line break in it
        raise MessageError(command_id, f"bad header: {exc}") from exc
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    # After the parts are made: making them moves the Content-* headers into the first.
    message["Content-Language"] = rendered.language
    return message
