"""The webhooks' settings: Postmark's credentials and SendGrid's verification key from the
environment or a mounted file, a bad one named at start without the secret, and each
webhook served only when its credential is set."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from prometheus_client import CollectorRegistry

from relance.core.scenarios import DEFAULT_CONFIG
from relance.errors import ConfigError
from relance.settings import load_settings
from relance.wiring import gateway_process

LINK_KEYS = "k1:0123456789abcdef"
VERIFY_KEY = base64.b64encode(
    ec.generate_private_key(ec.SECP256R1())
    .public_key()
    .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
).decode()


def served(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("RELANCE_LINK_KEYS", LINK_KEYS)
    process = gateway_process(load_settings(), DEFAULT_CONFIG, CollectorRegistry())
    return sorted(page.path for page in process.pages if "webhooks" in page.path)


def test_the_credentials_come_from_files_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth, key = tmp_path / "postmark-webhook", tmp_path / "sendgrid-key"
    auth.write_text("postmark:a-webhook-password\n")
    key.write_text(VERIFY_KEY + "\n")
    monkeypatch.setenv("RELANCE_POSTMARK_WEBHOOK_AUTH_FILE", str(auth))
    monkeypatch.setenv("RELANCE_SENDGRID_WEBHOOK_KEY_FILE", str(key))
    settings = load_settings()
    assert settings.postmark_webhook_auth is not None
    assert settings.postmark_webhook_auth.get_secret_value() == "postmark:a-webhook-password"
    assert settings.sendgrid_webhook_key == VERIFY_KEY
    monkeypatch.setenv("RELANCE_POSTMARK_WEBHOOK_AUTH", "postmark:another-password")
    with pytest.raises(ConfigError, match="RELANCE_POSTMARK_WEBHOOK_AUTH is set too"):
        load_settings()


@pytest.mark.parametrize("value", ["only-a-password", ":a-password", "postmark:"])
def test_postmark_credentials_that_are_not_user_and_password_are_refused_unshown(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("RELANCE_POSTMARK_WEBHOOK_AUTH", value)
    with pytest.raises(
        ConfigError, match="RELANCE_POSTMARK_WEBHOOK_AUTH: is not user:password"
    ) as refused:
        load_settings()
    assert "password" not in str(refused.value).replace("user:password", "")


def test_a_verification_key_that_is_none_stops_the_gateway_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RELANCE_SENDGRID_WEBHOOK_KEY", "bm90IGEga2V5")
    with pytest.raises(ConfigError, match="RELANCE_SENDGRID_WEBHOOK_KEY: is not a public key"):
        served(monkeypatch)


def test_each_webhook_is_served_only_when_its_credential_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert served(monkeypatch) == []
    monkeypatch.setenv("RELANCE_POSTMARK_WEBHOOK_AUTH", "postmark:a-webhook-password")
    assert served(monkeypatch) == ["/webhooks/postmark"]
    monkeypatch.setenv("RELANCE_SENDGRID_WEBHOOK_KEY", VERIFY_KEY)
    monkeypatch.setenv("RELANCE_GATEWAY_URL", "https://shop.example/links/")
    assert served(monkeypatch) == ["/links/webhooks/postmark", "/links/webhooks/sendgrid"]
