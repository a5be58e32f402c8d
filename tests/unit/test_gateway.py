"""The gateway's answers, without a server: tokens checked, pages localised and escaped, one
event per action and none for a page view or a refused link."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from relance.core.events import Engagement
from relance.errors import BrokerError
from relance.gateway import engagements
from relance.gateway.answers import Gateway
from relance.gateway.languages import negotiate
from relance.gateway.pages import Shop
from relance.host.process import WebAnswer, WebRequest
from relance.metrics import GatewayMetrics
from relance.tokens import Claims, Key, sign

KEY = Key("k1", b"0123456789abcdef")
NOW_S = 1_800_000_000
AGES = {"unsubscribe": 86_400, "preferences": 86_400, "click": 3_600}
SHOP = Shop(
    name="Chez <Zoé> & Fils", url="https://shop.example/", support_email="help@shop.example"
)
LEAVE = Claims("unsubscribe", "c-42", "email", "all", NOW_S - 60)
PREFS = Claims("preferences", "c-42", "email", "all", NOW_S - 60)
CLICK = Claims(
    "click",
    "c-42",
    "email",
    "cart_abandonment",
    NOW_S - 60,
    "cmd-1",
    "https://shop.example/p/1?utm_source=relance&x=<1>",
)
ONE_CLICK = b"List-Unsubscribe=One-Click"


@dataclass
class Written:
    events: list[Engagement]
    failing: bool = False

    async def __call__(self, event: Engagement, timeout: float) -> None:
        if self.failing:
            raise BrokerError("the broker is away")
        self.events.append(event)


def gateway(*, clicks: bool = False, families: Any = None) -> tuple[Gateway, Written]:
    written = Written([])
    return Gateway(
        keys=[KEY],
        max_age=AGES,
        shop=SHOP,
        families=families or {"email": ("reminders", "recommendations")},
        write=written,
        clock=lambda: NOW_S * 1000,
        metrics=GatewayMetrics.create(CollectorRegistry()),
        clicks=clicks,
    ), written


def ask(
    gw: Gateway,
    route: str,
    token: str,
    method: str = "GET",
    body: bytes = b"",
    lang: str | None = None,
    accept: str | None = None,
) -> WebAnswer:
    query = {"lang": lang} if lang else {}
    headers = {"accept-language": accept} if accept else {}
    return asyncio.run(gw.answer(route, WebRequest(method, {"token": token}, query, headers, body)))


def text(answer: WebAnswer) -> str:
    return answer.body.decode()


def test_the_unsubscribe_page_asks_first_in_the_links_language_and_writes_nothing() -> None:
    gw, written = gateway()
    answer = ask(gw, "u", sign(LEAVE, KEY), lang="fr-CA")
    assert answer.status == 200 and written.events == []
    page = text(answer)
    assert '<html lang="fr">' in page and "Me désabonner" in page
    assert (
        '<form method="post"><input type="hidden" name="List-Unsubscribe" '
        'value="One-Click">' in page
    )


def test_a_one_click_post_writes_one_unsubscribe_and_a_repeat_writes_nothing_new() -> None:
    gw, written = gateway()
    token = sign(LEAVE, KEY)
    first = ask(gw, "u", token, "POST", ONE_CLICK)
    again = ask(gw, "u", token, "POST", ONE_CLICK)
    assert first.status == again.status == 200
    assert "You are unsubscribed" in text(first) and "You are unsubscribed" in text(again)
    (event,) = written.events
    assert event == Engagement(
        engagements.event_id(LEAVE, "unsubscribe", "all"),
        "c-42",
        NOW_S * 1000,
        "unsubscribe",
        "email",
        None,
        "all",
    )


@pytest.mark.parametrize(
    ("token", "status", "title"),
    [
        (sign(LEAVE, KEY)[:-2] + "xx", 400, "This link is not valid"),
        (sign(LEAVE, Key("k0", b"another-secret-key!")), 410, "This link is too old"),
        (
            sign(Claims("unsubscribe", "c-42", "email", "all", NOW_S - 86_401), KEY),
            410,
            "This link is too old",
        ),
        (sign(CLICK, KEY), 400, "This link is not valid"),  # a click token does not unsubscribe
        (
            sign(Claims("unsubscribe", "c-42", "email", "promotions", NOW_S), KEY),
            400,
            "This link is not valid",
        ),
        ("not-a-token", 400, "This link is not valid"),
    ],
)
def test_a_refused_link_gets_a_page_saying_why_and_writes_nothing(
    token: str, status: int, title: str
) -> None:
    gw, written = gateway()
    for method in ("GET", "POST"):
        answer = ask(gw, "u", token, method, ONE_CLICK)
        assert answer.status == status and f"<h1>{title}</h1>" in text(answer)
        assert '<a href="https://shop.example/">' in text(answer)
    assert written.events == []


def test_the_refusal_is_in_the_contacts_language_too() -> None:
    gw, _ = gateway()
    answer = ask(gw, "p", "x.y", accept="de-DE,fr;q=0.8,en;q=0.5")
    assert answer.status == 400 and "Ce lien n&#x27;est pas valide" in text(answer)


def test_the_preference_page_offers_the_files_families_and_saves_one() -> None:
    gw, written = gateway()
    token = sign(PREFS, KEY)
    page = text(ask(gw, "p", token))
    assert re.findall(r'value="(\w+)"', page) == ["reminders", "recommendations", "all"]
    answer = ask(gw, "p", token, "POST", b"scope=reminders")
    assert answer.status == 200 and "You will no longer receive reminders from" in text(answer)
    (event,) = written.events
    assert (event.kind, event.scope, event.event_id) == (
        "unsubscribe",
        "reminders",
        engagements.event_id(PREFS, "preferences", "reminders"),
    )


@pytest.mark.parametrize("body", [b"", b"scope=digests", b"scope=everything", b"\xff\xfe"])
def test_a_choice_the_page_did_not_offer_is_refused_and_the_form_shown_again(body: bytes) -> None:
    gw, written = gateway()
    answer = ask(gw, "p", sign(PREFS, KEY), "POST", body)
    assert answer.status == 400 and "Choose one of the options." in text(answer)
    assert written.events == []


def test_a_click_redirects_to_the_exact_signed_url_and_is_recorded_when_on() -> None:
    for clicks in (False, True):
        gw, written = gateway(clicks=clicks)
        answer = ask(gw, "c", sign(CLICK, KEY))
        assert answer.status == 303 and answer.headers["Location"] == CLICK.url
        assert [(e.kind, e.command_id) for e in written.events] == (
            [("click", "cmd-1")] if clicks else []
        )


def test_a_click_token_to_anything_but_a_web_page_is_refused() -> None:
    gw, _ = gateway(clicks=True)
    for url in ("javascript:alert(1)", "//evil.example/", "https://shop.example/\r\nX: y"):
        claims = Claims("click", "c-42", "email", "s", NOW_S, "cmd-1", url)
        answer = ask(gw, "c", sign(claims, KEY))
        assert answer.status == 400 and "Location" not in answer.headers


def test_an_unacknowledged_write_asks_to_try_again_and_is_not_taken_for_written() -> None:
    gw, written = gateway()
    written.failing = True
    answer = ask(gw, "u", sign(LEAVE, KEY), "POST", ONE_CLICK)
    assert answer.status == 503 and answer.headers["Retry-After"] == "60"
    written.failing = False
    assert ask(gw, "u", sign(LEAVE, KEY), "POST", ONE_CLICK).status == 200
    assert len(written.events) == 1


def test_every_answer_is_uncached_unframed_and_sends_no_referrer() -> None:
    gw, _ = gateway()
    for answer in (
        ask(gw, "u", sign(LEAVE, KEY)),
        ask(gw, "u", "bad"),
        ask(gw, "c", sign(CLICK, KEY)),
    ):
        assert answer.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["X-Frame-Options"] == "DENY"


def test_the_shops_name_is_escaped_and_a_foreign_logo_or_colour_is_left_out() -> None:
    @dataclass(frozen=True)
    class Colors:
        accent: str = "red;}body{display:none"
        background: str = "#fff"
        text: str = "#000000"

    @dataclass(frozen=True)
    class Brand:
        name: str = "<script>alert(1)</script>"
        shop_url: str = "javascript:alert(1)"
        logo_url: str = "javascript:alert(2)"
        support_email: str = "x@y.example?bcc=z@w.example"
        colors: Colors = Colors()
        default_locale: str = "fr-FR"

    shop = Shop.of(Brand())
    assert (shop.url, shop.logo_url, shop.support_email, shop.accent) == (
        None,
        None,
        None,
        "#18181b",
    )
    assert shop.background == "#fff" and shop.default_locale == "fr-FR"
    gw = Gateway(
        keys=[KEY],
        max_age=AGES,
        shop=shop,
        families={},
        write=Written([]),
        clock=lambda: NOW_S * 1000,
        metrics=GatewayMetrics.create(CollectorRegistry()),
        clicks=False,
    )
    answer = ask(gw, "u", sign(LEAVE, KEY))
    assert "<script>" not in text(answer) and "&lt;script&gt;" in text(answer)
    assert '<html lang="fr">' in text(answer)  # the shop's language without the link's
    assert shop.style_hash in answer.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("lang", "accept", "default", "chosen"),
    [
        ("fr-CA", None, "en", "fr"),
        ("FR_ca", None, "en", "fr"),
        (None, None, "fr-BE", "fr"),
        (None, "de-DE,fr;q=0.8,en;q=0.9", "en", "en"),
        (None, "de, *;q=0.5", "fr", "fr"),
        (None, "fr;q=0, en", "fr", "en"),
        ("xx", "yy", "zz", "en"),
        ("", "fr-CH", "en", "fr"),
    ],
)
def test_the_language_falls_back_from_region_to_language_to_the_default(
    lang: str | None, accept: str | None, default: str, chosen: str
) -> None:
    assert negotiate(lang, accept, default, {"en": 1, "fr": 2}) == chosen


def test_event_ids_are_the_same_for_the_same_link_and_differ_between_links() -> None:
    assert engagements.event_id(LEAVE, "unsubscribe", "all") == engagements.event_id(
        LEAVE, "unsubscribe", "all"
    )
    other = Claims(
        "click",
        "c-42",
        "email",
        "cart_abandonment",
        NOW_S - 60,
        "cmd-1",
        "https://shop.example/p/2",
    )
    ids = {
        engagements.event_id(c, p, s)
        for c, p, s in [
            (LEAVE, "unsubscribe", "all"),
            (PREFS, "preferences", "all"),
            (PREFS, "preferences", "reminders"),
            (CLICK, "click", "x"),
            (other, "click", "x"),
        ]
    }
    assert len(ids) == 5


def test_every_language_says_everything_english_says() -> None:
    from relance.gateway.texts import ENGLISH, TEXTS

    for language, texts in TEXTS.items():
        assert texts.keys() == ENGLISH.keys(), language
        for key, text in texts.items():
            assert set(re.findall(r"\{(\w+)\}", text)) == set(
                re.findall(r"\{(\w+)\}", ENGLISH[key])
            ), (language, key)
