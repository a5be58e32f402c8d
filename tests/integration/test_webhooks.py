"""The ESPs' webhooks on real parts: the gateway process and its HTTP server, the embedded
broker, the worker. Each ESP's request is made the way the ESP makes it (Postmark's JSON
record with the Basic credentials its webhook URL carries; SendGrid's batch signed with an
ECDSA P-256 key this test generates, the gateway given only the public key, from a file)."""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.request
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from relance.core.events import CartChange

from .conftest import Stack, read_all, wait_for
from .test_gateway import configure, engagements, start_gateway
from .test_live_pipeline import SHOE, now_ms, produce, profile

pytestmark = pytest.mark.integration

POSTMARK_AUTH = "postmark:a-webhook-password-of-this-test"
SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def basic(user_and_password: str) -> dict[str, str]:
    """The header Postmark sends for https://user:password@... webhook URLs."""
    return {"Authorization": "Basic " + base64.b64encode(user_and_password.encode()).decode()}


def signed(body: bytes, key: ec.EllipticCurvePrivateKey = SENDGRID_KEY) -> dict[str, str]:
    """SendGrid's Signed Event Webhook headers for ``body``."""
    stamp = str(int(time.time()))
    signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
    }


def hard_bounce(contact: str, command: str) -> bytes:
    """Postmark's Bounce record (its webhook reference) of a message relance sent."""
    return orjson.dumps(
        {
            "RecordType": "Bounce",
            "ID": 4323372036854775807,
            "Type": "HardBounce",
            "TypeCode": 1,
            "Name": "Hard bounce",
            "Tag": "cart_abandonment",
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
            "ServerID": 23,
            "Description": "The server was unable to deliver your message (ex: unknown user, "
            "mailbox not found).",
            "Details": "smtp;550 5.1.1 no such user",
            "Email": f"{contact}@example.com",
            "From": "shop@example.com",
            "BouncedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "DumpAvailable": False,
            "Inactive": True,
            "CanActivate": True,
            "Subject": "You left something in your cart",
            "MessageStream": "broadcast",
            "Metadata": {"relance_command_id": command, "relance_contact_id": contact},
        }
    )


def sendgrid_batch(contact: str) -> bytes:
    t = int(time.time())
    ids = {"relance_command_id": f"cmd-{contact}", "relance_contact_id": contact}
    return orjson.dumps(
        [
            {
                "email": f"{contact}@example.com",
                "timestamp": t,
                "event": "delivered",
                "sg_event_id": f"{contact}-1",
                "sg_message_id": "m.1",
                "response": "250 OK",
                **ids,
            },
            {
                "email": f"{contact}@example.com",
                "timestamp": t,
                "event": "open",
                "sg_event_id": f"{contact}-2",
                "sg_message_id": "m.1",
                "sg_machine_open": False,
                **ids,
            },
            {
                "email": f"{contact}@example.com",
                "timestamp": t,
                "event": "bounce",
                "type": "bounce",
                "status": "5.1.1",
                "reason": "550 5.1.1 no such user",
                "sg_event_id": f"{contact}-3",
                "sg_message_id": "m.2",
                **ids,
            },
        ]
    )


def test_postmark_is_answered_401_without_its_credentials_and_written_with_them(
    stack: Stack,
) -> None:
    base = start_gateway(stack, RELANCE_POSTMARK_WEBHOOK_AUTH=POSTMARK_AUTH)
    url = f"{base}/webhooks/postmark"
    for headers in ({}, basic("postmark:a-wrong-password"), {"Authorization": "Bearer x"}):
        status, _ = post(url, hard_bounce("ann", "cmd-1"), headers)
        assert status == 401
    assert engagements(stack) == []
    assert post(url, b"{not json", basic(POSTMARK_AUTH))[0] == 400
    status, _ = post(url, hard_bounce("ann", "cmd-1"), basic(POSTMARK_AUTH))
    assert status == 200
    (event,) = engagements(stack)
    assert (event.contact_id, event.kind, event.command_id, event.channel) == (
        "ann",
        "hard_bounce",
        "cmd-1",
        "email",
    )
    # SendGrid's route is not served: its key is not set.
    assert post(f"{base}/webhooks/sendgrid", sendgrid_batch("ann"), {})[0] == 404


