"""SmtpProvider against a real MailSink: delivery, STARTTLS + AUTH, and error mapping."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
import trustme

from relance.core.commands import Recipient, SendCommand
from relance.demo.mailsink import MailSink
from relance.demo.ports import free_port
from relance.providers.base import Provider
from relance.providers.errors import (
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from relance.providers.smtp import SmtpProvider, delivery_error
from relance.sender.errors import MessageError
from relance.sender.links import LinkSigner
from relance.sender.message import build_message
from relance.sender.render import Renderer
from relance.tokens import Key

pytestmark = pytest.mark.integration

RENDERER = Renderer(
    gateway=LinkSigner("https://links.shop.example", Key("k1", b"0123456789abcdef"))
)

COMMAND_ID = "4f0abcfc-c65d-5759-b93e-b13a7fadd55f"
SHOE = {
    "id": "sku-1",
    "name": "Trail shoe",
    "price": 89.9,
    "currency": "EUR",
    "category_id": None,
    "url": "https://shop.example/p/sku-1",
    "image_url": "https://shop.example/i/sku-1.jpg",
    "in_stock": True,
}


def command(email: str | None = "ann@example.com") -> dict[str, object]:
    return SendCommand(
        command_id=COMMAND_ID,
        contact_id="c1",
        scenario="cart_abandonment",
        step=1,
        channel="email",
        template="cart_abandonment",
        priority=100,
        decided_at=1714561200000,
        recipient=Recipient(email, "de-DE", "Europe/Berlin"),
        payload={"cart_id": None, "items": [{"product": SHOE, "quantity": 2}]},
    ).to_record()


def message() -> EmailMessage:
    record = command()
    return build_message(record, RENDERER.render(record), sender="Shop <hello@shop.example>")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[MailSink]:
    with MailSink(tmp_path / "outbox") as running:
        yield running


def test_a_sent_message_arrives_and_is_saved_as_eml(sink: MailSink) -> None:
    provider: Provider = SmtpProvider(sink.host, sink.port)
    asyncio.run(provider.send(message()))
    (path,) = sink.paths()
    assert path.parent == sink.outbox and path.suffix == ".eml"
    assert not list(sink.outbox.glob(".incoming-*"))  # no temporary file left behind
    (received,) = sink.messages()
    assert received.get_content_type() == "multipart/alternative"
    text, html = received.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert "Trail shoe" in text.get_content()
    assert '<img src="https://shop.example/i/sku-1.jpg"' in html.get_content()
    assert received["From"] == "Shop <hello@shop.example>"
    assert received["To"] == "ann@example.com"
    assert received["Subject"] == "You left something in your cart"
    assert received["Date"].datetime is not None
    assert received["Message-ID"] == f"<{COMMAND_ID}@shop.example>"
    assert received["X-Relance-Command-Id"] == COMMAND_ID


def test_the_sink_can_list_what_it_receives_on_an_outbox_page(tmp_path: Path) -> None:
    with MailSink(tmp_path / "outbox", index=True) as sink:
        asyncio.run(SmtpProvider(sink.host, sink.port).send(message()))
        (path,) = sink.paths()
    page = (tmp_path / "outbox" / "index.html").read_text()
    assert '<a href="view/' in page and "You left something in your cart" in page
    assert "Trail shoe" in (tmp_path / "outbox" / "view" / f"{path.stem}.html").read_text()


def test_messages_keep_arrival_order(sink: MailSink) -> None:
    async def send_three() -> None:
        provider = SmtpProvider(sink.host, sink.port)
        for n in range(3):
            record = {**command(), "command_id": f"id-{n}"}
            await provider.send(
                build_message(record, RENDERER.render(record), sender="hello@shop.example")
            )

    asyncio.run(send_three())
    assert [m["X-Relance-Command-Id"] for m in sink.messages()] == ["id-0", "id-1", "id-2"]
    assert sink.paths() == sorted(sink.outbox.glob("*.eml"))


def test_starttls_and_auth(
    tmp_path: Path, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    with MailSink(tmp_path, tls_context=server_tls, require_auth=("shop", "s3cret")) as sink:
        provider = SmtpProvider(
            sink.host,
            sink.port,
            username="shop",
            password="s3cret",
            starttls=True,
            tls_context=client_tls,
        )
        asyncio.run(provider.send(message()))
        assert [m["Message-ID"] for m in sink.messages()] == [f"<{COMMAND_ID}@shop.example>"]


def test_a_wrong_password_is_permanent(
    tmp_path: Path, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    with MailSink(tmp_path, tls_context=server_tls, require_auth=("shop", "s3cret")) as sink:
        provider = SmtpProvider(
            sink.host,
            sink.port,
            username="shop",
            password="wrong",
            starttls=True,
            tls_context=client_tls,
        )
        with pytest.raises(PermanentDeliveryError) as caught:
            asyncio.run(provider.send(message()))
        assert caught.value.code == 535
        assert sink.messages() == []


def test_no_auth_where_auth_is_required_is_permanent(
    tmp_path: Path, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    with MailSink(tmp_path, tls_context=server_tls, require_auth=("shop", "s3cret")) as sink:
        provider = SmtpProvider(sink.host, sink.port, starttls=True, tls_context=client_tls)
        with pytest.raises(PermanentDeliveryError) as caught:
            asyncio.run(provider.send(message()))
        assert caught.value.code == 530


def test_an_untrusted_certificate_is_permanent(tmp_path: Path, server_tls: ssl.SSLContext) -> None:
    with MailSink(tmp_path, tls_context=server_tls) as sink:
        provider = SmtpProvider(sink.host, sink.port, starttls=True)  # system trust store
        with pytest.raises(PermanentDeliveryError, match="certificate"):
            asyncio.run(provider.send(message()))


@pytest.mark.parametrize(
    ("code", "text", "error"),
    [
        (451, "4.3.0 try later", TemporaryDeliveryError),
        (550, "5.1.1 no such user", PermanentDeliveryError),
    ],
)
def test_a_rejection_maps_by_reply_code(
    tmp_path: Path, code: int, text: str, error: type[DeliveryError]
) -> None:
    with MailSink(tmp_path, reject=lambda envelope: (code, text)) as sink:
        with pytest.raises(error) as caught:
            asyncio.run(SmtpProvider(sink.host, sink.port).send(message()))
        assert (caught.value.code, caught.value.text) == (code, text)
        assert sink.messages() == []


def test_reject_sees_the_envelope(tmp_path: Path) -> None:
    def bounce_ann(envelope: object) -> tuple[int, str] | None:
        return (
            (550, "5.1.1 no such user")
            if "ann@example.com" in getattr(envelope, "rcpt_tos", [])
            else None
        )

    with MailSink(tmp_path, reject=bounce_ann) as sink:
        provider = SmtpProvider(sink.host, sink.port)
        with pytest.raises(PermanentDeliveryError):
            asyncio.run(provider.send(message()))
        record = command("bob@example.com")
        asyncio.run(
            provider.send(
                build_message(record, RENDERER.render(record), sender="hello@shop.example")
            )
        )
        assert [m["To"] for m in sink.messages()] == ["bob@example.com"]


def test_a_closed_port_is_temporary() -> None:
    provider = SmtpProvider("127.0.0.1", free_port("127.0.0.1"), timeout=5)
    with pytest.raises(TemporaryDeliveryError):
        asyncio.run(provider.send(message()))


def test_the_sink_stops_and_comes_back_on_its_port_keeping_what_it_saved(sink: MailSink) -> None:
    provider = SmtpProvider(sink.host, sink.port, timeout=5)
    port = sink.port
    asyncio.run(provider.send(message()))
    sink.stop()
    with pytest.raises(TemporaryDeliveryError):  # a relay that is down: refused, retried
        asyncio.run(provider.send(message()))
    sink.start()
    assert sink.port == port
    asyncio.run(provider.send(message()))
    assert len(sink.messages()) == 2


def test_a_missing_recipient_address_is_a_message_error() -> None:
    record = command(email=None)
    with pytest.raises(MessageError, match="no email address"):
        build_message(record, RENDERER.render(record), sender="hello@shop.example")


@pytest.mark.parametrize(
    ("raised", "error", "code"),
    [
        (
            aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(450, "4.2.0 mailbox busy", "a@x.example")]
            ),
            TemporaryDeliveryError,
            450,
        ),
        (
            aiosmtplib.SMTPRecipientsRefused(
                [
                    aiosmtplib.SMTPRecipientRefused(450, "4.2.0 mailbox busy", "a@x.example"),
                    aiosmtplib.SMTPRecipientRefused(550, "5.1.1 no such user", "b@x.example"),
                ]
            ),
            PermanentDeliveryError,
            550,
        ),
        (
            aiosmtplib.SMTPSenderRefused(553, "5.7.1 sender rejected", "s@x.example"),
            PermanentDeliveryError,
            553,
        ),
        (aiosmtplib.SMTPServerDisconnected("connection lost"), TemporaryDeliveryError, None),
        (aiosmtplib.SMTPReadTimeoutError("timed out"), TemporaryDeliveryError, None),
        (ConnectionResetError("reset by peer"), TemporaryDeliveryError, None),
        (
            aiosmtplib.SMTPException("SMTP STARTTLS extension not supported by server."),
            PermanentDeliveryError,
            None,
        ),
    ],
)
def test_error_mapping(raised: Exception, error: type[DeliveryError], code: int | None) -> None:
    mapped = delivery_error(raised)
    assert type(mapped) is error
    assert mapped.code == code
