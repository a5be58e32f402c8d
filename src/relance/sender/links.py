"""The links of one message: to the shop (with UTM parameters, through the gateway when click
tracking is on), and to the gateway's unsubscribe and preference pages, each signed.

The gateway (``relance gateway``) verifies what the sender signs here with
``relance.tokens``, at the URLs of its scheme (``relance.gateway.links``):
``{gateway}/u/{token}?lang=fr`` unsubscribes in one click (RFC 8058: a POST to the same URL
does it too), ``/p/{token}`` opens the preferences, ``/c/{token}`` records a click and
redirects to the exact shop URL the token carries. A token is issued at
the command's decision time, so a message rendered again (a retry) is the same message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from relance.brand import Links
from relance.core.timestamps import parse_iso
from relance.gateway.links import click_url, preferences_url, unsubscribe_url
from relance.tokens import Claims, Key, sign

UNSUBSCRIBE_SCOPE: Final = "all"  # the channel's marketing, as an unsubscribe event blocks it
_WEB: Final = ("http", "https")


@dataclass(frozen=True, slots=True)
class LinkSigner:
    """Where the links point (RELANCE_GATEWAY_URL) and the key that signs them (the first
    of RELANCE_LINK_KEYS); the URLs are the gateway's own scheme (``gateway.links``)."""

    url: str
    key: Key

    def link(self, claims: Claims, language: str | None = None) -> str:
        token = sign(claims, self.key)
        if claims.purpose == "click":
            return click_url(self.url, token)
        if claims.purpose == "preferences":
            return preferences_url(self.url, token, language)
        return unsubscribe_url(self.url, token, language)


def with_utm(url: str, params: list[tuple[str, str]]) -> str:
    """``url`` with each of ``params`` the URL does not already have (the shop's own win);
    a URL that is not http(s) is left as it is. The query the URL had is kept byte for
    byte."""
    parts = urlsplit(url)
    if parts.scheme not in _WEB or not parts.netloc:
        return url
    present = {key for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    added = [(key, value) for key, value in params if key not in present]
    if not added:
        return url
    query = f"{parts.query}&{urlencode(added)}" if parts.query else urlencode(added)
    return urlunsplit(parts._replace(query=query))


class MessageLinks:
    """The links of the message ``command`` in ``language``; ``gateway`` None: no gateway is
    configured, so there is no unsubscribe, preference or click link."""

    def __init__(
        self, command: Mapping[str, Any], language: str, rules: Links, gateway: LinkSigner | None
    ) -> None:
        self.rules = rules
        self.gateway = gateway
        self.language = language
        self.contact = str(command.get("contact_id") or "")
        self.command_id = str(command.get("command_id") or "")
        self.channel = str(command.get("channel") or "email")
        self.scenario = str(command.get("scenario") or "")
        decided = command.get("decided_at")
        self.issued_at = parse_iso(decided) // 1000 if isinstance(decided, str) else 0
        variant, step = command.get("variant"), command.get("step")
        content = variant if isinstance(variant, str) and variant else f"step-{step or 1}"
        self.utm = [
            ("utm_source", rules.utm_source),
            ("utm_medium", rules.utm_medium or self.channel),
            ("utm_campaign", self.scenario),
            ("utm_content", content),
        ]

    def _claims(self, purpose: Any, scope: str, url: str | None = None) -> Claims:
        return Claims(
            purpose,
            self.contact,
            self.channel,
            scope,
            self.issued_at,
            self.command_id if url is not None else None,
            url,
        )

    def shop(self, url: Any) -> str | None:
        """A link to the shop as the message shows it: tagged, and tracked if asked."""
        if not isinstance(url, str) or not url:
            return None
        final = with_utm(url, self.utm) if self.rules.utm else url
        if (
            not self.rules.click_tracking
            or self.gateway is None
            or urlsplit(final).scheme not in _WEB
        ):
            return final
        return self.gateway.link(self._claims("click", self.scenario, final))

    @property
    def unsubscribe(self) -> str | None:
        if self.gateway is None:
            return None
        return self.gateway.link(self._claims("unsubscribe", UNSUBSCRIBE_SCOPE), self.language)

    @property
    def preferences(self) -> str | None:
        if self.gateway is None:
            return None
        return self.gateway.link(self._claims("preferences", UNSUBSCRIBE_SCOPE), self.language)

    def list_unsubscribe(self, mailbox: str | None) -> tuple[str, ...]:
        """The List-Unsubscribe header's URIs: the one-click link, then a ``mailto:`` whose
        subject carries the same token when a mailbox is configured."""
        if self.gateway is None:
            return ()
        claims = self._claims("unsubscribe", UNSUBSCRIBE_SCOPE)
        uris = [self.gateway.link(claims, self.language)]
        if mailbox:
            uris.append(f"mailto:{mailbox}?subject=unsubscribe%20{sign(claims, self.gateway.key)}")
        return tuple(uris)
