"""Render a send command into an email's subject, HTML and text with Jinja2 templates.

A template named ``X`` is three files: ``X.subject.txt``, ``X.html`` and ``X.txt``, plus
``X.sms.txt`` for the sms channel (one short text; whitespace is folded). A user
folder (``Renderer(template_dir)``) is searched before the shipped ``templates/``, so a shop
overrides one file by dropping a file of the same name there. Only ``.html`` is
HTML-escaped; an undefined variable is an error, never a silent blank.

The context every template sees:

    command    the send command record (``SendCommand.to_record()``)
    recipient  ``command["recipient"]``: email, locale, timezone
    payload    ``command["payload"]``, as decided by the scenario
    items      the cart or order lines ``[{"product": {...}, "quantity": n}]``, or the one
               product a back-in-stock message is about (or empty)
    products   the viewed products ``[{"product": {...}, "views": n}]`` (empty if none)
    order      an order notification's order: order_id, status, total, currency, cart_id
               (``{}`` for other scenarios)

In ``items`` and ``products`` every product has all of ``PRODUCT_FIELDS`` (a field absent
from the command is ``None``), so ``{% if product.image_url %}`` is always safe. The
``money`` filter formats a price: ``{{ product.price | money(product.currency) }}`` gives
``89.90 EUR``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jinja2

from relance.sender.errors import RenderError
from relance.sender.template_files import PARTS as CHANNEL_PARTS
from relance.sender.template_files import SHIPPED_TEMPLATES

PRODUCT_FIELDS: Final = ("id", "name", "price", "currency", "category_id", "url",
                         "image_url", "in_stock")
PARTS: Final = CHANNEL_PARTS["email"]


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


def money(price: Any, currency: str | None = None) -> str:
    """``89.9, "EUR"`` -> ``"89.90 EUR"``; a price that is not a number is shown as is."""
    if isinstance(price, bool) or not isinstance(price, int | float):
        shown = "" if price is None else str(price)
    else:
        shown = f"{price:,.2f}"
    return f"{shown} {currency}" if currency and shown else shown


def _product(raw: Any) -> dict[str, Any]:
    fields = raw if isinstance(raw, Mapping) else {}
    return {name: fields.get(name) for name in PRODUCT_FIELDS}


DIGEST_NOTES: Final = {
    "back_in_stock": "Back in stock", "price_drop": "Now cheaper",
    "order_confirmation": "Order received", "shipping_update": "Order on its way",
    "delivery_update": "Order delivered", "order_cancellation": "Order cancelled",
    "review_request": "Tell us about your order", "cross_sell": "Goes well with your order",
}


def digest_note(item: Mapping[str, Any]) -> str:
    """A digest line's title: what the held message was about."""
    scenario = str(item.get("scenario", ""))
    return DIGEST_NOTES.get(scenario, scenario.replace("_", " ").capitalize())


def _lines(payload: Mapping[str, Any], key: str, count: str) -> list[dict[str, Any]]:
    lines = payload.get(key) or []
    return [{**line, "product": _product(line.get("product")), count: line.get(count, 1)}
            for line in lines if isinstance(line, Mapping)]


def template_context(command: Mapping[str, Any]) -> dict[str, Any]:
    """What the templates see (see the module docstring)."""
    payload = command.get("payload") or {}
    order = payload.get("order") or {}
    return {
        "command": command,
        "recipient": command.get("recipient") or {},
        "payload": payload,
        "items": (_lines(payload, "items", "quantity") or _lines(order, "items", "quantity")
                  or _lines({"items": [payload]} if "product" in payload else {}, "items",
                            "quantity")),
        "products": _lines(payload, "products", "views"),
        "order": order,
    }


class Renderer:
    """Renders send commands with the user's templates first, then the shipped ones."""

    def __init__(self, template_dir: Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if template_dir is not None:
            loaders.append(jinja2.FileSystemLoader(template_dir))
        loaders.append(jinja2.FileSystemLoader(SHIPPED_TEMPLATES))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",),
                                                default_for_string=False, default=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters["money"] = money
        self.env.globals["product_fields"] = _product
        self.env.globals["digest_note"] = digest_note

    def render(self, command: Mapping[str, Any]) -> RenderedEmail:
        """Render the command's ``template``; any failure is a ``RenderError``."""
        name = command.get("template")
        if not isinstance(name, str) or not name:
            raise RenderError(str(name), "the command names no template")
        context = template_context(command)
        subject, html, text = (self._part(f"{name}.{part}", context) for part in PARTS)
        # A subject is one header line: fold any newline or run of spaces into one space.
        return RenderedEmail(subject=" ".join(subject.split()), html=html, text=text)

    def render_sms(self, command: Mapping[str, Any]) -> str:
        """The command's ``template`` as SMS text (``X.sms.txt``), whitespace folded."""
        name = command.get("template")
        if not isinstance(name, str) or not name:
            raise RenderError(str(name), "the command names no template")
        text = " ".join(self._part(f"{name}.sms.txt", template_context(command)).split())
        if not text:
            raise RenderError(f"{name}.sms.txt", "renders an empty message")
        return text

    def _part(self, filename: str, context: Mapping[str, Any]) -> str:
        try:
            return self.env.get_template(filename).render(context)
        except jinja2.TemplateNotFound as exc:
            missing = "" if exc.name == filename else f"{exc.name!r}, which it includes, is "
            raise RenderError(filename, f"{missing}not found in the template folder nor the "
                                        "shipped templates") from None
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(filename, f"syntax error on line {exc.lineno}: {exc.message}") \
                from exc
        except jinja2.UndefinedError as exc:
            raise RenderError(filename, f"undefined variable: {exc.message}") from exc
        except Exception as exc:  # a template is user code: any failure in it is a render error
            raise RenderError(filename, f"{type(exc).__name__}: {exc}") from exc