def test_sendgrid_is_answered_401_for_a_bad_signature_and_its_batch_written_for_a_good_one(
    stack: Stack,
) -> None:
    key_file = stack.root / "sendgrid-verification-key"
    key_file.write_text(
        base64.b64encode(
            SENDGRID_KEY.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        ).decode()
        + "\n"
    )
    base = start_gateway(stack, RELANCE_SENDGRID_WEBHOOK_KEY_FILE=str(key_file))
    url = f"{base}/webhooks/sendgrid"
    body = sendgrid_batch("bea")
    stranger = ec.generate_private_key(ec.SECP256R1())
    for headers in ({}, signed(body, stranger), signed(body + b" ")):
        assert post(url, body, headers)[0] == 401
    assert engagements(stack) == []
    assert post(url, body, signed(body))[0] == 200
    found = sorted((e.contact_id, e.kind, e.command_id) for e in engagements(stack))
    assert found == [("bea", "hard_bounce", "cmd-bea"), ("bea", "open", "cmd-bea")]
    assert (
        post(f"{base}/webhooks/postmark", hard_bounce("bea", "c"), basic(POSTMARK_AUTH))[0] == 404
    )


def decisions_of(stack: Stack, consumer: Any, contacts: set[str]) -> dict[str, Any]:
    """The first cart_abandonment decision of each of ``contacts``."""
    found: dict[str, Any] = {}

    def read() -> bool:
        for message in read_all(consumer, 1, timeout=5) if len(found) < len(contacts) else []:
            decision = orjson.loads(message.value())
            if decision["contact_id"] in contacts and decision["scenario"] == "cart_abandonment":
                found.setdefault(decision["contact_id"], decision)
        return len(found) == len(contacts)

    wait_for(lambda: _tolerant(read), timeout=120)
    return found


def _tolerant(read: Any) -> bool:
    try:
        return bool(read())
    except AssertionError:  # read_all found nothing within its wait: look again
        return False


def test_a_hard_bounce_by_webhook_stops_the_contacts_marketing(stack: Stack) -> None:
    env = configure(stack, "scenarios:\n  cart_abandonment: {delay: 2s, quiet_period: 1s}\n")
    stack.start("worker", **env)
    base = start_gateway(stack, RELANCE_POSTMARK_WEBHOOK_AUTH=POSTMARK_AUTH, **env)
    t = now_ms()
    produce(stack, [profile("cid", t), profile("dan", t)])
    status, _ = post(
        f"{base}/webhooks/postmark", hard_bounce("cid", "cmd-earlier"), basic(POSTMARK_AUTH)
    )
    assert status == 200
    wait_for(lambda: len(engagements(stack)) == 1, timeout=60)
    # The worker reads the bounce before the carts that come after it.
    consumed = f'relance_events_consumed_total{{topic="{stack.topic("engagement")}"}}'
    wait_for(lambda: stack.metrics("worker").get(consumed, 0.0) >= 1.0, timeout=120)
    later = now_ms()
    produce(
        stack,
        [
            CartChange("cid-1", "cid", later, "add", SHOE, 1),
            CartChange("dan-1", "dan", later, "add", SHOE, 1),
        ],
    )
    consumer = stack.consumer("relance-decisions")
    try:
        decided = decisions_of(stack, consumer, {"cid", "dan"})
    finally:
        consumer.close()
    assert (decided["cid"]["outcome"], decided["cid"]["reason"]) == ("suppressed", "bounced")
    assert decided["dan"]["outcome"] == "sent"
