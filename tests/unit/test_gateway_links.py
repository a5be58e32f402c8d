"""The gateway's URL scheme, as the sender builds links and the gateway routes them."""

from __future__ import annotations

from relance.gateway.links import ROUTES, click_url, preferences_url, unsubscribe_url
from relance.tokens import Claims, Key, sign, verify

KEY = Key("k1", b"0123456789abcdef")
TOKEN = sign(Claims("unsubscribe", "c-1", "email", "all", 1_000), KEY)


def test_each_link_is_the_base_a_route_letter_and_the_token() -> None:
    assert (
        unsubscribe_url("https://links.shop.example", TOKEN, "fr-CA")
        == f"https://links.shop.example/u/{TOKEN}?lang=fr-CA"
    )
    assert (
        preferences_url("https://links.shop.example/", TOKEN)
        == f"https://links.shop.example/p/{TOKEN}"
    )
    assert (
        click_url("https://shop.example/relance", TOKEN)
        == f"https://shop.example/relance/c/{TOKEN}"
    )


def test_the_token_in_a_link_reads_back_and_the_language_is_escaped() -> None:
    url = unsubscribe_url("https://g.example", TOKEN, "fr&x=<y>")
    assert url.endswith("?lang=fr%26x%3D%3Cy%3E")
    token = url.split("/u/", 1)[1].split("?", 1)[0]
    assert verify(token, [KEY], now=1_000, max_age={"unsubscribe": 60}).contact_id == "c-1"


def test_every_route_has_its_own_purpose() -> None:
    assert sorted(ROUTES.values()) == ["click", "preferences", "unsubscribe"]
