"""Render a send command into an email's subject, HTML and text with Jinja2 templates, in the
contact's language.

A template named ``X`` is three files: ``X.subject.txt``, ``X.html`` and ``X.txt``, plus
``X.sms.txt`` for the sms channel (one short text; whitespace is folded). Each language has
its folder (``fr/X.html``); the root holds English, the fallback of every language, and the
partials every language shares (``_layout.html``). A contact's ``locale`` picks the folders
(``relance.locales.fallback``: ``fr-CA/``, ``fr/``, the default language's, the root), and
in each the user folder (``Renderer(template_dir)``) is searched before the shipped
``templates/``, so a shop overrides one file by dropping a file of the same name at the same
place. Only ``.html`` is HTML-escaped; an undefined variable is an error, never a silent
blank.

The context every template sees:

    command    the send command record (``SendCommand.to_record()``)
    recipient  ``command["recipient"]``: email, locale, timezone, first_name, attributes
    payload    ``command["payload"]``, as decided by the scenario
    items      the cart or order lines ``[{"product": {...}, "quantity": n}]``, or the one
               product a back-in-stock message is about (or empty); at most
               ``brand.max_lines`` of them
    more_items how many lines ``items`` leaves out
    products   the viewed products ``[{"product": {...}, "views": n}]`` (empty if none), at
               most ``brand.max_lines``; ``more_products`` how many are left out
    order      an order notification's order: order_id, status, total, currency, cart_id
               (``{}`` for other scenarios)
    cart       the cart's ``id``, ``url`` (the shop's cart page, else the first product's),
               ``total`` and ``currency`` (every line priced in one currency, else None),
               ``lines`` (all of them) and ``quantity``
    brand      the scenario file's brand: name, address, shop_url, account_url,
               support_email, logo_url, colors (placeholders where it gives none)
    links      unsubscribe and preferences (None without a gateway), shop, account
    marketing  whether the message is marketing (it then has the unsubscribe link)
    language   the language it is written in (``fr``); ``locale`` the contact's

In ``items`` and ``products`` every product has all of ``PRODUCT_FIELDS`` (a field absent
from the command is ``None``), so ``{% if product.image_url %}`` is always safe, and its
``url`` is the link the message shows (UTM parameters, click tracking). Filters format for
the contact's locale (``sender.formatting``): ``{{ product.price | money(product.currency)
}}`` gives ``89,90 €`` in fr-FR and ``€89.90`` in en-IE; ``number`` and ``date`` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jinja2

from relance.brand import Brand
from relance.locales import fallback, language_at
from relance.sender.errors import RenderError
from relance.sender.formatting import formatting, formatting_locale, money, number, when
from relance.sender.links import LinkSigner, MessageLinks
from relance.sender.template_files import MAIN_PART, TemplateFiles
from relance.sender.template_files import PARTS as CHANNEL_PARTS

PRODUCT_FIELDS: Final = (
    "id",
    "name",
    "price",
    "currency",
    "category_id",
    "url",
    "image_url",
    "in_stock",
)
PARTS: Final = CHANNEL_PARTS["email"]
NO_UNSUBSCRIBE: Final = (
    "a marketing email needs its unsubscribe link, and there is no "
    "gateway to make it: set RELANCE_GATEWAY_URL and RELANCE_LINK_KEYS"
)

__all__ = ["PRODUCT_FIELDS", "RenderedEmail", "Renderer", "money", "template_context"]


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    language: str = "en"  # the language it is written in, for Content-Language
    # The List-Unsubscribe header's URIs (a marketing email's), the one-click link first.
    list_unsubscribe: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RenderedSms:
    text: str
    language: str = "en"


def _product(raw: Any, links: MessageLinks | None = None) -> dict[str, Any]:
    fields = raw if isinstance(raw, Mapping) else {}
    product = {name: fields.get(name) for name in PRODUCT_FIELDS}
    if links is not None:
        product["url"] = links.shop(product["url"])
    return product


DIGEST_NOTES: Final = {
    "back_in_stock": "Back in stock",
    "price_drop": "Now cheaper",
    "order_confirmation": "Order received",
    "shipping_update": "Order on its way",
    "delivery_update": "Order delivered",
    "order_cancellation": "Order cancelled",
    "review_request": "Tell us about your order",
    "cross_sell": "Goes well with your order",
}


def digest_note(item: Mapping[str, Any], notes: Mapping[str, str] | None = None) -> str:
    """A digest line's title: what the held message was about (``notes``: a language's
    titles by scenario, English by default)."""
    scenario = str(item.get("scenario", ""))
    return (notes or DIGEST_NOTES).get(scenario, scenario.replace("_", " ").capitalize())


def _lines(
    payload: Mapping[str, Any], key: str, count: str, links: MessageLinks | None
) -> list[dict[str, Any]]:
    lines = payload.get(key) or []
    return [
        {**line, "product": _product(line.get("product"), links), count: line.get(count, 1)}
        for line in lines
        if isinstance(line, Mapping)
    ]


def _all_items(
    payload: Mapping[str, Any], order: Mapping[str, Any], links: MessageLinks | None
) -> list[dict[str, Any]]:
    return (
        _lines(payload, "items", "quantity", links)
        or _lines(order, "items", "quantity", links)
        or _lines({"items": [payload]} if "product" in payload else {}, "items", "quantity", links)
    )


def cart_summary(
    items: list[dict[str, Any]], cart_id: Any, brand: Brand, links: MessageLinks | None
) -> dict[str, Any]:
    """The cart's total (only when every line has a price, all in one currency), its size,
    and its page: the shop's cart page, else the first product that has a link."""
    prices = [
        (line["product"]["price"], line["product"]["currency"], line["quantity"]) for line in items
    ]
    currencies = {currency for _, currency, _ in prices}
    priced = (
        prices
        and len(currencies) == 1
        and all(
            isinstance(p, int | float) and not isinstance(p, bool) and isinstance(q, int)
            for p, _, q in prices
        )
    )
    url = brand.cart_link(cart_id)
    first = next((line["product"]["url"] for line in items if line["product"]["url"]), None)
    quantities = [q for _, _, q in prices if isinstance(q, int)]
    return {
        "id": cart_id if isinstance(cart_id, str) else None,
        "url": (links.shop(url) if links is not None else url) if url else first,
        "total": round(sum(p * q for p, _, q in prices), 2) if priced else None,
        "currency": next(iter(currencies)) if priced else None,
        "lines": len(items),
        "quantity": sum(quantities),
    }


