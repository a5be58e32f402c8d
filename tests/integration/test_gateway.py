"""The gateway on real parts: its HTTP server, the embedded broker, the worker and the sender,
an SMTP sink, and a real browser (Debian's chromium) for the confirmation page.

Until the sender puts the links in its emails, the tests build each link the way it will:
``relance.tokens.sign`` and ``relance.gateway.links``, with the keys the gateway is given."""

from __future__ import annotations

import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from relance.codec.wire import AutoEventCodec
from relance.core.events import CartChange, Engagement, Order, OrderItem, PageView
from relance.core.scenarios import InputRules
from relance.demo.broker import free_port
from relance.demo.run import metrics as scrape_metrics
from relance.gateway.links import click_url, preferences_url, unsubscribe_url
from relance.kafka.clients import read_to_end
from relance.tokens import Claims, Key, parse_keys, sign

from .conftest import BRAND, PARTITIONS, Stack, wait_for
from .test_live_pipeline import SHOE, now_ms, produce, profile

pytestmark = pytest.mark.integration

KEYS = "k2:a-newer-gateway-key-0123,k1:an-older-gateway-key-4567"
NEW_KEY, OLD_KEY = parse_keys(KEYS)
ONE_CLICK = b"List-Unsubscribe=One-Click"  # the body Gmail and Yahoo POST (RFC 8058)
CODEC = AutoEventCodec(rules=InputRules())
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def configure(stack: Stack, text: str) -> dict[str, str]:
    """``text``'s scenarios, with the brand a sender of marketing email needs."""
    path = stack.root / "gateway-scenarios.yaml"
    path.write_text(text + BRAND)
    return {"RELANCE_SCENARIOS": str(path)}


