"""What the gateway answers each link: the token checked, the page in the contact's
language, and (for a POST or a tracked click) one engagement event written, acknowledged by
the broker before the answer says it was done.

Nothing is written for a GET of the unsubscribe or preference page: mail scanners and link
previews open links, and only the button (or a mail client's RFC 8058 POST) unsubscribes.
CSRF cannot make a contact do anything here: the token in the URL is the whole authority,
only the contact's messages carry it, and a page elsewhere that POSTs to a link it knows
could as well POST itself. The one redirect is a click link's, to the exact URL signed in
its token, so the gateway is no open redirect.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Final
from urllib.parse import parse_qsl, urlsplit

from relance.core.events import CHANNELS, FAMILIES, SCOPES, Engagement
from relance.errors import BrokerError
from relance.gateway import engagements
from relance.gateway.languages import negotiate
from relance.gateway.links import ROUTES
from relance.gateway.pages import (
    Shop,
    Wording,
    headers,
    page,
    paragraph,
    preferences_form,
    shop_links,
    unsubscribe_form,
)
from relance.gateway.texts import TEXTS
from relance.host.process import WebAnswer, WebRequest
from relance.metrics import GatewayMetrics
from relance.tokens import Claims, Key, TokenError, verify

log = logging.getLogger(__name__)

# Writes an event to the engagement topic: returns once acknowledged, or raises BrokerError
# past its wait (seconds).
Writer = Callable[[Engagement, float], Awaitable[None]]
WAIT: Final = 10.0  # for an unsubscribe's acknowledgement; then a page to try again
CLICK_WAIT: Final = 2.0  # for a click's: the shopper goes on to the shop regardless
REMEMBERED: Final = 20_000  # event ids written lately, not written again (~3 MB)
_EXPIRED: Final = frozenset({"expired", "unknown_key"})  # a valid link of another age


class Gateway:
    """``keys`` verify the tokens, ``max_age`` (seconds per purpose) bounds their age;
    ``families`` are those the preference page offers per channel (the scenario file's);
    ``write`` writes an event to the engagement topic; ``clock`` is epoch milliseconds;
    ``clicks``: whether a followed click link writes a click event (it redirects either
    way)."""

    def __init__(
        self,
        *,
        keys: Sequence[Key],
        max_age: Mapping[str, int],
        shop: Shop,
        families: Mapping[str, tuple[str, ...]],
        write: Writer,
        clock: Callable[[], int],
        metrics: GatewayMetrics,
        clicks: bool,
    ) -> None:
        self.keys = keys
        self.max_age = max_age
        self.shop = shop
        self.families = families
        self.write = write
        self.clock = clock
        self.metrics = metrics
        self.clicks = clicks
        self.default = negotiate(shop.default_locale, None, "en", TEXTS)
        self._written: OrderedDict[str, None] = OrderedDict()

    async def answer(self, route: str, request: WebRequest) -> WebAnswer:
        """The answer to ``request`` on ``route`` (``u``, ``p`` or ``c``)."""
        purpose = ROUTES[route]
        language = negotiate(
            request.query.get("lang"), request.headers.get("accept-language"), self.default, TEXTS
        )
        try:
            claims = verify(
                request.params.get("token", ""),
                self.keys,
                now=self.clock() // 1000,
                max_age=self.max_age,
            )
        except TokenError as exc:
            return self._refused(
                purpose, language, "expired" if exc.reason in _EXPIRED else "invalid"
            )
        if (
            claims.purpose != purpose
            or claims.channel not in CHANNELS
            or (purpose == "unsubscribe" and claims.scope not in SCOPES)
        ):
            return self._refused(purpose, language, "invalid")
        words = Wording(language, self.shop, claims.channel)
        if purpose == "click":
            return await self._click(claims, language)
        if request.method != "POST":
            body = (
                unsubscribe_form(words)
                if purpose == "unsubscribe"
                else preferences_form(words, self._offered(claims.channel))
            )
            title = f"{purpose}_title"
            return self._page(purpose, "page", 200, words, title, body)
        if purpose == "unsubscribe":
            return await self._unsubscribe(claims, claims.scope, words)
        scope = dict(parse_qsl(request.body.decode("utf-8", "replace"))).get("scope")
        if scope is None or (scope != "all" and scope not in self._offered(claims.channel)):
            body = preferences_form(words, self._offered(claims.channel), error=True)
            return self._page(purpose, "bad_request", 400, words, "preferences_title", body)
        return await self._unsubscribe(claims, scope, words)

    def _offered(self, channel: str) -> tuple[str, ...]:
        return self.families.get(channel) or FAMILIES

    async def _unsubscribe(self, claims: Claims, scope: str, words: Wording) -> WebAnswer:
        event = engagements.unsubscribe(claims, scope, self.clock())
        outcome = await self._written_once(event)
        if outcome == "unavailable":
            return self._page(
                claims.purpose,
                outcome,
                503,
                words,
                "unavailable_title",
                [paragraph(words("unavailable"))],
                {"Retry-After": "60"},
            )
        if scope == "all":
            body = [paragraph(words("unsubscribed"))]
            title = "unsubscribed_title"
        else:
            short = words.texts[f"short_{scope}"]
            body = [paragraph(words("saved_family", family=short))]
            title = "saved_title"
        body.append(paragraph(words("still_transactional"), "note"))
        return self._page(claims.purpose, outcome, 200, words, title, body)

    async def _click(self, claims: Claims, language: str) -> WebAnswer:
        target = claims.url
        parts = urlsplit(target or "")
        if (
            target is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)
        ):
            return self._refused("click", language, "invalid")
        outcome = "redirected"
        if self.clicks:
            # The shopper goes on to the shop even if the click cannot be recorded now.
            outcome = await self._written_once(engagements.click(claims, self.clock()))
        self.metrics.requests.labels("click", outcome).inc()
        return WebAnswer(303, b"", headers(self.shop, {"Location": target}))

    async def _written_once(self, event: Engagement) -> str:
        """``written``, ``repeated`` (written already by this process) or ``unavailable``
        (the broker did not acknowledge it)."""
        if event.event_id in self._written:
            self._written.move_to_end(event.event_id)
            return "repeated"
        started = time.perf_counter()
        try:
            await self.write(event, CLICK_WAIT if event.kind == "click" else WAIT)
        except BrokerError as exc:
            log.warning("an engagement event (%s) was not written: %s", event.kind, exc)
            return "unavailable"
        self.metrics.write_latency.observe(time.perf_counter() - started)
        self.metrics.events_written.labels(event.kind, event.scope).inc()
        self._written[event.event_id] = None
        if len(self._written) > REMEMBERED:
            self._written.popitem(last=False)
        return "written"

    def _refused(self, purpose: str, language: str, outcome: str) -> WebAnswer:
        words = Wording(language, self.shop, "email")
        status = 410 if outcome == "expired" else 400
        body = [paragraph(words(outcome)), *shop_links(words)]
        return self._page(purpose, outcome, status, words, f"{outcome}_title", body)

    def _page(
        self,
        purpose: str,
        outcome: str,
        status: int,
        words: Wording,
        title: str,
        body: list[str],
        extra: Mapping[str, str] | None = None,
    ) -> WebAnswer:
        self.metrics.requests.labels(purpose, outcome).inc()
        return WebAnswer(status, page(words, title, body), headers(self.shop, extra))
