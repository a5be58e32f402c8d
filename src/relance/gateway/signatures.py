"""How the gateway knows a webhook comes from the ESP: SendGrid's Signed Event Webhook (an
ECDSA P-256 signature over the timestamp and the raw body, checked with the public key its
Mail Settings show) and HTTP Basic credentials (Postmark signs nothing: its webhook URL
carries them). Pure: no clock, no I/O."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"


def public_key(text: str) -> ec.EllipticCurvePublicKey:
    """The P-256 key of SendGrid's "Verification Key": base64 DER as its Mail Settings show
    it, or the same in PEM; ValueError (saying what it is instead) when it is no such key."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error, UnsupportedAlgorithm):
        raise ValueError("is not a public key (base64 DER or PEM)") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("is not an ECDSA P-256 public key")
    return key


def signed_by(
    key: ec.EllipticCurvePublicKey, signature: str | None, timestamp: str | None, body: bytes
) -> bool:
    """Whether ``signature`` (base64 DER, the signature header) signs ``timestamp`` (the
    timestamp header, as sent) followed by the raw ``body``."""
    if not signature or not timestamp:
        return False
    try:
        key.verify(
            base64.b64decode(signature, validate=True),
            timestamp.encode() + body,
            ec.ECDSA(hashes.SHA256()),
        )
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def credentials(user_and_password: str) -> bytes:
    """What ``basic_auth_matches`` compares with: the digest of ``user:password``."""
    return hashlib.sha256(user_and_password.encode()).digest()


def basic_auth_matches(header: str | None, expected: bytes) -> bool:
    """Whether an ``Authorization: Basic ...`` header carries the credentials whose
    ``credentials`` digest is ``expected``. Digests of equal length are compared in constant
    time, so neither the password nor its length leaks through the answer's timing."""
    scheme, _, encoded = (header or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(hashlib.sha256(given).digest(), expected)
