"""Deliver SMS through an HTTP gateway: one JSON POST per message.

The request is ``{"id", "to", "from", "text"}`` with the command id also in an
``Idempotency-Key`` header, so a gateway that honours it drops a repeated send. A 2xx reply
is delivery; 408, 425, 429 and 5xx, a timeout or a refused connection are temporary; any
other reply is permanent. Most SMS APIs (and a small adapter in front of the others) take
this shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from relance.providers.errors import PermanentDeliveryError, TemporaryDeliveryError

_TEMPORARY = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class SmsMessage:
    command_id: str
    to: str
    text: str


class HttpSmsProvider:
    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        sender: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.url = url
        self.token = token
        self.sender = sender
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, message: SmsMessage) -> None:
        headers = {"Idempotency-Key": message.command_id}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = {
            "id": message.command_id,
            "to": message.to,
            "from": self.sender,
            "text": message.text,
        }
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout) as session,
                session.post(self.url, json=body, headers=headers) as reply,
            ):
                if 200 <= reply.status < 300:
                    return
                text = (await reply.text())[:200]
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TemporaryDeliveryError(f"SMS gateway unreachable: {exc!r}") from None
        if reply.status in _TEMPORARY or reply.status >= 500:
            raise TemporaryDeliveryError(text or reply.reason or "", reply.status)
        raise PermanentDeliveryError(text or reply.reason or "", reply.status)