def _brand(brand: Brand, links: MessageLinks | None) -> dict[str, Any]:
    def link(url: str | None) -> str | None:
        return links.shop(url) if links is not None and url else url

    return {
        "name": brand.shown_name,
        "address": brand.shown_address,
        "address_lines": [
            line.strip() for line in brand.shown_address.splitlines() if line.strip()
        ],
        "shop_url": link(brand.shop_url),
        "account_url": link(brand.account_url),
        "support_email": brand.support_email,
        "logo_url": brand.logo_url,
        "colors": {
            "accent": brand.colors.accent,
            "background": brand.colors.background,
            "text": brand.colors.text,
        },
        "placeholder": bool(brand.missing()),
    }


def template_context(
    command: Mapping[str, Any],
    brand: Brand | None = None,
    links: MessageLinks | None = None,
    language: str = "en",
) -> dict[str, Any]:
    """What the templates see (see the module docstring)."""
    brand = brand or Brand()
    payload = command.get("payload") or {}
    order = payload.get("order") or {}
    recipient = command.get("recipient") or {}
    items = _all_items(payload, order, links)
    products = _lines(payload, "products", "views", links)
    shown = brand.max_lines
    shop = _brand(brand, links)
    return {
        "command": command,
        "recipient": {
            **recipient,
            "first_name": recipient.get("first_name"),
            "attributes": recipient.get("attributes") or {},
        },
        "payload": payload,
        "items": items[:shown],
        "more_items": max(0, len(items) - shown),
        "products": products[:shown],
        "more_products": max(0, len(products) - shown),
        "order": order,
        "cart": cart_summary(items, payload.get("cart_id"), brand, links),
        "brand": shop,
        "links": {
            "unsubscribe": links.unsubscribe if links is not None else None,
            "preferences": links.preferences if links is not None else None,
            "shop": shop["shop_url"],
            "account": shop["account_url"],
        },
        "max_lines": shown,
        "message_links": links,  # for product_fields(product, message_links)
        "marketing": command.get("marketing", True) is not False,
        "language": language,
        "locale": recipient.get("locale") if isinstance(recipient, Mapping) else None,
    }


def _shows_unsubscribe(name: str, link: str | None, **parts: str) -> None:
    """A marketing email shows its unsubscribe link in each part, whoever wrote the
    templates (the shipped footer has it)."""
    for part, body in parts.items():
        if link is None or link not in body:
            raise RenderError(
                f"{name}.{part}",
                "a marketing email must show its unsubscribe "
                "link: put {{ links.unsubscribe }} in it (the shipped footer, "
                f'{{% include "_footer.{part}" %}}, does)',
            )


