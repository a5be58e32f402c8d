"""The ESP adapters are pure: a message in, Postmark's or SendGrid's JSON out; their answers
in, nothing (accepted) or a temporary or permanent DeliveryError out."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import format_datetime

import orjson
import pytest

from relance.core.commands import Recipient, SendCommand
from relance.providers.base import Dispatch
from relance.providers.errors import (
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from relance.providers.esp import EspProvider, mail_of, retry_after
from relance.providers.postmark import Postmark, postmark_address, postmark_refusal
from relance.providers.sendgrid import SendGrid, sendgrid_refusal
from relance.sender.links import LinkSigner
from relance.sender.message import build_message
from relance.sender.render import Renderer
from relance.tokens import Key

COMMAND_ID = "4f0abcfc-c65d-5759-b93e-b13a7fadd55f"
RENDERER = Renderer(gateway=LinkSigner("https://shop.example", Key("k1", b"0123456789abcdef")))
NOW = datetime(2024, 5, 1, 10, 0, tzinfo=UTC).timestamp()
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
MARKETING = Dispatch(COMMAND_ID, "c-42", "cart_abandonment")
TRANSACTIONAL = Dispatch(COMMAND_ID, "c-42", "order_confirmation", marketing=False)


def message(sender: str = "Shop <hello@shop.example>") -> EmailMessage:
    record = SendCommand(
        command_id=COMMAND_ID,
        contact_id="c-42",
        scenario="cart_abandonment",
        step=1,
        channel="email",
        template="cart_abandonment",
        priority=100,
        decided_at=1714561200000,
        recipient=Recipient("ann@example.com", "de-DE", "Europe/Berlin"),
        payload={"cart_id": None, "items": [{"product": SHOE, "quantity": 2}]},
    ).to_record()
    built = build_message(record, RENDERER.render(record), sender=sender)
    # What the sender adds to a marketing email (RFC 8058), kept by both adapters; a link
    # of a fixed token here.
    built.replace_header("List-Unsubscribe", "<https://shop.example/u/t0k3n?lang=de>")
    return built


def test_the_postmark_request_is_the_smtp_message_as_postmark_json() -> None:
    request = Postmark("server-token").request(message(), MARKETING)
    assert request.path == "/email"
    assert request.headers == {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "X-Postmark-Server-Token": "server-token",
    }
    body = request.body
    assert (body["From"], body["To"]) == ("Shop <hello@shop.example>", "ann@example.com")
    assert body["Subject"] == "You left something in your cart"
    assert "Trail shoe" in body["TextBody"] and "<html" in body["HtmlBody"]
    assert body["Headers"] == [
        {"Name": "Message-ID", "Value": f"<{COMMAND_ID}@shop.example>"},
        {"Name": "X-Relance-Command-Id", "Value": COMMAND_ID},
        {"Name": "List-Unsubscribe", "Value": "<https://shop.example/u/t0k3n?lang=de>"},
        {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
        {"Name": "Content-Language", "Value": "en"},
    ]
    assert body["Metadata"] == {"relance_command_id": COMMAND_ID, "relance_contact_id": "c-42"}
    assert (body["Tag"], body["MessageStream"]) == ("cart_abandonment", "broadcast")
    assert set(body) == {
        "From",
        "To",
        "Subject",
        "TextBody",
        "HtmlBody",
        "Headers",
        "Metadata",
        "Tag",
        "MessageStream",
    }
    orjson.dumps(body)  # JSON as it is


def test_postmark_streams_marketing_to_broadcast_and_the_rest_to_the_transactional_one() -> None:
    api = Postmark("t", transactional_stream="orders", marketing_stream="newsletters")
    assert api.request(message(), MARKETING).body["MessageStream"] == "newsletters"
    assert api.request(message(), TRANSACTIONAL).body["MessageStream"] == "orders"
    assert Postmark("t").request(message(), TRANSACTIONAL).body["MessageStream"] == "outbound"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("", "hello@shop.example"),
        ("Shop", "Shop <hello@shop.example>"),
        ("Café Müller", "Café Müller <hello@shop.example>"),
        ("Joe Sender, jr", '"Joe Sender, jr" <hello@shop.example>'),
        ('The "Best" Shop', '"The \\"Best\\" Shop" <hello@shop.example>'),
    ],
)
def test_a_postmark_address_quotes_a_name_with_punctuation(name: str, expected: str) -> None:
    assert postmark_address(name, "hello@shop.example") == expected


def test_a_sender_name_with_a_comma_reaches_postmark_quoted() -> None:
    body = Postmark("t").request(message('"Shop, Inc." <hello@shop.example>'), MARKETING).body
    assert body["From"] == '"Shop, Inc." <hello@shop.example>'


def test_the_sendgrid_request_is_the_smtp_message_as_sendgrid_json() -> None:
    request = SendGrid("SG.key").request(message(), MARKETING)
    assert request.path == "/v3/mail/send"
    assert request.headers == {"Authorization": "Bearer SG.key", "Content-Type": "application/json"}
    body = request.body
    assert body["personalizations"] == [{"to": [{"email": "ann@example.com"}]}]
    assert body["from"] == {"email": "hello@shop.example", "name": "Shop"}
    assert body["subject"] == "You left something in your cart"
    (text, html) = body["content"]
    assert text["type"] == "text/plain" and "Trail shoe" in text["value"]
    assert html["type"] == "text/html" and "<html" in html["value"]
    assert body["headers"] == {
        "Message-ID": f"<{COMMAND_ID}@shop.example>",
        "X-Relance-Command-Id": COMMAND_ID,
        "List-Unsubscribe": "<https://shop.example/u/t0k3n?lang=de>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Content-Language": "en",
    }
    assert body["custom_args"] == {"relance_command_id": COMMAND_ID, "relance_contact_id": "c-42"}
    assert body["categories"] == ["cart_abandonment", "marketing"]
    assert set(body) == {
        "personalizations",
        "from",
        "subject",
        "content",
        "headers",
        "custom_args",
        "categories",
    }


def test_sendgrid_gets_non_ascii_header_values_encoded_on_one_line_and_no_reserved_ones() -> None:
    built = message()
    built["X-Campaign"] = "Soldes d'été " * 10
    built["Received"] = "from a relay"
    headers = SendGrid("k").request(built, MARKETING).body["headers"]
    assert headers["X-Campaign"].startswith("=?utf-8?") and headers["X-Campaign"].isascii()
    assert "\n" not in headers["X-Campaign"]
    assert str(make_header(decode_header(headers["X-Campaign"]))) == "Soldes d'été " * 10
    assert "Received" not in headers and "Content-Type" not in headers


def test_sendgrid_categories_are_ascii_and_say_transactional() -> None:
    body = SendGrid("k").request(message(), TRANSACTIONAL).body
    assert body["categories"] == ["order_confirmation", "transactional"]
    odd = Dispatch(COMMAND_ID, "c-42", "relance_été")
    assert SendGrid("k").request(message(), odd).body["categories"] == ["marketing"]


def test_the_command_id_is_passed_on_even_for_a_message_without_its_header() -> None:
    built = message()
    del built["X-Relance-Command-Id"]
    body = Postmark("t").request(built, MARKETING).body
    assert {"Name": "X-Relance-Command-Id", "Value": COMMAND_ID} in body["Headers"]
    assert (
        SendGrid("k").request(built, MARKETING).body["headers"]["X-Relance-Command-Id"]
        == COMMAND_ID
    )


def test_without_a_dispatch_the_header_gives_the_command_id() -> None:
    body = SendGrid("k").request(message(), None).body
    assert body["custom_args"] == {"relance_command_id": COMMAND_ID}
    assert "categories" not in body


def test_a_message_without_a_recipient_cannot_become_a_request() -> None:
    built = message()
    del built["To"]
    with pytest.raises(ValueError, match="no From or no To"):
        mail_of(built)


def test_the_key_never_shows_in_a_repr() -> None:
    for api in (Postmark("s3cret-token"), SendGrid("SG.s3cret")):
        provider = EspProvider(api, "https://api.example")
        assert "s3cret" not in repr(api) + repr(provider)


def _json(value: object) -> bytes:
    return orjson.dumps(value)


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "text", "wait"),
    [
        (
            200,
            _json(
                {
                    "To": "ann@example.com",
                    "SubmittedAt": "2024-05-01T10:00:00Z",
                    "MessageID": "b7bc2f4a",
                    "ErrorCode": 0,
                    "Message": "OK",
                }
            ),
            {},
            None,
            "",
            None,
        ),
        (
            422,
            _json(
                {
                    "ErrorCode": 406,
                    "Message": "You tried to send to recipient(s) that have "
                    "been marked as inactive.",
                }
            ),
            {},
            PermanentDeliveryError,
            "422 Postmark: ErrorCode 406 (inactive recipient): You tried to send to recipient(s) "
            "that have been marked as inactive.",
            None,
        ),
        (
            422,
            _json(
                {"ErrorCode": 405, "Message": "Not allowed to send: you have run out of credits."}
            ),
            {},
            PermanentDeliveryError,
            "422 Postmark: ErrorCode 405 (not allowed to send): Not allowed to send",
            None,
        ),
        (
            422,
            _json({"ErrorCode": 300, "Message": "Invalid 'From' address."}),
            {},
            PermanentDeliveryError,
            "422 Postmark: ErrorCode 300 (invalid email request): Invalid",
            None,
        ),
        (
            401,
            _json(
                {
                    "ErrorCode": 10,
                    "Message": "No Account or Server API tokens were supplied in the HTTP headers.",
                }
            ),
            {},
            PermanentDeliveryError,
            "401 Postmark: ErrorCode 10 (bad or missing server token)",
            None,
        ),
        (
            413,
            b"Request Entity Too Large",
            {},
            PermanentDeliveryError,
            "413 Postmark: Request Entity Too Large",
            None,
        ),
        (
            429,
            _json({"ErrorCode": 429, "Message": "Rate limit exceeded."}),
            {"Retry-After": "7"},
            TemporaryDeliveryError,
            "429 Postmark: ErrorCode 429 (rate limit exceeded)",
            7.0,
        ),
        (
            500,
            b"<html>Internal Server Error</html>",
            {},
            TemporaryDeliveryError,
            "500 Postmark: <html>Internal Server Error</html>",
            None,
        ),
        (503, b"", {"Retry-After": "30"}, TemporaryDeliveryError, "503 Postmark", 30.0),
        # Maintenance is a later, whatever status comes with it.
        (
            422,
            _json({"ErrorCode": 100, "Message": "Maintenance"}),
            {},
            TemporaryDeliveryError,
            "422 Postmark: ErrorCode 100 (maintenance): Maintenance",
            None,
        ),
        # A 200 that carries an error code did not send anything.
        (
            200,
            _json({"ErrorCode": 406, "Message": "inactive"}),
            {},
            PermanentDeliveryError,
            "200 Postmark: ErrorCode 406",
            None,
        ),
    ],
)
def test_postmark_answers_map_to_accepted_temporary_or_permanent(
    status: int,
    body: bytes,
    headers: dict[str, str],
    error: type[DeliveryError] | None,
    text: str,
    wait: float | None,
) -> None:
    refused = postmark_refusal(status, body, headers, NOW)
    if error is None:
        assert refused is None
        return
    assert type(refused) is error
    assert refused.code == status and str(refused).startswith(text)
    assert getattr(refused, "retry_after", None) == wait


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "text", "wait"),
    [
        (202, b"", {"X-Message-Id": "W8vN7DQBRxqqmKrDdn7g9Q"}, None, "", None),
        (200, b"", {}, None, "", None),  # sandbox mode: valid, and that is all it will be
        (
            400,
            _json(
                {
                    "errors": [
                        {
                            "message": "The from email does not contain a valid address.",
                            "field": "from.email",
                            "help": "http://sendgrid.com/docs",
                        }
                    ]
                }
            ),
            {},
            PermanentDeliveryError,
            "400 SendGrid: from.email: The from email does not contain a valid address.",
            None,
        ),
        (
            400,
            _json(
                {"errors": [{"message": "a", "field": None}, {"message": "b", "field": "subject"}]}
            ),
            {},
            PermanentDeliveryError,
            "400 SendGrid: a; subject: b",
            None,
        ),
        (
            401,
            _json(
                {
                    "errors": [
                        {
                            "message": "The provided authorization grant is invalid, "
                            "expired, or revoked",
                            "field": None,
                        }
                    ]
                }
            ),
            {},
            PermanentDeliveryError,
            "401 SendGrid: The provided authorization grant",
            None,
        ),
        (
            403,
            _json({"errors": [{"message": "access forbidden"}]}),
            {},
            PermanentDeliveryError,
            "403 SendGrid: access forbidden",
            None,
        ),
        (413, b"", {}, PermanentDeliveryError, "413 SendGrid", None),
        (
            429,
            _json({"errors": [{"field": None, "message": "too many requests"}]}),
            {
                "X-RateLimit-Limit": "600",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(NOW) + 12),
            },
            TemporaryDeliveryError,
            "429 SendGrid: too many requests",
            12.0,
        ),
        (
            429,
            b"",
            {"Retry-After": "3", "X-RateLimit-Reset": str(int(NOW) + 12)},
            TemporaryDeliveryError,
            "429 SendGrid",
            3.0,
        ),  # Retry-After, when given, first
        (500, b"", {}, TemporaryDeliveryError, "500 SendGrid", None),
        (503, b"<html>down</html>", {}, TemporaryDeliveryError, "503 SendGrid: <html>down", None),
    ],
)
def test_sendgrid_answers_map_to_accepted_temporary_or_permanent(
    status: int,
    body: bytes,
    headers: dict[str, str],
    error: type[DeliveryError] | None,
    text: str,
    wait: float | None,
) -> None:
    refused = sendgrid_refusal(status, body, headers, NOW)
    if error is None:
        assert refused is None
        return
    assert type(refused) is error
    assert refused.code == status and str(refused).startswith(text)
    assert getattr(refused, "retry_after", None) == wait


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (format_datetime(datetime.fromtimestamp(NOW + 45, UTC), usegmt=True), 45.0),
        (format_datetime(datetime.fromtimestamp(NOW - 45, UTC), usegmt=True), 0.0),
        ("soon", None),
        ("-5", None),
        ("", None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(value: str, expected: float | None) -> None:
    assert retry_after({"Retry-After": value}, NOW) == expected


def test_a_long_esp_message_is_cut_to_one_line() -> None:
    refused = sendgrid_refusal(400, _json({"errors": [{"message": "x\n" * 500}]}), {}, NOW)
    assert refused is not None and len(refused.text) < 330 and "\n" not in refused.text


def test_a_temporary_error_keeps_its_wait_through_a_pickle() -> None:
    error = TemporaryDeliveryError("slow down", 429, 12.5)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.text, copy.code, copy.retry_after) == ("slow down", 429, 12.5)
    assert pickle.loads(pickle.dumps(TemporaryDeliveryError("later"))).retry_after is None
