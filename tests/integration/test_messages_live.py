"""Messages in the contact's language through the live pipeline: profiles and carts into the
worker, emails out of the real sender into the SMTP sink, outcomes on the results topic."""

from __future__ import annotations

import time
from email.message import EmailMessage
from typing import Any

import pytest

from relance.codec.outputs import AvroOutputCodec
from relance.core.events import CartChange, ContactProfile, Order, OrderItem

from .conftest import BRAND, Stack, wait_for
from .test_live_pipeline import SHOE, now_ms, produce

pytestmark = pytest.mark.integration

SCENARIOS = """\
scenarios:
  cart_abandonment: {delay: 4s, quiet_period: 1h}
  order_confirmation: {}
""" + BRAND.replace("}\n", ", cart_url: 'https://shop.example/cart/restore/{cart_id}'}\n")
# Contact -> (locale, first name): French, Canadian French (French templates), a language
# with no templates (the default, English), and an order confirmation in English.
CONTACTS = {
    "marie": ("fr-FR", "Marie"),
    "gabriel": ("fr-CA", "Gabriel"),
    "yui": ("ja-JP", "Yui"),
    "conor": ("en-IE", "Conor"),
}


def profile(contact: str, at: int) -> ContactProfile:
    locale, first_name = CONTACTS[contact]
    return ContactProfile(
        f"{contact}-p",
        contact,
        at,
        email=f"{contact}@example.com",
        locale=locale,
        marketing_opt_in=True,
        first_name=first_name,
    )


def results(stack: Stack, count: int, timeout: float = 60.0) -> dict[str, dict[str, Any]]:
    """The final outcomes on the results topic by contact, once ``count`` are in."""
    consumer = stack.consumer("relance-delivery-results")
    codec = AvroOutputCodec()
    found: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                record = codec.decode_result(message.value())
                found[record["contact_id"]] = record
    finally:
        consumer.close()
    return found


def parts(message: EmailMessage) -> tuple[str, str]:
    text, html = (part.get_content() for part in message.iter_parts())
    return text, html


def test_each_contact_gets_the_email_in_their_language_and_marketing_has_its_headers(
    stack: Stack,
) -> None:
    path = stack.root / "messages.yaml"
    path.write_text(SCENARIOS)
    stack.start("worker", RELANCE_SCENARIOS=str(path))
    stack.start(
        "sender", RELANCE_SCENARIOS=str(path), RELANCE_UNSUBSCRIBE_MAILTO="unsubscribe@shop.example"
    )
    t = now_ms()
    events: list[Any] = [profile(contact, t) for contact in CONTACTS]
    events += [
        CartChange(f"{c}-1", c, t + 10, "add", SHOE, 1, cart_id=f"cart-{c}")
        for c in ("marie", "gabriel", "yui")
    ]
    events.append(
        Order("conor-o", "conor", t + 10, "o-77", "placed", (OrderItem(SHOE, 2),), 179.8, "EUR")
    )
    produce(stack, events)
    wait_for(lambda: len(stack.sink.messages()) >= len(CONTACTS), timeout=120)
    by_contact = {str(m["To"]).split("@")[0]: m for m in stack.sink.messages()}
    assert set(by_contact) == set(CONTACTS)

    marie, gabriel, yui = by_contact["marie"], by_contact["gabriel"], by_contact["yui"]
    assert marie["Subject"] == gabriel["Subject"] == "Votre panier vous attend"
    assert marie["Content-Language"] == gabriel["Content-Language"] == "fr"
    for contact, message in (("Marie", marie), ("Gabriel", gabriel)):
        for part in parts(message):
            assert f"Bonjour {contact}," in part and "89,90\u00a0€" in part
            assert "https://shop.example/cart/restore/cart-" in part
    assert yui["Subject"] == "You left something in your cart"
    assert yui["Content-Language"] == "en"
    assert all("Hi Yui," in part and "€89.90" in part for part in parts(yui))

    for message in (marie, gabriel, yui):  # marketing: both headers, the link in both parts
        link, mailto = (uri.strip("<>") for uri in message["List-Unsubscribe"].split(", "))
        assert link.startswith("https://links.shop.example/u/")
        assert mailto.startswith("mailto:unsubscribe@shop.example?subject=unsubscribe%20")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert all(link in part for part in parts(message))
        assert all("1 Test Street, 75000 Paris" in part for part in parts(message))

    conor = by_contact["conor"]  # transactional: neither header, still the footer
    assert conor["Subject"] == "Thank you for your order (o-77)"
    assert conor["List-Unsubscribe"] is None and conor["List-Unsubscribe-Post"] is None
    assert all("/u/" not in part and "1 Test Street" in part for part in parts(conor))
    assert "Total: €179.80" in parts(conor)[0]

    outcomes = results(stack, len(CONTACTS))
    assert {c: (r["outcome"], r["language"]) for c, r in outcomes.items()} == {
        "marie": ("delivered", "fr"),
        "gabriel": ("delivered", "fr"),
        "yui": ("delivered", "en"),
        "conor": ("delivered", "en"),
    }
