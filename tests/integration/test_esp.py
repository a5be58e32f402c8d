"""EspProvider against a real local HTTP server that checks requests as Postmark and SendGrid
document them and answers like them: delivery, error mapping, Retry-After, the session."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from relance.core.commands import Recipient, SendCommand
from relance.demo.mailsink import free_port
from relance.providers.base import Dispatch
from relance.providers.errors import PermanentDeliveryError, TemporaryDeliveryError
from relance.providers.esp import EspProvider
from relance.providers.postmark import Postmark
from relance.providers.sendgrid import SendGrid
from relance.sender.links import LinkSigner
from relance.sender.message import build_message
from relance.sender.render import Renderer
from relance.tokens import Key

from .esp_server import TOKEN, Answer, EspServer, Kind, postmark_error, sendgrid_error
from .test_smtp import COMMAND_ID, SHOE

pytestmark = pytest.mark.integration

DISPATCH = Dispatch(COMMAND_ID, "c1", "cart_abandonment")
RENDERER = Renderer(gateway=LinkSigner("https://shop.example", Key("k1", b"0123456789abcdef")))


def message() -> EmailMessage:
    record = SendCommand(
        command_id=COMMAND_ID,
        contact_id="c1",
        scenario="cart_abandonment",
        step=1,
        channel="email",
        template="cart_abandonment",
        priority=100,
        decided_at=1714561200000,
        recipient=Recipient("ann@example.com", "de-DE", "Europe/Berlin"),
        payload={"cart_id": None, "items": [{"product": SHOE, "quantity": 2}]},
    ).to_record()
    built = build_message(record, RENDERER.render(record), sender="Shop <hello@shop.example>")
    # A link of a fixed token: the ESP passes the sender's List-Unsubscribe headers on.
    built.replace_header("List-Unsubscribe", "<https://shop.example/u/t0k3n?lang=de>")
    return built


def provider(kind: Kind, url: str, token: str = TOKEN, timeout: float = 10.0) -> EspProvider:
    api = Postmark(token) if kind == "postmark" else SendGrid(token)
    return EspProvider(api, url, timeout=timeout)


def send(esp: EspProvider, *messages: EmailMessage) -> None:
    async def run() -> None:
        try:
            for each in messages:
                await esp.send(each, DISPATCH)
        finally:
            await esp.close()

    asyncio.run(run())


@pytest.fixture(params=["postmark", "sendgrid"])
def server(request: pytest.FixtureRequest) -> Iterator[EspServer]:
    with EspServer(request.param) as running:
        yield running


def test_a_message_goes_out_as_the_esp_documents_it_with_the_command_id(server: EspServer) -> None:
    send(provider(server.kind, server.url), message())
    assert server.problems == []
    (received,) = server.requests()
    assert received.command_id == COMMAND_ID
    body = received.body
    if server.kind == "postmark":
        assert (body["From"], body["To"]) == ("Shop <hello@shop.example>", "ann@example.com")
        assert body["Subject"] == "You left something in your cart"
        assert "Trail shoe" in body["TextBody"] and "sku-1.jpg" in body["HtmlBody"]
        headers = {h["Name"]: h["Value"] for h in body["Headers"]}
        assert body["MessageStream"] == "broadcast" and body["Tag"] == "cart_abandonment"
        assert body["Metadata"] == {"relance_command_id": COMMAND_ID, "relance_contact_id": "c1"}
    else:
        assert body["from"] == {"email": "hello@shop.example", "name": "Shop"}
        assert body["personalizations"] == [{"to": [{"email": "ann@example.com"}]}]
        assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
        headers = body["headers"]
        assert body["custom_args"] == {"relance_command_id": COMMAND_ID, "relance_contact_id": "c1"}
        assert body["categories"] == ["cart_abandonment", "marketing"]
    assert headers["List-Unsubscribe"] == "<https://shop.example/u/t0k3n?lang=de>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["Message-ID"] == f"<{COMMAND_ID}@shop.example>"


def test_one_session_carries_the_sends_and_is_closed_after(server: EspServer) -> None:
    esp = provider(server.kind, server.url)
    send(esp, message(), message(), message())
    ports = {received.peer_port for received in server.requests()}
    assert len(server.requests()) == 3 and len(ports) == 1  # one kept-alive connection
    assert esp._session is None


@pytest.mark.parametrize("status", [500, 503])
def test_the_esps_own_failure_is_temporary(server: EspServer, status: int) -> None:
    server.script(Answer(status, b"<html>upstream failed</html>"))
    with pytest.raises(TemporaryDeliveryError) as caught:
        send(provider(server.kind, server.url), message())
    assert caught.value.code == status and caught.value.retry_after is None


def test_a_429_is_temporary_and_carries_its_retry_after(server: EspServer) -> None:
    refusal = (
        postmark_error(429, 429, "Rate limit exceeded")
        if server.kind == "postmark"
        else sendgrid_error(429, "too many requests")
    )
    server.script(Answer(429, refusal.body, (*refusal.headers, ("Retry-After", "17"))))
    with pytest.raises(TemporaryDeliveryError) as caught:
        send(provider(server.kind, server.url), message())
    assert (caught.value.code, caught.value.retry_after) == (429, 17.0)


def test_an_inactive_or_refused_recipient_is_permanent_with_the_esps_words(
    server: EspServer,
) -> None:
    if server.kind == "postmark":
        server.script(
            postmark_error(
                422, 406, "You tried to send to recipient(s) that have been marked as inactive."
            )
        )
        said = "ErrorCode 406 (inactive recipient): You tried to send"
    else:
        server.script(
            sendgrid_error(
                400, "The from address does not match a verified Sender Identity.", "from"
            )
        )
        said = "from: The from address does not match a verified Sender Identity."
    with pytest.raises(PermanentDeliveryError) as caught:
        send(provider(server.kind, server.url), message())
    assert caught.value.code == (422 if server.kind == "postmark" else 400)
    assert said in str(caught.value)


def test_a_wrong_key_is_permanent(server: EspServer) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        send(provider(server.kind, server.url, token="wrong"), message())
    assert caught.value.code == 401
    assert server.requests() == [] and len(server.problems) == 1


def test_a_closed_port_and_a_timeout_are_temporary(server: EspServer) -> None:
    with pytest.raises(TemporaryDeliveryError, match="unreachable"):
        send(provider(server.kind, f"http://127.0.0.1:{free_port('127.0.0.1')}"), message())
    server.script(Answer(200, b"{}", delay=3))
    with pytest.raises(TemporaryDeliveryError, match="unreachable"):
        send(provider(server.kind, server.url, timeout=0.5), message())
