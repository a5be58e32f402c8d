"""Signed link tokens: what a link in an email may ask the gateway to do, and for whom.

A token is ``<claims>.<signature>``, both URL-safe base64 without padding: the claims are a
compact JSON object, the signature an HMAC-SHA256 over the encoded claims with a key from
settings. It names the contact by id, never by address. Keys rotate: links are signed with
the first key and verified with any key still listed, by its id, so links sent before a
rotation keep working until the old key is removed. A token older than its purpose's
``max_age`` is refused, and so is one from the future beyond a small clock skew.

The sender signs (unsubscribe, preference and click links); the gateway verifies. Pure: the
time comes in as a value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import orjson

from relance.errors import RelanceError

Purpose = Literal["unsubscribe", "preferences", "click"]
PURPOSES: Final = frozenset({"unsubscribe", "preferences", "click"})
SKEW_S: Final = 300  # a token issued this far ahead of the verifier's clock still counts


class TokenError(RelanceError):
    """A token that is malformed, tampered with, signed by an unknown key, or expired;
    ``reason`` is one of ``malformed``, ``bad_signature``, ``unknown_key``, ``expired``."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


@dataclass(frozen=True, slots=True)
class Key:
    """A signing key: ``id`` travels in the token, ``secret`` never does."""

    id: str
    secret: bytes


@dataclass(frozen=True, slots=True)
class Claims:
    """What a link asks: ``scope`` is ``all`` or a scenario family; ``command_id`` and
    ``url`` are a click link's (the message it was in, the exact shop URL it leads to)."""

    purpose: Purpose
    contact_id: str
    channel: str
    scope: str
    issued_at: int  # epoch seconds
    command_id: str | None = None
    url: str | None = None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, body.encode("ascii"), hashlib.sha256).digest())


def sign(claims: Claims, key: Key) -> str:
    record = {
        "p": claims.purpose,
        "c": claims.contact_id,
        "ch": claims.channel,
        "s": claims.scope,
        "t": claims.issued_at,
        "k": key.id,
    }
    if claims.command_id is not None:
        record["m"] = claims.command_id
    if claims.url is not None:
        record["u"] = claims.url
    body = _b64(orjson.dumps(record))
    return f"{body}.{_mac(key.secret, body)}"


def verify(token: str, keys: Sequence[Key], *, now: int, max_age: Mapping[str, int]) -> Claims:
    """The claims of a genuine, unexpired token, or ``TokenError``. ``now`` is epoch
    seconds; ``max_age`` gives each purpose's longest age in seconds."""
    body, dot, signature = token.partition(".")
    if not dot or not body or not signature:
        raise TokenError("malformed", "not a relance link token")
    try:
        record = orjson.loads(_unb64(body))
    except (ValueError, orjson.JSONDecodeError):
        raise TokenError("malformed", "the token's claims cannot be read") from None
    claims = _claims(record)
    key = next((k for k in keys if k.id == record.get("k")), None)
    if key is None:
        raise TokenError("unknown_key", "signed with a key that is no longer listed")
    if not hmac.compare_digest(_mac(key.secret, body), signature):
        raise TokenError("bad_signature", "the token was altered")
    age = now - claims.issued_at
    if age < -SKEW_S or age > max_age.get(claims.purpose, 0):
        raise TokenError("expired", f"issued {age} s ago")
    return claims


def _claims(record: object) -> Claims:
    if not isinstance(record, dict):
        raise TokenError("malformed", "the token's claims are not an object")
    purpose, contact, channel = record.get("p"), record.get("c"), record.get("ch")
    scope, issued = record.get("s"), record.get("t")
    optional = (record.get("m"), record.get("u"))
    if (
        purpose not in PURPOSES
        or not isinstance(contact, str)
        or not contact
        or not isinstance(channel, str)
        or not isinstance(scope, str)
        or type(issued) is not int
        or any(v is not None and not isinstance(v, str) for v in optional)
    ):
        raise TokenError("malformed", "the token's claims are incomplete")
    return Claims(purpose, contact, channel, scope, issued, optional[0], optional[1])


def parse_keys(text: str) -> list[Key]:
    """Keys from a setting: ``id1:secret1,id2:secret2``, the first signs (secrets at least
    16 characters); ``ValueError`` naming what is wrong, never the secret."""
    keys: list[Key] = []
    for number, part in enumerate(p.strip() for p in text.split(",") if p.strip()):
        key_id, colon, secret = part.partition(":")
        if not colon or not key_id or not secret:
            raise ValueError(f"key {number + 1} is not written id:secret")
        if len(secret) < 16:
            raise ValueError(f"key {key_id!r} is shorter than 16 characters")
        if any(k.id == key_id for k in keys):
            raise ValueError(f"key id {key_id!r} is given twice")
        keys.append(Key(key_id, secret.encode()))
    if not keys:
        raise ValueError("no key given")
    return keys
