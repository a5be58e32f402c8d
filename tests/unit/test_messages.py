"""Messages a shop can send: the contact's language with its fallback, formatting for the
contact's locale, the first name, the footer, unsubscribe links and headers on marketing
email only, links to the shop (UTM, click tracking, the cart page), and bounded sizes."""

from __future__ import annotations

import email
import email.policy
import io
from email.generator import BytesGenerator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from relance.brand import PLACEHOLDER_ADDRESS, Brand, Links
from relance.core.commands import Recipient, SendCommand
from relance.core.scenarios import CATALOGUE
from relance.locales import fallback, normalized
from relance.sender.errors import RenderError
from relance.sender.links import LinkSigner, with_utm
from relance.sender.message import build_message
from relance.sender.preview import SAMPLES, sample_command
from relance.sender.render import NO_UNSUBSCRIBE, Renderer
from relance.tokens import Key, verify

KEY = Key("k1", b"a-test-key-of-16+")
GATEWAY = LinkSigner("https://links.shop.example", KEY)
BRAND = Brand(
    name="Trail & Co",
    address="12 rue des Lilas\n75011 Paris, France",
    shop_url="https://shop.example/",
    support_email="aide@shop.example",
    cart_url="https://shop.example/cart/restore/{cart_id}",
)
SHOE = {
    "id": "sku-1",
    "name": "Trail shoe",
    "price": 89.9,
    "currency": "EUR",
    "category_id": "c-1",
    "url": "https://shop.example/p/sku-1",
    "image_url": "https://shop.example/i/sku-1.jpg",
    "in_stock": True,
}
MAX_AGE = {"unsubscribe": 10**9, "preferences": 10**9, "click": 10**9}
# Where the shipped templates list lines, and the sample payload of each with 1000 of them.
LISTING = (
    "cart_abandonment",
    "cart_last_call",
    "order_confirmation",
    "shipping_update",
    "delivery_update",
    "order_cancellation",
    "review_request",
    "browse_abandonment",
    "digest",
)


def renderer(brand: Brand = BRAND, folder: Path | None = None) -> Renderer:
    return Renderer(folder, brand=brand, gateway=GATEWAY)


def command(
    template: str,
    payload: dict[str, Any],
    *,
    locale: str | None = None,
    first_name: str | None = None,
    marketing: bool = True,
    channel: str = "email",
    variant: str | None = None,
) -> dict[str, Any]:
    return SendCommand(
        command_id="4f0abcfc-c65d-5759-b93e-b13a7fadd55f",
        contact_id="c1",
        scenario=template,
        step=1,
        channel=channel,
        template=template,
        priority=100,
        decided_at=1714561200000,
        recipient=Recipient("ann@example.com", locale, None, "+33612345678", first_name),
        payload=payload,
        variant=variant,
        marketing=marketing,
    ).to_record()


def cart(
    *lines: tuple[dict[str, Any], int], cart_id: str | None = "cart-9", **options: Any
) -> dict[str, Any]:
    return command(
        "cart_abandonment",
        {
            "cart_id": cart_id,
            "items": [{"product": product, "quantity": quantity} for product, quantity in lines],
        },
        **options,
    )


def parts(rendered: Any) -> tuple[str, str]:
    return rendered.html, rendered.text


# Languages.


@pytest.mark.parametrize(
    ("tag", "chain"),
    [
        ("fr-CA", ("fr-CA", "fr", "en", "")),
        ("fr_fr", ("fr-FR", "fr", "en", "")),
        ("en-GB", ("en-GB", "en", "")),
        (None, ("en", "")),
        ("ja-JP", ("ja-JP", "ja", "en", "")),
        ("../../etc", ("en", "")),
        ("x" * 40, ("en", "")),
    ],
)
def test_a_locale_falls_back_to_its_language_then_the_default_then_the_root(
    tag: str | None, chain: tuple[str, ...]
) -> None:
    assert fallback(tag) == chain


def test_a_default_in_another_language_does_not_hide_english_from_english_contacts() -> None:
    assert fallback("en-IE", "fr") == ("en-IE", "en", "")
    assert fallback("de-DE", "fr") == ("de-DE", "de", "fr", "")
    assert normalized("zh-hant-tw") == "zh-Hant-TW" and normalized("fr/../x") is None


def test_a_french_contact_gets_the_french_email_with_euro_prices_and_their_first_name() -> None:
    email_ = renderer().render(cart((SHOE, 1), locale="fr-FR", first_name="Marie"))
    assert email_.subject == "Votre panier vous attend"
    assert email_.language == "fr"
    for part in parts(email_):
        assert "89,90\u00a0€" in part
        assert "Bonjour Marie," in part
        assert "Quantité\u00a0: 1" in part
        assert "Total\u00a0: 89,90\u00a0€" in part
        assert "Se désinscrire" in part and "You left" not in part
    assert '<html lang="fr">' in email_.html


