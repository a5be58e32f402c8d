"""``relance preview``: a scenario's message rendered with sample data, to look at before it
ships: the HTML part and the text part (or the SMS text) written to files.

The samples stand for what each scenario kind's detector puts in a command (a cart of three
lines, viewed products, an order ...), for a contact named Marie in French and Alex in the
other languages. The shop's footer and links come from the scenario file's ``brand``
section; the gateway links are signed with the sender's key when RELANCE_GATEWAY_URL and
RELANCE_LINK_KEYS are set, else with a throwaway key for a gateway that does not exist.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from relance.brand import Brand
from relance.core.commands import Recipient, SendCommand
from relance.core.scenarios import Scenario
from relance.locales import language_of, normalized
from relance.sender.links import LinkSigner
from relance.sender.render import Renderer
from relance.tokens import Key

SAMPLE_GATEWAY: Final = "https://gateway.example"  # no such gateway: a preview's links
DECIDED_AT: Final = 1_714_561_200_000  # 2024-05-01T11:00:00Z


def _product(n: int, name: str, price: float, category: str = "shoes") -> dict[str, Any]:
    return {
        "id": f"sku-{n}",
        "name": name,
        "price": price,
        "currency": "EUR",
        "category_id": category,
        "url": f"https://shop.example/p/sku-{n}",
        "image_url": f"https://shop.example/i/sku-{n}.jpg",
        "in_stock": True,
    }


SHOE: Final = _product(1, "Trail shoe", 89.9)
SOCKS: Final = _product(2, "Merino socks", 12.5)
JACKET: Final = _product(3, "Rain jacket", 149.0, "jackets")
ORDER: Final = {
    "order_id": "o-1042",
    "status": "placed",
    "total": 204.3,
    "currency": "EUR",
    "cart_id": "cart-9",
    "items": [{"product": SHOE, "quantity": 2}, {"product": SOCKS, "quantity": 2}],
}
DIGEST_ITEMS: Final = [
    {
        "scenario": "back_in_stock",
        "template": "back_in_stock",
        "decided_at": 0,
        "payload": {"product": JACKET},
    },
    {
        "scenario": "price_drop",
        "template": "price_drop",
        "decided_at": 0,
        "payload": {"product": SHOE},
    },
    {
        "scenario": "shipping_update",
        "template": "shipping_update",
        "decided_at": 0,
        "payload": {"order": {"order_id": "o-1042"}},
    },
]
# Per scenario kind: what its detector puts in a command's payload.
SAMPLES: Final[dict[str, dict[str, Any]]] = {
    "cart_abandonment": {
        "cart_id": "cart-9",
        "items": [
            {"product": SHOE, "quantity": 1},
            {"product": SOCKS, "quantity": 2},
            {"product": JACKET, "quantity": 1},
        ],
    },
    "browse_abandonment": {
        "products": [
            {"product": SHOE, "views": 3},
            {"product": {**JACKET, "in_stock": False}, "views": 1},
        ]
    },
    "category_abandonment": {
        "category_id": "shoes",
        "products": [{"product": SHOE, "views": 3}, {"product": SOCKS, "views": 2}],
    },
    "search_abandonment": {"search_query": "waterproof trail shoes"},
    "order_status": {"order": ORDER},
    "cross_sell": {"order": ORDER, "products": [{"product": JACKET, "views": 0}]},
    "back_in_stock": {"product": JACKET},
    "price_drop": {"product": {**SHOE, "price": 74.9}, "previous_price": 89.9},
    "birthday": {"year": 2024},
    "reactivation": {"last_active_at": "2024-03-01T10:00:00.000Z"},
    "subscription_expiry": {"ends_on": "2024-06-30", "days_left": 3},
    "welcome": {"order_id": "o-1042", "products": [{"product": SOCKS, "views": 0}]},
    "digest": {"period": "2024-05-01", "items": DIGEST_ITEMS},
}
FIRST_NAMES: Final = {"fr": "Marie"}  # else Alex


def sample_command(
    scenario: Scenario, *, step: int = 1, locale: str | None = None, channel: str | None = None
) -> dict[str, Any]:
    """A command ``scenario`` could send, as its detector would fill it."""
    tag = normalized(locale)
    first_name = FIRST_NAMES.get(language_of(tag) if tag else "", "Alex")
    template = scenario.steps[min(max(step, 1), len(scenario.steps)) - 1].template
    return SendCommand(
        command_id="00000000-0000-5000-8000-000000000000",
        contact_id="preview",
        scenario=scenario.name,
        step=step,
        channel=channel or scenario.channel,
        template=template,
        priority=scenario.priority,
        decided_at=DECIDED_AT,
        recipient=Recipient(
            "marie@example.com", tag, "Europe/Paris", "+33612345678", first_name, {"tier": "gold"}
        ),
        payload=SAMPLES.get(scenario.kind, {}),
        marketing=scenario.is_marketing,
    ).to_record()


@dataclass(frozen=True, slots=True)
class Preview:
    subject: str | None
    language: str
    files: tuple[Path, ...]


def sample_gateway(url: str | None, key: Key | None) -> LinkSigner:
    """The sender's gateway if both are set, else one that does not exist."""
    if url and key is not None:
        return LinkSigner(url, key)
    return LinkSigner(SAMPLE_GATEWAY, Key("preview", secrets.token_bytes(16)))


def preview(
    scenario: Scenario,
    out: Path,
    *,
    brand: Brand,
    gateway: LinkSigner,
    template_dir: Path | None = None,
    locale: str | None = None,
    channel: str | None = None,
    step: int = 1,
    mailbox: str | None = None,
) -> Preview:
    """Render ``scenario``'s step ``step`` and write its parts into ``out``."""
    command = sample_command(
        scenario, step=step, locale=locale or brand.default_locale, channel=channel
    )
    renderer = Renderer(template_dir, brand=brand, gateway=gateway, mailbox=mailbox)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{scenario.name}.{step}" if step > 1 else scenario.name
    if command["channel"] == "sms":
        sms = renderer.render_text_message(command)
        path = out / f"{stem}.{sms.language}.sms.txt"
        path.write_text(sms.text + "\n", encoding="utf-8")
        return Preview(None, sms.language, (path,))
    email = renderer.render(command)
    html = out / f"{stem}.{email.language}.html"
    text = out / f"{stem}.{email.language}.txt"
    html.write_text(email.html, encoding="utf-8")
    text.write_text(f"Subject: {email.subject}\n\n{email.text}", encoding="utf-8")
    return Preview(email.subject, email.language, (html, text))
