"""The gateway's ESP webhooks: ``POST {base}/webhooks/postmark`` and
``POST {base}/webhooks/sendgrid``, each served only when its credential is configured.

A request is checked first (SendGrid's signature, Postmark's HTTP Basic credentials: a
``401`` and nothing written otherwise), then read (a body that is not what the ESP sends:
``400``, counted), then every event it holds that means something to relance is written to
the engagement topic, and only once the broker has acknowledged them all does it answer
``200``. If one is not acknowledged the answer is ``503``: the ESP sends the whole request
again later, and the events written the first time are written again with the same ids,
which the worker applies once; so a request is all or nothing as the worker sees it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Final

from cryptography.hazmat.primitives.asymmetric import ec

from relance.core.events import Engagement
from relance.errors import BrokerError
from relance.gateway.answers import REMEMBERED, Writer
from relance.gateway.feedback import Dropped, Feedback, WebhookError
from relance.gateway.postmark_feedback import postmark_feedback, postmark_record
from relance.gateway.sendgrid_feedback import sendgrid_events, sendgrid_feedback
from relance.gateway.signatures import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    basic_auth_matches,
    signed_by,
)
from relance.host.process import WebAnswer, WebRequest
from relance.metrics import GatewayMetrics

log = logging.getLogger(__name__)

PATHS: Final = {"postmark": "/webhooks/postmark", "sendgrid": "/webhooks/sendgrid"}
WAIT: Final = 5.0  # for the acknowledgement of a request's events; then a 503
# A SendGrid batch is a few hundred KB; a Postmark bounce with its content (IncludeContent)
# holds the whole message. Past this the host answers 413, which the ESPs do not retry.
MAX_BODY: Final = 10 * 1024 * 1024
_TEXT: Final = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


class Webhooks:
    """``postmark_auth``: the digest of the Postmark webhook's ``user:password``
    (``signatures.credentials``); ``sendgrid_key``: the key SendGrid signs with; either
    None when that ESP's webhook is off. ``write`` and ``clock`` are the gateway's."""

    def __init__(
        self,
        *,
        postmark_auth: bytes | None,
        sendgrid_key: ec.EllipticCurvePublicKey | None,
        write: Writer,
        clock: Callable[[], int],
        metrics: GatewayMetrics,
    ) -> None:
        self.postmark_auth = postmark_auth
        self.sendgrid_key = sendgrid_key
        self.write = write
        self.clock = clock
        self.metrics = metrics
        self._written: OrderedDict[str, None] = OrderedDict()

    @property
    def served(self) -> tuple[str, ...]:
        """The ESPs whose webhook is on."""
        return tuple(
            esp
            for esp, on in (
                ("postmark", self.postmark_auth is not None),
                ("sendgrid", self.sendgrid_key is not None),
            )
            if on
        )

    async def postmark(self, request: WebRequest) -> WebAnswer:
        if self.postmark_auth is None or not basic_auth_matches(
            request.headers.get("authorization"), self.postmark_auth
        ):
            return self._answer(
                "postmark",
                "unauthorized",
                401,
                {"WWW-Authenticate": 'Basic realm="relance webhooks"'},
            )
        try:
            found = [postmark_feedback(postmark_record(request.body), self.clock())]
        except WebhookError as exc:
            return self._malformed("postmark", exc)
        return await self._written_all("postmark", found)

    async def sendgrid(self, request: WebRequest) -> WebAnswer:
        if self.sendgrid_key is None or not signed_by(
            self.sendgrid_key,
            request.headers.get(SIGNATURE_HEADER),
            request.headers.get(TIMESTAMP_HEADER),
            request.body,
        ):
            return self._answer("sendgrid", "unauthorized", 401)
        now = self.clock()
        found: list[Feedback] = []
        try:
            for event in sendgrid_events(request.body):
                try:
                    found.append(sendgrid_feedback(event, now))
                except WebhookError as exc:  # one broken event does not refuse its batch
                    log.warning("a SendGrid webhook event was dropped: %s", exc)
                    self.metrics.webhook_events.labels("sendgrid", "malformed").inc()
        except WebhookError as exc:
            return self._malformed("sendgrid", exc)
        return await self._written_all("sendgrid", found)

    async def _written_all(self, esp: str, found: Sequence[Feedback]) -> WebAnswer:
        """Every engagement of ``found`` written (those written lately by this process
        aside), all acknowledged: 200; else 503."""
        events: dict[str, Engagement] = {}
        for item in found:
            if isinstance(item, Dropped):
                self.metrics.webhook_events.labels(esp, item.reason).inc()
            elif item.event_id in self._written or item.event_id in events:
                self.metrics.webhook_events.labels(esp, "repeated").inc()
            else:
                events[item.event_id] = item
        started = time.perf_counter()
        results = await asyncio.gather(
            *(self.write(e, WAIT) for e in events.values()), return_exceptions=True
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            for error in failed:
                if not isinstance(error, BrokerError):
                    raise error
            log.warning(
                "%d of %d %s webhook events were not written: %s",
                len(failed),
                len(events),
                esp,
                failed[0],
            )
            return self._answer(esp, "unavailable", 503, {"Retry-After": "60"})
        if events:
            self.metrics.write_latency.observe(time.perf_counter() - started)
        for event in events.values():
            self.metrics.events_written.labels(event.kind, event.scope).inc()
            self.metrics.webhook_events.labels(esp, "written").inc()
            self._remember(event.event_id)
        return self._answer(esp, "written", 200)

    def _remember(self, event_id: str) -> None:
        self._written[event_id] = None
        if len(self._written) > REMEMBERED:
            self._written.popitem(last=False)

    def _malformed(self, esp: str, exc: WebhookError) -> WebAnswer:
        log.warning("a %s webhook request was refused: %s", esp, exc)
        return self._answer(esp, "malformed", 400, body=f"malformed: {exc}\n")

    def _answer(
        self,
        esp: str,
        outcome: str,
        status: int,
        extra: dict[str, str] | None = None,
        body: str | None = None,
    ) -> WebAnswer:
        self.metrics.webhook_requests.labels(esp, outcome).inc()
        return WebAnswer(status, (body or f"{outcome}\n").encode(), {**_TEXT, **(extra or {})})
