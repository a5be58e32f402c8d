"""An embedded SMTP server that saves what it receives as .eml files, for the demo and tests.

It runs aiosmtpd in a thread of its own, so it serves blocking and asyncio clients alike.
Every accepted message lands in ``outbox/`` as ``<timestamp>-<n>.eml``, which any mail
client opens; with ``index`` it is also listed in ``outbox/index.html`` (``outbox_index``).
``reject`` makes it answer like a real relay that refuses (451, 550, ...), ``tls_context``
offers STARTTLS and ``require_auth`` demands AUTH LOGIN/PLAIN.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import hmac
import logging
import os
import ssl
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from relance.demo.outbox_index import OutboxIndex
from relance.demo.ports import free_port

log = logging.getLogger(__name__)
Rejection = Callable[[Envelope], tuple[int, str] | None]


class _Outbox:
    """aiosmtpd handler: consult ``reject`` at the end of DATA, else save the message."""

    def __init__(
        self, folder: Path, reject: Rejection | None, delay: float, index: OutboxIndex | None = None
    ) -> None:
        self.folder = folder
        self.reject = reject
        self.delay = delay
        self.index = index
        self.lock = threading.Lock()
        self.saved: list[Path] = []

    async def handle_DATA(  # noqa: N802 (aiosmtpd hook)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        answer = self.reject(envelope) if self.reject is not None else None
        if answer is not None:
            code, text = answer
            return f"{code} {text}"
        content = envelope.original_content or envelope.content or b""
        self.save(content if isinstance(content, bytes) else content.encode())
        return "250 2.0.0 OK: saved"

    def save(self, content: bytes) -> Path:
        """Write to a temporary file, then rename: a reader never sees half a message."""
        with self.lock:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
            path = self.folder / f"{stamp}-{len(self.saved) + 1:06d}.eml"
            fd, temp = tempfile.mkstemp(dir=self.folder, prefix=".incoming-", suffix=".tmp")
            with os.fdopen(fd, "wb") as out:
                out.write(content)
            Path(temp).replace(path)
            self.saved.append(path)
            if self.index is not None:
                try:
                    self.index.add(path, content)
                except Exception:  # the .eml is saved; a page that cannot list it is no reason
                    log.exception("%s could not be listed in the outbox index", path.name)
        return path


class MailSink:
    """An SMTP server on ``host:port`` (port 0: a free one) saving mail into ``outbox``.

    With ``tls_context`` it offers STARTTLS and requires it before MAIL; with
    ``require_auth=(user, password)`` it requires AUTH (after STARTTLS when TLS is on);
    ``delay`` seconds pass before each message is answered, like a slow relay; ``index``
    keeps ``outbox/index.html`` listing what arrived (the demo's). ``stop`` and
    ``start`` again take it down and bring it back on the same port, keeping what it saved
    (a relay outage).
    """

    def __init__(
        self,
        outbox: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls_context: ssl.SSLContext | None = None,
        require_auth: tuple[str, str] | None = None,
        reject: Rejection | None = None,
        delay: float = 0.0,
        index: bool = False,
    ) -> None:
        self.outbox = outbox
        self.host = host
        self.port = port
        self.tls_context = tls_context
        self.require_auth = require_auth
        self._handler = _Outbox(outbox, reject, delay, OutboxIndex(outbox) if index else None)
        self._controller: Controller | None = None

    def start(self) -> None:
        if self._controller is not None:
            raise RuntimeError("the mail sink is already running")
        self.outbox.mkdir(parents=True, exist_ok=True)
        port = self.port or free_port(self.host)
        options: dict[str, Any] = {}
        if self.tls_context is not None:
            options.update(tls_context=self.tls_context, require_starttls=True)
        if self.require_auth is not None:
            options.update(
                authenticator=self._authenticate,
                auth_required=True,
                auth_require_tls=self.tls_context is not None,
            )
        controller = Controller(
            self._handler,
            hostname=self.host,
            port=port,
            server_hostname="relance-mailsink",
            **options,
        )
        controller.start()
        self._controller = controller
        self.port = port

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def paths(self) -> list[Path]:
        """The .eml files this sink saved, in arrival order."""
        with self._handler.lock:
            return list(self._handler.saved)

    def messages(self) -> list[EmailMessage]:
        """The messages this sink accepted, parsed, in arrival order."""
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in self.paths()
        ]

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self.require_auth is not None
        if mechanism not in ("LOGIN", "PLAIN") or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = (part.encode() for part in self.require_auth)
        ok = hmac.compare_digest(auth_data.login, user) & hmac.compare_digest(
            auth_data.password, password
        )
        return AuthResult(success=ok, handled=False)
