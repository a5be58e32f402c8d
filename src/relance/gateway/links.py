"""The gateway's URLs, which the sender writes into messages and the gateway answers.

``{base}/u/{token}?lang=fr``  unsubscribe: GET shows a confirmation page, POST unsubscribes
                             (RFC 8058's one-click POST, with ``List-Unsubscribe=One-Click``)
``{base}/p/{token}?lang=fr``  preferences: GET shows them, POST saves the choice
``{base}/c/{token}``          click: records the click (when on) and redirects to the shop
                             URL the token carries

``base`` is RELANCE_GATEWAY_URL (https, no query or fragment; a path is kept: the gateway
serves its routes under it); ``token`` is ``relance.tokens.sign`` of the link's claims, whose
purpose must be the route's (a click token does not unsubscribe); ``lang`` is the language
of the message, which the pages are shown in (optional: Accept-Language, then the default).
Pure: building a link reads nothing.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

from relance.tokens import Purpose

# Route letter <-> the purpose its tokens must have.
ROUTES: Final[dict[str, Purpose]] = {"u": "unsubscribe", "p": "preferences", "c": "click"}
PATHS: Final[dict[Purpose, str]] = {purpose: path for path, purpose in ROUTES.items()}


def _link(base: str, path: str, token: str, lang: str | None) -> str:
    query = f"?lang={quote(lang, safe='')}" if lang else ""
    return f"{base.rstrip('/')}/{path}/{quote(token, safe='.')}{query}"


def unsubscribe_url(base: str, token: str, lang: str | None = None) -> str:
    """The unsubscribe link (also the List-Unsubscribe header's https URI)."""
    return _link(base, PATHS["unsubscribe"], token, lang)


def preferences_url(base: str, token: str, lang: str | None = None) -> str:
    """The preference page's link."""
    return _link(base, PATHS["preferences"], token, lang)


def click_url(base: str, token: str) -> str:
    """A tracked link to the shop: the token carries the exact URL it redirects to."""
    return _link(base, PATHS["click"], token, None)
