"""The scenario file's brand section: read and checked like the rest of the file, with the
file, the line and what is wrong; and what a sender needs of it to send marketing email."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from relance.brand import Brand, Colors, Links
from relance.errors import ConfigError
from relance.scenario_file import load_brand, load_config
from relance.sender.compliance import marketing_problems

FULL = """\
scenarios:
  cart_abandonment: {}
brand:
  name: Trail & Co
  address: |
    12 rue des Lilas
    75011 Paris, France
  shop_url: https://shop.example/
  cart_url: https://shop.example/cart/restore/{cart_id}
  account_url: https://shop.example/account
  support_email: aide@shop.example
  logo_url: https://shop.example/logo.png
  colors: {accent: "#0f766e", background: "#fff"}
  default_locale: fr_FR
  max_lines: 5
  links: {utm_source: newsletter, utm_medium: e-mail, click_tracking: true}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_brand(text, "shop.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_full_brand_section_is_read() -> None:
    assert load_brand(FULL, "shop.yaml") == Brand(
        name="Trail & Co",
        address="12 rue des Lilas\n75011 Paris, France",
        shop_url="https://shop.example/",
        cart_url="https://shop.example/cart/restore/{cart_id}",
        account_url="https://shop.example/account",
        support_email="aide@shop.example",
        logo_url="https://shop.example/logo.png",
        colors=Colors(accent="#0f766e", background="#fff"),
        default_locale="fr-FR",
        max_lines=5,
        links=Links(utm_source="newsletter", utm_medium="e-mail", click_tracking=True),
    )
    assert load_config(FULL, "shop.yaml").get("cart_abandonment")  # the rest reads as before


def test_without_a_section_the_defaults_say_they_are_placeholders() -> None:
    brand = load_brand("scenarios: {cart_abandonment: {}}\n")
    assert brand == Brand() and brand.missing() == ["brand.name", "brand.address"]
    assert "placeholder" in brand.shown_name and "placeholder" in brand.shown_address
    assert brand.links == Links(utm=True, utm_source="relance", click_tracking=False)


def test_every_problem_names_the_file_the_line_and_the_key() -> None:
    text = """\
scenarios: {cart_abandonment: {}}
brand:
  name: 3
  cart_url: https://shop.example/cart/{id}
  shop_url: shop.example
  colors:
    accent: #0f766e
    text: red
    border: "#000"
  links: {utm: maybe, utm_source: "two words"}
  support_email: nobody
  max_lines: 0
  default_locale: ../fr
  slogan: Run further
"""
    assert problems(text) == [
        "shop.yaml:3: brand.name: must be text, not 3",
        "shop.yaml:4: brand.cart_url: must hold {cart_id} once (where the cart's id goes), "
        "and no other {...}",
        "shop.yaml:5: brand.shop_url: 'shop.example' is not an http or https URL",
        'shop.yaml:7: brand.colors.accent: needs a value: quote a colour, "#1a2b3c"',
        "shop.yaml:8: brand.colors.text: 'red' is not a colour like \"#1a2b3c\"",
        "shop.yaml:9: brand.colors.border: unknown key (allowed: accent, background, text)",
        "shop.yaml:10: brand.links.utm: must be true or false, not 'maybe'",
        "shop.yaml:10: brand.links.utm_source: 'two words' is not a UTM value (letters, "
        "digits and - _ . ~, at most 64)",
        "shop.yaml:11: brand.support_email: is not an email address: An email address must "
        "have an @-sign.",
        "shop.yaml:12: brand.max_lines: must be a whole number from 1 to 1000, not 0",
        "shop.yaml:13: brand.default_locale: '../fr' is not a language tag like en or fr-FR",
        "shop.yaml:14: brand.slogan: unknown key (allowed: name, address, shop_url, cart_url, "
        "account_url, logo_url, support_email, colors, default_locale, max_lines, links)",
    ]


def test_a_bad_brand_stops_the_worker_too_as_any_problem_of_the_file() -> None:
    with pytest.raises(ConfigError, match=r"brand\.max_lines"):
        load_config("scenarios: {cart_abandonment: {}}\nbrand: {max_lines: many}\n", "f")


def test_marketing_email_needs_the_gateway_and_the_brands_name_and_address() -> None:
    config = load_config("scenarios:\n  cart_abandonment: {}\n  order_confirmation: {}\n")
    found = [str(p) for p in marketing_problems(config, Brand(), gateway=False, file="shop.yaml")]
    assert found == [
        "environment: RELANCE_GATEWAY_URL: marketing email (cart_abandonment) needs an "
        "unsubscribe link in every message: set RELANCE_GATEWAY_URL and RELANCE_LINK_KEYS "
        "(relance gateway serves the links)",
        "shop.yaml: brand.name: marketing email (cart_abandonment) needs the shop's name and "
        "postal address in its footer: give them in the file's brand section",
        "shop.yaml: brand.address: marketing email (cart_abandonment) needs the shop's name "
        "and postal address in its footer: give them in the file's brand section",
    ]
    brand = load_brand(FULL)
    assert marketing_problems(config, brand, gateway=True, file="shop.yaml") == []
    orders = load_config("scenarios:\n  order_confirmation: {}\n")
    assert marketing_problems(orders, Brand(), gateway=False, file="shop.yaml") == []


def relance(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RELANCE_")}
    return subprocess.run(
        [sys.executable, "-m", "relance", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**clean, **env},
    )


def test_a_sender_that_would_send_marketing_email_it_cannot_link_stops_at_start(
    tmp_path: Path,
) -> None:
    shop = tmp_path / "shop.yaml"
    shop.write_text("scenarios:\n  cart_abandonment: {}\n")
    # No broker is needed: the configuration is read before anything connects.
    started = relance("sender", RELANCE_SCENARIOS=str(shop), RELANCE_BROKER="kafka://127.0.0.1:9")
    assert started.returncode == 2
    assert (
        "relance: environment: RELANCE_GATEWAY_URL: marketing email (cart_abandonment)"
        in started.stderr
    )
    assert f"relance: {shop}: brand.name: marketing email" in started.stderr
    bad_keys = relance(
        "sender",
        RELANCE_SCENARIOS=str(shop),
        RELANCE_LINK_KEYS="k1:short",
        RELANCE_GATEWAY_URL="links.shop.example",
    )
    assert bad_keys.returncode == 2
    assert "RELANCE_LINK_KEYS: key 'k1' is shorter than 16 characters" in bad_keys.stderr
    assert "short" not in bad_keys.stderr.replace("shorter", "")  # never the secret
    assert "RELANCE_GATEWAY_URL: 'links.shop.example' is not an http(s) URL" in bad_keys.stderr