@pytest.mark.parametrize(
    ("tag", "language", "price"),
    [
        ("fr-CA", "fr", "89,90\u00a0€"),
        ("fr", "fr", "89,90\u00a0€"),
        ("en-IE", "en", "€89.90"),
        ("ja-JP", "en", "€89.90"),
        (None, "en", "€89.90"),
        ("not a locale", "en", "€89.90"),
    ],
)
def test_the_language_falls_back_and_the_price_is_formatted_for_the_contact(
    tag: str | None, language: str, price: str
) -> None:
    email_ = renderer().render(cart((SHOE, 1), locale=tag))
    assert email_.language == language
    assert price in email_.html and price in email_.text
    heading = "Votre panier vous attend" if language == "fr" else "You left something"
    assert heading in email_.subject


def test_without_a_first_name_the_greeting_is_plain() -> None:
    assert "Bonjour," in renderer().render(cart((SHOE, 1), locale="fr")).text
    english = renderer().render(cart((SHOE, 1)))
    assert "Hello," in english.text and "Hello," in english.html


def test_a_first_name_is_escaped_in_html() -> None:
    email_ = renderer().render(cart((SHOE, 1), first_name="<b>Ann</b>"))
    assert "Hi &lt;b&gt;Ann&lt;/b&gt;," in email_.html and "Hi <b>Ann</b>," in email_.text


@pytest.mark.parametrize("name", sorted(CATALOGUE))
@pytest.mark.parametrize("locale", ["fr-FR", "en-GB"])
def test_every_catalogue_template_is_shipped_in_french_and_english(name: str, locale: str) -> None:
    scenario = CATALOGUE[name]
    for step in range(1, len(scenario.steps) + 1):
        record = sample_command(scenario, step=step, locale=locale)
        email_ = renderer().render(record)
        assert email_.language == locale[:2]
        assert email_.subject and email_.html.strip() and email_.text.strip()
        english = renderer().render(
            {**record, "recipient": {**record["recipient"], "locale": "en"}}
        )
        if locale.startswith("fr"):
            assert email_.subject != english.subject and email_.text != english.text
        sms = renderer().render_text_message({**record, "channel": "sms"})
        assert sms.language == locale[:2] and "\n" not in sms.text and len(sms.text) <= 320
        for part in parts(email_):
            assert "None" not in part and "Trail & Co" in part.replace("&amp;", "&")
            assert "75011 Paris, France" in part


def test_dates_are_written_for_the_contact() -> None:
    payload = SAMPLES["subscription_expiry"]
    french = renderer().render(
        command("subscription_expiry", payload, locale="fr-FR", marketing=False)
    )
    assert "30 juin 2024" in french.text
    english = renderer().render(command("subscription_expiry", payload, marketing=False))
    assert "June 30, 2024" in english.text


# Marketing or not.


def test_a_marketing_email_has_the_unsubscribe_link_in_both_parts_and_both_headers() -> None:
    rendered = renderer().render(cart((SHOE, 1), locale="fr-FR"))
    (link,) = rendered.list_unsubscribe
    assert link.startswith("https://links.shop.example/u/") and link.endswith("?lang=fr")
    assert f'href="{link}"' in rendered.html and link in rendered.text
    token = urlsplit(link).path.rsplit("/", 1)[1]
    claims = verify(token, [KEY], now=1714561200, max_age=MAX_AGE)
    assert (claims.purpose, claims.contact_id, claims.channel, claims.scope) == (
        "unsubscribe",
        "c1",
        "email",
        "all",
    )
    message = build_message(cart((SHOE, 1)), rendered, sender="Shop <shop@shop.example>")
    assert message["List-Unsubscribe"] == f"<{link}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Content-Language"] == "fr"


def test_a_transactional_email_has_no_unsubscribe_link_nor_header_and_still_the_footer() -> None:
    order = command("order_confirmation", SAMPLES["order_status"], marketing=False)
    rendered = renderer().render(order)
    assert rendered.list_unsubscribe == ()
    message = build_message(order, rendered, sender="shop@shop.example")
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
    for part in parts(rendered):
        assert "/u/" not in part and "Unsubscribe" not in part
        assert "Trail &amp; Co" in part or "Trail & Co" in part
        assert "12 rue des Lilas" in part
    assert "/p/" in rendered.text  # the preferences, there as in every email