def start_gateway(stack: Stack, **env: str) -> str:
    """``relance gateway`` on a port of its own, ready; its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    stack.start(
        "gateway",
        RELANCE_GATEWAY_WEB_PORT=str(port),
        RELANCE_LINK_KEYS=KEYS,
        RELANCE_GATEWAY_URL=base,
        **env,
    )
    wait_for(lambda: ask(f"{base}/readyz")[0] == 200, timeout=60)
    stack.env["GATEWAY"] = base
    return base


class _Kept(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer to look at, not to follow


def ask(url: str, body: bytes | None = None) -> tuple[int, dict[str, str], str]:
    """Status, headers and text of a GET (or a form POST of ``body``); 0 while nothing
    listens."""
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {},
    )
    try:
        with urllib.request.build_opener(_Kept).open(request, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()
    except OSError:
        return 0, {}, ""


def token(
    purpose: Any,
    contact: str,
    *,
    key: Key = NEW_KEY,
    age: int = 0,
    scope: str = "all",
    command_id: str | None = None,
    url: str | None = None,
) -> str:
    return sign(
        Claims(purpose, contact, "email", scope, int(time.time()) - age, command_id, url), key
    )


def engagements(stack: Stack) -> list[Engagement]:
    """Every event on the engagement topic, read to its end."""
    reader = Consumer(
        {
            "bootstrap.servers": stack.broker.bootstrap,
            "group.id": f"{stack.prefix}-engagement-reader",
            "enable.partition.eof": True,
            "enable.auto.commit": False,
        }
    )
    topic = stack.topic("engagement")
    reader.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    found: list[Engagement] = []
    try:
        read_to_end(
            reader,
            [(topic, p) for p in range(PARTITIONS)],
            lambda m: found.append(CODEC.decode(m.value(), "engagement")),  # type: ignore[arg-type]  # an engagement codec's event
            what="engagement",
            timeout=60,
        )
    finally:
        reader.close()
    return found


def suppressed_unsubscribed(stack: Stack, scenario: str) -> float | None:
    name = f'relance_suppressions_total{{reason="unsubscribed",scenario="{scenario}"}}'
    return stack.metrics("worker").get(name)


def test_a_one_click_post_unsubscribes_and_the_next_reminder_is_suppressed_not_the_order(
    stack: Stack,
) -> None:
    env = configure(
        stack,
        "scenarios:\n  cart_abandonment: {delay: 3s, quiet_period: 1s}\n  order_confirmation: {}\n",
    )
    stack.start("worker", **env)
    stack.start("sender", **env)
    base = start_gateway(stack, **env)
    t = now_ms()
    produce(stack, [profile("ann", t), CartChange("ann-1", "ann", t + 10, "add", SHOE, 1)])
    (reminder,) = wait_for(lambda: stack.sink.messages(), timeout=90)
    assert reminder["To"] == "ann@example.com"
    # The link a mail client finds in List-Unsubscribe, POSTed as Gmail and Yahoo do.
    status, headers, page = ask(unsubscribe_url(base, token("unsubscribe", "ann")), ONE_CLICK)
    assert status == 200 and "You are unsubscribed" in page
    assert headers["Cache-Control"] == "no-store"
    (event,) = engagements(stack)
    assert (event.contact_id, event.kind, event.channel, event.scope) == (
        "ann",
        "unsubscribe",
        "email",
        "all",
    )
    produce(stack, [CartChange("ann-2", "ann", now_ms(), "add", SHOE, 2)])
    wait_for(lambda: suppressed_unsubscribed(stack, "cart_abandonment") == 1.0, timeout=90)
    produce(
        stack,
        [Order("ann-3", "ann", now_ms(), "o-1", "placed", (OrderItem(SHOE, 2),), 179.8, "EUR")],
    )
    wait_for(lambda: len(stack.sink.messages()) == 2, timeout=90)
    time.sleep(3)
    subjects = [m["Subject"] for m in stack.sink.messages()]
    assert len(subjects) == 2 and subjects[1] == "Thank you for your order (o-1)"


def test_tampered_expired_and_misused_links_get_a_page_and_write_nothing(stack: Stack) -> None:
    base = start_gateway(stack, RELANCE_LINK_MAX_AGE_UNSUBSCRIBE="86400")
    good = token("unsubscribe", "bea")
    body, dot, signature = good.partition(".")
    tampered = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + dot + signature
    refused = [
        (unsubscribe_url(base, tampered), 400, "This link is not valid"),
        (
            unsubscribe_url(base, token("unsubscribe", "bea", age=2 * 86400), "fr"),
            410,
            "Ce lien est trop ancien",
        ),
        (
            unsubscribe_url(base, token("unsubscribe", "bea", key=Key("k0", b"x" * 20))),
            410,
            "This link is too old",
        ),  # a key no longer listed
        (
            unsubscribe_url(base, token("click", "bea", url="https://shop.example/")),
            400,
            "This link is not valid",
        ),
    ]
    for url, status, title in refused:
        for answer in (ask(url), ask(url, ONE_CLICK)):
            assert answer[0] == status and f"<h1>{title}</h1>" in answer[2], (url, answer)
    # A link signed with the older key still works while it is listed: the only write.
    assert ask(unsubscribe_url(base, token("unsubscribe", "bea", key=OLD_KEY)), ONE_CLICK)[0] == 200
    assert [(e.contact_id, e.kind) for e in engagements(stack)] == [("bea", "unsubscribe")]
    samples = scrape_metrics(int(base.rsplit(":", 1)[1]))
    assert samples['relance_gateway_requests_total{outcome="invalid",route="unsubscribe"}'] == 4
    assert samples['relance_gateway_requests_total{outcome="expired",route="unsubscribe"}'] == 4
    assert samples['relance_gateway_events_written_total{kind="unsubscribe",scope="all"}'] == 1
    gateway = stack.processes["gateway"]
    gateway.send_signal(signal.SIGTERM)
    assert gateway.wait(timeout=30) == 0
    assert "Traceback" not in stack.log("gateway")


def test_the_confirmation_page_in_a_browser_unsubscribes_with_its_button(
    stack: Stack, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    base = start_gateway(stack)
    link = unsubscribe_url(base, token("unsubscribe", "cid"), "fr-CA")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=BROWSER_FLAGS
        )
        try:
            page = browser.new_page(locale="en-GB")
            page.goto(link)
            assert page.locator("h1").inner_text() == "Désabonnement"
            page.screenshot(path=str(tmp_path / "confirmation.png"))
            assert engagements(stack) == []  # opening the page unsubscribes nobody
            page.get_by_role("button", name="Me désabonner").click()
            page.wait_for_selector("text=Désabonnement enregistré")
            page.screenshot(path=str(tmp_path / "unsubscribed.png"))
        finally:
            browser.close()
    (event,) = wait_for(lambda: engagements(stack), timeout=30)
    assert (event.contact_id, event.kind, event.scope) == ("cid", "unsubscribe", "all")


def test_leaving_reminders_on_the_preference_page_stops_them_and_not_recommendations(
    stack: Stack,
) -> None:
    env = configure(
        stack,
        "scenarios:\n  cart_abandonment: {delay: 3s}\n"
        "  browse_abandonment: {delay: 3s, family: recommendations}\n",
    )
    stack.start("worker", **env)
    stack.start("sender", **env)
    base = start_gateway(stack, **env)
    produce(stack, [profile("dee", now_ms())])
    link = preferences_url(base, token("preferences", "dee"))
    status, _, page = ask(link)
    assert status == 200 and 'value="reminders"' in page and 'value="recommendations"' in page
    assert 'value="digests"' not in page  # no scenario of the file is a digest
    status, _, page = ask(link, b"scope=reminders")
    assert status == 200 and "You will no longer receive reminders" in page
    (event,) = engagements(stack)
    assert (event.contact_id, event.scope) == ("dee", "reminders")
    produce(stack, [PageView("dee-1", "dee", now_ms(), "product", SHOE)])
    (browse,) = wait_for(lambda: stack.sink.messages(), timeout=90)
    assert browse["To"] == "dee@example.com"
    produce(stack, [CartChange("dee-2", "dee", now_ms(), "add", SHOE, 1)])
    wait_for(lambda: suppressed_unsubscribed(stack, "cart_abandonment") == 1.0, timeout=90)
    assert len(stack.sink.messages()) == 1


def test_a_tracked_link_records_the_click_and_redirects_to_the_exact_url(stack: Stack) -> None:
    base = start_gateway(stack, RELANCE_GATEWAY_CLICKS="true")
    shop = "https://shop.example/p/sku-1?utm_source=relance&utm_campaign=cart_abandonment"
    link = click_url(
        base, token("click", "eve", scope="cart_abandonment", command_id="cmd-7", url=shop)
    )
    status, headers, _ = ask(link)
    assert (status, headers["Location"]) == (303, shop)
    assert headers["Referrer-Policy"] == "no-referrer"
    (event,) = engagements(stack)
    assert (event.contact_id, event.kind, event.command_id) == ("eve", "click", "cmd-7")