class Renderer:
    """Renders send commands with the user's templates first, then the shipped ones, in the
    contact's language; ``brand`` is the scenario file's, ``gateway`` signs the links
    (None: no gateway configured, so a marketing email cannot be rendered) and ``mailbox``
    is List-Unsubscribe's ``mailto:``."""

    def __init__(
        self,
        template_dir: Path | None = None,
        *,
        brand: Brand | None = None,
        gateway: LinkSigner | None = None,
        mailbox: str | None = None,
    ) -> None:
        self.files = TemplateFiles(template_dir)
        self.brand = brand or Brand()
        self.gateway = gateway
        self.mailbox = mailbox
        self._envs: dict[tuple[str, ...], jinja2.Environment] = {}

    def _env(self, chain: tuple[str, ...]) -> jinja2.Environment:
        """One environment per chain of folders there are (a few: one per language)."""
        levels = tuple(level for level in chain if self.files.folders_at(level))
        env = self._envs.get(levels)
        if env is None:
            loaders = [
                jinja2.FileSystemLoader(folder)
                for level in levels
                for folder in self.files.folders_at(level)
            ]
            env = jinja2.Environment(
                loader=jinja2.ChoiceLoader(loaders),
                autoescape=jinja2.select_autoescape(
                    enabled_extensions=("html",), default_for_string=False, default=False
                ),
                undefined=jinja2.StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=True,
            )
            env.filters.update(money=money, number=number, date=when)
            env.globals["product_fields"] = _product
            env.globals["digest_note"] = digest_note
            self._envs[levels] = env
        return env

    def _prepare(
        self, command: Mapping[str, Any], channel: str
    ) -> tuple[str, jinja2.Environment, dict[str, Any], MessageLinks]:
        name = command.get("template")
        if not isinstance(name, str) or not name:
            raise RenderError(str(name), "the command names no template")
        recipient = command.get("recipient")
        locale = recipient.get("locale") if isinstance(recipient, Mapping) else None
        chain = fallback(locale if isinstance(locale, str) else None, self.brand.default_locale)
        level = self.files.found_at(chain, f"{name}.{MAIN_PART[channel]}")
        language = language_at(level if level is not None else "")
        links = MessageLinks(command, language, self.brand.links, self.gateway)
        context = template_context(command, self.brand, links, language)
        return name, self._env(chain), context, links

    def render(self, command: Mapping[str, Any]) -> RenderedEmail:
        """Render the command's ``template``; any failure is a ``RenderError``."""
        name, env, context, links = self._prepare(command, "email")
        headers: tuple[str, ...] = ()
        if context["marketing"]:
            headers = links.list_unsubscribe(self.mailbox)
            if not headers:
                raise RenderError(f"{name}.html", NO_UNSUBSCRIBE)
        locale = formatting_locale(context["locale"], context["language"])
        with formatting(locale):
            subject, html, text = (self._part(env, f"{name}.{part}", context) for part in PARTS)
        if context["marketing"]:
            _shows_unsubscribe(name, links.unsubscribe, html=html, txt=text)
        # A subject is one header line: fold any newline or run of spaces into one space.
        return RenderedEmail(
            subject=" ".join(subject.split()),
            html=html,
            text=text,
            language=context["language"],
            list_unsubscribe=headers,
        )

    def render_sms(self, command: Mapping[str, Any]) -> str:
        """The command's ``template`` as SMS text (``X.sms.txt``), whitespace folded."""
        return self.render_text_message(command).text

    def render_text_message(self, command: Mapping[str, Any]) -> RenderedSms:
        name, env, context, _ = self._prepare(command, "sms")
        with formatting(formatting_locale(context["locale"], context["language"])):
            text = " ".join(self._part(env, f"{name}.sms.txt", context).split())
        if not text:
            raise RenderError(f"{name}.sms.txt", "renders an empty message")
        return RenderedSms(text, context["language"])

    @staticmethod
    def _part(env: jinja2.Environment, filename: str, context: Mapping[str, Any]) -> str:
        try:
            return env.get_template(filename).render(context)
        except jinja2.TemplateNotFound as exc:
            missing = "" if exc.name == filename else f"{exc.name!r}, which it includes, is "
            raise RenderError(
                filename, f"{missing}not found in the template folder nor the shipped templates"
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(
                filename, f"syntax error on line {exc.lineno}: {exc.message}"
            ) from exc
        except jinja2.UndefinedError as exc:
            raise RenderError(filename, f"undefined variable: {exc.message}") from exc
        except Exception as exc:  # a template is user code: any failure in it is a render error
            raise RenderError(filename, f"{type(exc).__name__}: {exc}") from exc