def test_a_marketing_email_without_a_gateway_is_not_rendered() -> None:
    with pytest.raises(RenderError, match="RELANCE_GATEWAY_URL") as caught:
        Renderer(brand=BRAND).render(cart((SHOE, 1)))
    assert NO_UNSUBSCRIBE in str(caught.value)
    order = command("order_confirmation", SAMPLES["order_status"], marketing=False)
    assert Renderer(brand=BRAND).render(order).list_unsubscribe == ()  # needs no link


def test_a_mailbox_adds_a_mailto_with_the_same_token() -> None:
    rendered = Renderer(brand=BRAND, gateway=GATEWAY, mailbox="unsubscribe@shop.example").render(
        cart((SHOE, 1))
    )
    link, mailto = rendered.list_unsubscribe
    token = urlsplit(link).path.rsplit("/", 1)[1]
    assert mailto == f"mailto:unsubscribe@shop.example?subject=unsubscribe%20{token}"


def test_the_list_unsubscribe_header_is_never_encoded_into_encoded_words() -> None:
    # A signed link is longer than a header line: the standard folding would hide it in
    # =?utf-8?q?...?=, which no List-Unsubscribe reader decodes.
    long_contact = {**cart((SHOE, 1)), "contact_id": "c" * 256}
    rendered = Renderer(brand=BRAND, gateway=GATEWAY, mailbox="unsubscribe@shop.example").render(
        long_contact
    )
    message = build_message(long_contact, rendered, sender="shop@shop.example")
    raw = io.BytesIO()
    BytesGenerator(raw, policy=email.policy.SMTP).flatten(message)  # as aiosmtplib does
    head = raw.getvalue().split(b"\r\n\r\n", 1)[0].decode()
    assert f"List-Unsubscribe: <{rendered.list_unsubscribe[0]}>," in head
    assert "=?utf-8?" not in head
    received = email.message_from_bytes(raw.getvalue(), policy=email.policy.default)
    assert received["List-Unsubscribe"] == ", ".join(f"<{u}>" for u in rendered.list_unsubscribe)


def test_a_brand_without_name_or_address_shows_placeholders() -> None:
    rendered = renderer(Brand()).render(cart((SHOE, 1)))
    assert PLACEHOLDER_ADDRESS in rendered.text
    assert "placeholder: set brand.name" in rendered.html


# Links to the shop.


def test_links_to_the_shop_carry_utm_parameters_and_keep_the_shops_own() -> None:
    assert with_utm(
        "https://shop.example/p/1?utm_source=news&a=b",
        [("utm_source", "relance"), ("utm_medium", "email")],
    ) == ("https://shop.example/p/1?utm_source=news&a=b&utm_medium=email")
    assert with_utm("mailto:a@b.example", [("utm_source", "x")]) == "mailto:a@b.example"
    rendered = renderer().render(cart((SHOE, 1), variant="short"))
    query = parse_qs(
        urlsplit(rendered.text.split("https://shop.example/p/sku-1", 1)[1].split()[0]).query
    )
    assert query == {
        "utm_source": ["relance"],
        "utm_medium": ["email"],
        "utm_campaign": ["cart_abandonment"],
        "utm_content": ["short"],
    }


def test_utm_parameters_can_be_switched_off() -> None:
    brand = Brand(name="S", address="A", links=Links(utm=False))
    rendered = renderer(brand).render(cart((SHOE, 1)))
    assert "utm_" not in rendered.html and "https://shop.example/p/sku-1\n" in rendered.text


def test_click_tracking_sends_each_shop_link_through_the_gateway_with_its_final_url() -> None:
    brand = Brand(name="S", address="A", links=Links(click_tracking=True))
    rendered = renderer(brand).render(cart((SHOE, 1)))
    assert "https://shop.example/p/sku-1" not in rendered.html
    clicks = [word for word in rendered.text.split() if "/c/" in word]
    assert clicks
    claims = verify(
        urlsplit(clicks[0]).path.rsplit("/", 1)[1], [KEY], now=1714561200, max_age=MAX_AGE
    )
    assert claims.purpose == "click" and claims.command_id == cart((SHOE, 1))["command_id"]
    assert claims.url == (
        "https://shop.example/p/sku-1?utm_source=relance&utm_medium=email"
        "&utm_campaign=cart_abandonment&utm_content=step-1"
    )
    assert "https://shop.example/i/sku-1.jpg" in rendered.html  # images are not links


def test_click_tracking_is_off_by_default() -> None:
    assert Links().click_tracking is False
    assert "/c/" not in renderer().render(cart((SHOE, 1))).html


