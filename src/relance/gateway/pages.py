"""The gateway's HTML pages: small, localised, every value escaped, no script.

A page's look comes from the shop (the scenario file's ``brand`` section: name, logo,
colours); colours are checked again here because they go into CSS, where HTML escaping
protects nothing. The style is the page's only inline content, allowed by its hash in the
Content-Security-Policy, so nothing injected could run or restyle the page.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from html import escape
from typing import Any, Final
from urllib.parse import urlsplit

from relance.codec.addresses import email_problem
from relance.gateway.texts import TEXTS

_COLOR: Final = re.compile(r"#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})")


def _web(url: object) -> str | None:
    """``url`` if it is an http(s) URL with a host, else None (no ``javascript:``)."""
    if not isinstance(url, str) or any(ord(c) < 0x21 for c in url):
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def _color(value: object, default: str) -> str:
    return value if isinstance(value, str) and _COLOR.fullmatch(value) else default


@dataclass(frozen=True)
class Shop:
    """Who the pages speak for: ``name`` (None: a neutral wording), the shop's home page
    (where an old link's page sends the contact), its logo, colours, support address and
    the language of contacts whose own is unknown."""

    name: str | None = None
    url: str | None = None
    logo_url: str | None = None
    support_email: str | None = None
    accent: str = "#18181b"
    background: str = "#f4f4f5"
    text: str = "#18181b"
    default_locale: str = "en"

    @classmethod
    def of(cls, brand: Any) -> Shop:
        """The shop of a scenario file's ``brand`` section (``relance.brand.Brand``, read
        by its attributes), defaults for what it lacks or for no section at all."""
        if brand is None:
            return cls()
        colors = getattr(brand, "colors", None)
        name = getattr(brand, "name", None)
        support = getattr(brand, "support_email", None)
        return cls(
            name=name if isinstance(name, str) and name.strip() else None,
            url=_web(getattr(brand, "shop_url", None)),
            logo_url=_web(getattr(brand, "logo_url", None)),
            support_email=(
                support if isinstance(support, str) and email_problem(support) is None else None
            ),
            accent=_color(getattr(colors, "accent", None), cls.accent),
            background=_color(getattr(colors, "background", None), cls.background),
            text=_color(getattr(colors, "text", None), cls.text),
            default_locale=str(getattr(brand, "default_locale", None) or "en"),
        )

    @cached_property
    def style(self) -> str:
        return (
            f"body{{margin:0;background:{self.background};color:{self.text};"
            "font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}"
            "main{max-width:32rem;margin:3rem auto;padding:2rem;background:#fff;"
            "border-radius:8px}"
            f"header{{font-weight:600;color:{self.accent};margin-bottom:1.5rem}}"
            "header img{max-height:48px;max-width:200px}"
            "h1{font-size:1.4rem;margin:0 0 1rem}"
            f"button{{background:{self.accent};color:#fff;border:0;border-radius:6px;"
            "padding:.75rem 1.5rem;font-size:1rem;cursor:pointer;margin-top:1rem}"
            "label{display:block;margin:.5rem 0}.note{color:#52525b;font-size:.9rem}"
            ".error{color:#b91c1c}"
        )

    @cached_property
    def style_hash(self) -> str:
        """The style's CSP source: ``'sha256-...'``."""
        digest = hashlib.sha256(self.style.encode()).digest()
        return f"'sha256-{base64.b64encode(digest).decode()}'"


class Wording:
    """The texts of one language for one shop and channel, escaped for HTML."""

    def __init__(self, language: str, shop: Shop, channel: str) -> None:
        self.language = language
        self.texts = TEXTS[language]
        self.shop = shop
        what = self.texts["what_sms" if channel == "sms" else "what_email"]
        self.values = {"shop": escape(shop.name or self.texts["a_shop"]), "what": escape(what)}

    def __call__(self, key: str, **values: str) -> str:
        """The text ``key``, its placeholders filled with escaped values."""
        return self.markup(key, **{k: escape(v) for k, v in values.items()})

    def markup(self, key: str, **html: str) -> str:
        """The text ``key``, its placeholders filled with ``html`` as it is (escaped by
        the caller)."""
        return escape(self.texts[key]).format_map({**self.values, **html})


def page(words: Wording, title_key: str, body: Iterable[str]) -> bytes:
    """A whole page: the shop's header, the title, ``body`` (HTML already escaped)."""
    shop = words.shop
    if shop.logo_url:
        header = (
            f'<header><img src="{escape(shop.logo_url)}" alt="{words.values["shop"]}"></header>'
        )
    else:
        header = f"<header>{words.values['shop']}</header>" if shop.name else ""
    title = words(title_key)
    name = f" · {words.values['shop']}" if shop.name else ""
    return (
        f'<!doctype html><html lang="{escape(words.language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{title}{name}</title><style>{shop.style}</style></head><body><main>"
        f"{header}<h1>{title}</h1>{''.join(body)}</main></body></html>"
    ).encode()


def paragraph(text: str, css: str | None = None) -> str:
    return f'<p class="{css}">{text}</p>' if css else f"<p>{text}</p>"


def shop_links(words: Wording) -> list[str]:
    """Where to go from a page that could not help: the shop, its support address."""
    shop = words.shop
    found = []
    if shop.url:
        found.append(paragraph(f'<a href="{escape(shop.url)}">{words("back_to_shop")}</a>'))
    if shop.support_email:
        address = escape(shop.support_email)
        link = f'<a href="mailto:{address}">{address}</a>'
        found.append(paragraph(words.markup("contact_shop", support=link), "note"))
    return found


def unsubscribe_form(words: Wording) -> list[str]:
    # The hidden field makes the button's POST the one RFC 8058 mail clients send.
    return [
        paragraph(words("unsubscribe_ask")),
        '<form method="post">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        f'<button type="submit">{words("unsubscribe_button")}</button></form>',
    ]


def preferences_form(words: Wording, families: Iterable[str], error: bool = False) -> list[str]:
    options = [*((f"family_{family}", family) for family in families), ("family_all", "all")]
    inputs = "".join(
        f'<label><input type="radio" name="scope" value="{value}" required> {words(key)}</label>'
        for key, value in options
    )
    body = [paragraph(words("preferences_ask"))]
    if error:
        body.append(paragraph(words("choose_one"), "error"))
    body.append(
        f'<form method="post">{inputs}'
        f'<button type="submit">{words("preferences_button")}</button></form>'
    )
    return body


def headers(shop: Shop, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every answer's: never cached or framed, no referrer (a token is in the URL), only
    the page's own style, forms only to the gateway."""
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "Content-Security-Policy": f"default-src 'none'; style-src {shop.style_hash}; "
        "img-src https: http:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Robots-Tag": "noindex",
        **(extra or {}),
    }
