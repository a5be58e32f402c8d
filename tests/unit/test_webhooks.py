"""The gateway's ESP webhooks without a server: SendGrid's signatures checked with a real
ECDSA P-256 key pair, Postmark's Basic credentials, 401 and 400 writing nothing, every
event of a request acknowledged before the 200, and a 503 the ESP retries when one is
not."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from prometheus_client import CollectorRegistry

from relance.core.events import Engagement
from relance.errors import BrokerError
from relance.gateway.signatures import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    basic_auth_matches,
    credentials,
    public_key,
    signed_by,
)
from relance.gateway.webhooks import Webhooks
from relance.host.process import WebAnswer, WebRequest
from relance.metrics import GatewayMetrics

NOW_MS = 1_800_000_000_000
KEY = ec.generate_private_key(ec.SECP256R1())
VERIFY_KEY = base64.b64encode(
    KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()
AUTH = "postmark:a-long-webhook-password"
IDS = {"relance_command_id": "cmd-1", "relance_contact_id": "c-1"}


def signature(body: bytes, timestamp: str, key: ec.EllipticCurvePrivateKey = KEY) -> str:
    """What SendGrid puts in its signature header: ECDSA P-256 / SHA-256 over timestamp
    and body, DER, base64."""
    return base64.b64encode(key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()


def basic(user_and_password: str) -> str:
    return "Basic " + base64.b64encode(user_and_password.encode()).decode()


def test_a_sendgrid_signature_is_good_for_its_timestamp_and_body_alone() -> None:
    key = public_key(VERIFY_KEY)
    body, stamp = b'[{"event":"bounce"}]', "1800000000"
    good = signature(body, stamp)
    assert signed_by(key, good, stamp, body)
    assert not signed_by(key, good, stamp, body + b" ")
    assert not signed_by(key, good, "1800000001", body)
    assert not signed_by(
        key, signature(body, stamp, ec.generate_private_key(ec.SECP256R1())), stamp, body
    )
    for bad in (None, "", "not base64!", base64.b64encode(b"not DER").decode()):
        assert not signed_by(key, bad, stamp, body)
    assert not signed_by(key, good, None, body)


def test_the_verification_key_is_read_as_sendgrid_shows_it_or_in_pem() -> None:
    pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public_key(pem.decode()).public_numbers() == KEY.public_key().public_numbers()
    assert public_key(f" {VERIFY_KEY}\n").public_numbers() == KEY.public_key().public_numbers()
    other_curve = ec.generate_private_key(ec.SECP384R1()).public_key()
    not_ec = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    for key in (other_curve, not_ec):
        der = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with pytest.raises(ValueError, match="not an ECDSA P-256 public key"):
            public_key(base64.b64encode(der).decode())
    for text in ("", "not base64!", base64.b64encode(b"junk").decode()):
        with pytest.raises(ValueError, match="is not a public key"):
            public_key(text)


def test_basic_credentials_match_exactly() -> None:
    expected = credentials(AUTH)
    assert basic_auth_matches(basic(AUTH), expected)
    assert basic_auth_matches("basic  " + basic(AUTH)[6:], expected)
    for header in (
        None,
        "",
        basic("postmark:a-long-webhook-passwore"),
        basic("postmark"),
        basic(AUTH + "x"),
        "Bearer " + basic(AUTH)[6:],
        "Basic ###",
    ):
        assert not basic_auth_matches(header, expected)


@dataclass
class Written:
    events: list[Engagement] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)  # the kinds the broker does not take

    async def __call__(self, event: Engagement, timeout: float) -> None:
        if event.kind in self.failing:
            raise BrokerError("not acknowledged within 5 s")
        self.events.append(event)


def webhooks() -> tuple[Webhooks, Written, CollectorRegistry]:
    written, registry = Written(), CollectorRegistry()
    hooks = Webhooks(
        postmark_auth=credentials(AUTH),
        sendgrid_key=public_key(VERIFY_KEY),
        write=written,
        clock=lambda: NOW_MS,
        metrics=GatewayMetrics.create(registry),
    )
    return hooks, written, registry


def counted(registry: CollectorRegistry, name: str, esp: str, outcome: str) -> float:
    value = registry.get_sample_value(
        f"relance_gateway_webhook_{name}_total", {"esp": esp, "outcome": outcome}
    )
    return value or 0.0


def to_sendgrid(
    hooks: Webhooks, events: Any, *, sign: bool = True, body: bytes | None = None
) -> WebAnswer:
    body = orjson.dumps(events) if body is None else body
    stamp = "1800000000"
    headers = {SIGNATURE_HEADER: signature(body, stamp), TIMESTAMP_HEADER: stamp} if sign else {}
    return asyncio.run(hooks.sendgrid(WebRequest("POST", {}, {}, headers, body)))


def to_postmark(hooks: Webhooks, record: Any, auth: str | None = AUTH) -> WebAnswer:
    headers = {"authorization": basic(auth)} if auth else {}
    return asyncio.run(hooks.postmark(WebRequest("POST", {}, {}, headers, orjson.dumps(record))))


def sendgrid(event: str, n: int, **fields: Any) -> dict[str, Any]:
    return {
        "email": f"c{n}@example.com",
        "timestamp": 1_799_999_000,
        "event": event,
        "sg_event_id": f"ev-{n}",
        "relance_command_id": f"cmd-{n}",
        "relance_contact_id": f"c-{n}",
        **fields,
    }


HARD_BOUNCE = {
    "RecordType": "Bounce",
    "ID": 4,
    "Type": "HardBounce",
    "TypeCode": 1,
    "MessageID": "m-1",
    "Email": "c1@example.com",
    "Metadata": IDS,
    "BouncedAt": "2026-12-01T10:00:00Z",
    "MessageStream": "broadcast",
}


def test_a_signed_sendgrid_batch_writes_each_event_that_matters_then_answers_200() -> None:
    hooks, written, registry = webhooks()
    batch = [
        sendgrid("processed", 1),
        sendgrid("delivered", 1),
        sendgrid("open", 2),
        sendgrid("bounce", 3, type="bounce"),
        sendgrid("bounce", 4, type="blocked"),
        sendgrid("open", 5, sg_machine_open=True),
        {"event": "spamreport"},
        sendgrid("spamreport", 6),
        "not an event",
    ]
    answer = to_sendgrid(hooks, batch)
    assert answer.status == 200
    assert [(e.contact_id, e.kind, e.command_id) for e in written.events] == [
        ("c-2", "open", "cmd-2"),
        ("c-3", "hard_bounce", "cmd-3"),
        ("c-6", "spam_complaint", "cmd-6"),
    ]
    assert {
        o: counted(registry, "events", "sendgrid", o)
        for o in (
            "written",
            "not_engagement",
            "soft_bounce",
            "machine_open",
            "no_contact",
            "malformed",
        )
    } == {
        "written": 3,
        "not_engagement": 2,
        "soft_bounce": 1,
        "machine_open": 1,
        "no_contact": 1,
        "malformed": 1,
    }
    assert counted(registry, "requests", "sendgrid", "written") == 1
    # The same batch again (a retry after the answer was lost) writes nothing new.
    assert to_sendgrid(hooks, batch).status == 200 and len(written.events) == 3
    assert counted(registry, "events", "sendgrid", "repeated") == 3


def test_a_bad_or_missing_sendgrid_signature_is_401_and_writes_nothing() -> None:
    hooks, written, registry = webhooks()
    body = orjson.dumps([sendgrid("bounce", 1)])
    assert to_sendgrid(hooks, None, sign=False, body=body).status == 401
    tampered = body.replace(b"c-1", b"c-9")
    stamp = "1800000000"
    request = WebRequest(
        "POST",
        {},
        {},
        {SIGNATURE_HEADER: signature(body, stamp), TIMESTAMP_HEADER: stamp},
        tampered,
    )
    assert asyncio.run(hooks.sendgrid(request)).status == 401
    assert written.events == []
    assert counted(registry, "requests", "sendgrid", "unauthorized") == 2


def test_a_signed_body_that_is_no_batch_is_400_counted_and_writes_nothing() -> None:
    hooks, written, registry = webhooks()
    for body in (b"{", b'{"event": "bounce"}'):
        answer = to_sendgrid(hooks, None, body=body)
        assert answer.status == 400 and b"malformed" in answer.body
    assert written.events == [] and counted(registry, "requests", "sendgrid", "malformed") == 2


def test_a_batch_the_broker_does_not_all_acknowledge_is_503_and_written_again_on_retry() -> None:
    hooks, written, registry = webhooks()
    batch = [sendgrid("open", 1), sendgrid("bounce", 2)]
    written.failing = {"hard_bounce"}
    answer = to_sendgrid(hooks, batch)
    assert answer.status == 503 and answer.headers["Retry-After"] == "60"
    assert counted(registry, "requests", "sendgrid", "unavailable") == 1
    assert counted(registry, "events", "sendgrid", "written") == 0
    written.failing = set()
    assert to_sendgrid(hooks, batch).status == 200
    # The open is written twice, with one id: the worker applies it once.
    assert [e.kind for e in written.events] == ["open", "open", "hard_bounce"]
    assert written.events[0].event_id == written.events[1].event_id


def test_postmark_with_its_credentials_writes_the_hard_bounce() -> None:
    hooks, written, registry = webhooks()
    answer = to_postmark(hooks, HARD_BOUNCE)
    assert answer.status == 200
    (event,) = written.events
    assert (event.contact_id, event.kind, event.command_id, event.occurred_at) == (
        "c-1",
        "hard_bounce",
        "cmd-1",
        1_796_119_200_000,
    )
    assert counted(registry, "events", "postmark", "written") == 1
    assert to_postmark(hooks, {**HARD_BOUNCE, "Type": "SoftBounce"}).status == 200
    assert len(written.events) == 1 and counted(registry, "events", "postmark", "soft_bounce") == 1


def test_postmark_without_its_credentials_is_401_and_writes_nothing() -> None:
    hooks, written, registry = webhooks()
    for auth in (None, "postmark:wrong", "someone:" + AUTH.partition(":")[2]):
        answer = to_postmark(hooks, HARD_BOUNCE, auth)
        assert answer.status == 401 and "WWW-Authenticate" in answer.headers
    assert written.events == []
    assert counted(registry, "requests", "postmark", "unauthorized") == 3


def test_a_postmark_body_that_is_no_event_is_400_and_counted() -> None:
    hooks, written, registry = webhooks()
    for record in ([HARD_BOUNCE], {"Type": "HardBounce"}, {**HARD_BOUNCE, "Type": None}):
        assert to_postmark(hooks, record).status == 400
    assert written.events == [] and counted(registry, "requests", "postmark", "malformed") == 3


def test_a_webhook_that_is_off_refuses_everything() -> None:
    written = Written()
    hooks = Webhooks(
        postmark_auth=None,
        sendgrid_key=None,
        write=written,
        clock=lambda: NOW_MS,
        metrics=GatewayMetrics.create(CollectorRegistry()),
    )
    assert hooks.served == ()
    assert to_postmark(hooks, HARD_BOUNCE).status == 401
    assert to_sendgrid(hooks, [sendgrid("bounce", 1)]).status == 401
    assert written.events == []