def test_the_cart_button_opens_the_cart_page_else_the_first_product() -> None:
    rendered = renderer().render(cart((SHOE, 1)))
    assert 'href="https://shop.example/cart/restore/cart-9?utm_source=relance' in rendered.html
    assert (
        "Complete your order whenever you are ready: https://shop.example/cart/restore/"
        "cart-9?" in rendered.text
    )
    for fallback_command, brand in (
        (cart((SHOE, 1), cart_id=None), BRAND),
        (cart((SHOE, 1)), Brand(name="S", address="A")),
    ):
        shown = renderer(brand).render(fallback_command)
        assert "/cart/restore/" not in shown.html
        assert "ready: https://shop.example/p/sku-1?" in shown.text
    odd = cart((SHOE, 1), cart_id="a/b c")
    assert "/cart/restore/a%2Fb%20c?" in renderer().render(odd).text


def test_the_cart_total_is_shown_only_when_every_line_has_a_price_in_one_currency() -> None:
    dollars = {**SHOE, "id": "sku-2", "currency": "USD"}
    unpriced = {**SHOE, "id": "sku-3", "price": None}
    assert "Total: €269.70" in renderer().render(cart((SHOE, 3))).text
    for lines in (((SHOE, 1), (dollars, 1)), ((SHOE, 1), (unpriced, 1))):
        assert "Total" not in renderer().render(cart(*lines)).text


# Sizes.


def thousand_lines(template: str) -> dict[str, Any]:
    lines = [
        {
            "product": {
                **SHOE,
                "id": f"sku-{n}",
                "name": f"Trail shoe {n}",
                "url": f"https://shop.example/p/sku-{n}",
            },
            "quantity": 1,
        }
        for n in range(1000)
    ]
    if template in ("cart_abandonment", "cart_last_call"):
        payload: dict[str, Any] = {"cart_id": "cart-9", "items": lines}
    elif template == "browse_abandonment":
        payload = {"products": [{"product": line["product"], "views": 1} for line in lines]}
    elif template == "digest":
        payload = {
            "period": "2024-05-01",
            "items": [
                {
                    "scenario": "back_in_stock",
                    "template": "back_in_stock",
                    "decided_at": 0,
                    "payload": {"product": line["product"]},
                }
                for line in lines
            ],
        }
    else:
        payload = {
            "order": {
                "order_id": "o-1",
                "status": "placed",
                "total": 89900.0,
                "currency": "EUR",
                "items": lines,
            }
        }
    return command(template, payload)


@pytest.mark.parametrize("template", LISTING)
@pytest.mark.parametrize(("locale", "more"), [("en", "and 990 more"), ("fr", "et 990 autres")])
def test_a_thousand_lines_render_under_100_kb_and_say_how_many_more(
    template: str, locale: str, more: str
) -> None:
    record = thousand_lines(template)
    record["recipient"]["locale"] = locale
    rendered = renderer().render(record)
    assert len(rendered.html.encode()) < 100_000, len(rendered.html.encode())
    assert more in rendered.html and more in rendered.text
    assert rendered.text.count("Trail shoe ") == 10


def test_the_lines_shown_are_configured() -> None:
    rendered = renderer(Brand(name="S", address="A", max_lines=3)).render(
        thousand_lines("cart_abandonment")
    )
    assert "and 997 more" in rendered.text and rendered.text.count("Trail shoe ") == 3
    assert "Total: €89,900.00" in rendered.text  # of every line, not those shown


# Overrides, per language.


def test_an_override_in_a_language_folder_wins_for_that_language_only(tmp_path: Path) -> None:
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "cart_abandonment.subject.txt").write_text("Psst, {{ cart.lines }} article")
    (tmp_path / "cart_abandonment.subject.txt").write_text("Psst, your cart")
    french = renderer(folder=tmp_path).render(cart((SHOE, 1), locale="fr-CA"))
    assert french.subject == "Psst, 1 article"
    assert "Votre panier vous attend" in french.text  # the rest is still shipped French
    assert renderer(folder=tmp_path).render(cart((SHOE, 1))).subject == "Psst, your cart"


def test_a_language_only_the_template_folder_has_is_used(tmp_path: Path) -> None:
    (tmp_path / "de").mkdir()
    for part, body in (
        ("subject.txt", "Ihr Warenkorb wartet"),
        ("html", '<p>Hallo</p>{% include "_footer.html" %}'),
        ("txt", 'Hallo\n{% include "_footer.txt" %}'),
    ):
        (tmp_path / "de" / f"cart_abandonment.{part}").write_text(body)
    german = renderer(folder=tmp_path).render(cart((SHOE, 1), locale="de-AT"))
    assert (german.subject, german.language) == ("Ihr Warenkorb wartet", "de")
    assert renderer().render(cart((SHOE, 1), locale="de-AT")).language == "en"
