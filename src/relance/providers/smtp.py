"""Deliver messages over SMTP with aiosmtplib, mapping every failure to retry-or-not.

One connection per message: slower than a pooled session, but nothing to keep alive, to
reconnect or to share between tasks, and a failed send never poisons the next one.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage

import aiosmtplib

from relance.providers.base import Dispatch
from relance.providers.errors import (
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)


class SmtpProvider:
    """An SMTP relay (``Provider``): plain, STARTTLS (``starttls``) or implicit TLS (``use_tls``).

    AUTH is used when ``username`` is set. ``tls_context`` overrides the system trust store
    (e.g. a private CA); without it certificates are verified against the system's.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        use_tls: bool = False,
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if starttls and use_tls:
            raise ValueError(
                "starttls and use_tls are exclusive: STARTTLS upgrades a plain "
                "connection, use_tls starts with TLS"
            )
        if password is not None and username is None:
            raise ValueError("a password without a username")
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.starttls = starttls
        self.use_tls = use_tls
        self.timeout = timeout
        self.tls_context = tls_context

    def __repr__(self) -> str:  # never shows the password
        return (
            f"SmtpProvider({self.host!r}, {self.port}, username={self.username!r}, "
            f"starttls={self.starttls}, use_tls={self.use_tls})"
        )

    async def send(self, message: EmailMessage, dispatch: Dispatch | None = None) -> None:
        """Send ``message`` to its To/Cc/Bcc recipients; raise a ``DeliveryError`` on failure.
        ``dispatch`` is for ESPs: the relay gets the command id in the message's headers."""
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password if self.username is not None else None,
            use_tls=self.use_tls,
            start_tls=self.starttls,
            timeout=self.timeout,
            tls_context=self.tls_context,
        )
        try:
            async with client:
                await client.send_message(message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise delivery_error(exc) from exc

    async def close(self) -> None:
        """Nothing to release: each message has its own connection."""


def _by_code(code: int, text: str) -> DeliveryError:
    if 500 <= code < 600:
        return PermanentDeliveryError(text, code)
    return TemporaryDeliveryError(text, code)


def _certificate_refused(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__
    return False


def delivery_error(exc: BaseException) -> DeliveryError:
    """The ``DeliveryError`` an aiosmtplib or network failure stands for.

    4xx replies, lost or refused connections and timeouts are temporary; 5xx replies, a
    refused recipient, failed AUTH, a missing extension (STARTTLS, AUTH, SMTPUTF8) and a
    certificate that does not verify are permanent: retrying the same thing will not help.
    """
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refusals = exc.recipients
        if refusals and all(400 <= r.code < 500 for r in refusals):
            return TemporaryDeliveryError(refusals[0].message, refusals[0].code)
        worst = next((r for r in refusals if not 400 <= r.code < 500), None)
        if worst is None:
            return PermanentDeliveryError("all recipients refused")
        return PermanentDeliveryError(f"{worst.recipient}: {worst.message}", worst.code)
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        return _by_code(exc.code, f"{exc.recipient}: {exc.message}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _by_code(exc.code, exc.message)
    if _certificate_refused(exc):
        return PermanentDeliveryError(f"TLS certificate refused: {exc}")
    if isinstance(exc, TimeoutError | ConnectionError | OSError):
        # aiosmtplib's connect, disconnect and timeout errors are ConnectionError/TimeoutError
        return TemporaryDeliveryError(str(exc) or type(exc).__name__)
    # SMTPNotSupported and plain SMTPException: STARTTLS or AUTH not offered, and the like
    return PermanentDeliveryError(str(exc) or type(exc).__name__)
