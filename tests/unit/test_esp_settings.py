"""Choosing the email provider: RELANCE_EMAIL_PROVIDER, the ESP keys (from the environment or
from a mounted file, never shown), and what /readyz calls the provider."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from relance.errors import ConfigError
from relance.providers.esp import EspProvider
from relance.providers.postmark import Postmark
from relance.providers.sendgrid import SendGrid
from relance.providers.smtp import SmtpProvider
from relance.settings import load_settings
from relance.wiring import email_provider, provider_names


def test_smtp_stays_the_default() -> None:
    settings = load_settings()
    assert settings.email_provider == "smtp"
    assert isinstance(email_provider(settings), SmtpProvider)
    assert provider_names(settings)["email"] == "SMTP relay localhost:25"


def test_postmark_with_its_token_its_streams_and_its_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELANCE_EMAIL_PROVIDER", "postmark")
    monkeypatch.setenv("RELANCE_POSTMARK_TOKEN", "pm-token")
    monkeypatch.setenv("RELANCE_POSTMARK_STREAM_MARKETING", "newsletters")
    monkeypatch.setenv("RELANCE_ESP_TIMEOUT", "5")
    settings = load_settings()
    provider = email_provider(settings)
    assert isinstance(provider, EspProvider) and provider.base_url == "https://api.postmarkapp.com"
    assert provider.api == Postmark("pm-token", "outbound", "newsletters")
    assert provider.timeout.total == 5
    assert provider_names(settings)["email"] == "Postmark API https://api.postmarkapp.com"


def test_sendgrid_pointed_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELANCE_EMAIL_PROVIDER", "sendgrid")
    monkeypatch.setenv("RELANCE_SENDGRID_API_KEY", "SG.key")
    monkeypatch.setenv("RELANCE_SENDGRID_URL", "http://127.0.0.1:8025/")
    settings = load_settings()
    provider = email_provider(settings)
    assert isinstance(provider, EspProvider) and provider.api == SendGrid("SG.key")
    assert provider.base_url == "http://127.0.0.1:8025"
    assert provider_names(settings)["email"] == "SendGrid API http://127.0.0.1:8025"


@pytest.mark.parametrize(
    ("provider", "named"),
    [
        (
            "postmark",
            "RELANCE_POSTMARK_TOKEN: RELANCE_EMAIL_PROVIDER is postmark: set "
            "RELANCE_POSTMARK_TOKEN or RELANCE_POSTMARK_TOKEN_FILE",
        ),
        (
            "sendgrid",
            "RELANCE_SENDGRID_API_KEY: RELANCE_EMAIL_PROVIDER is sendgrid: set "
            "RELANCE_SENDGRID_API_KEY or RELANCE_SENDGRID_API_KEY_FILE",
        ),
    ],
)
def test_an_esp_without_its_key_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, provider: str, named: str
) -> None:
    monkeypatch.setenv("RELANCE_EMAIL_PROVIDER", provider)
    with pytest.raises(ConfigError, match=named):
        load_settings()


def test_an_unknown_provider_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELANCE_EMAIL_PROVIDER", "mailchimp")
    with pytest.raises(
        ConfigError,
        match="RELANCE_EMAIL_PROVIDER: Input should be 'smtp', 'postmark' or 'sendgrid'",
    ):
        load_settings()


def test_a_base_url_that_is_not_one_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELANCE_POSTMARK_URL", "api.postmarkapp.com")
    with pytest.raises(
        ConfigError, match=re.escape("RELANCE_POSTMARK_URL: 'api.postmarkapp.com' is not an http")
    ):
        load_settings()


def test_a_key_is_read_from_its_file_as_kubernetes_mounts_it_and_never_shown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = tmp_path / "sendgrid-api-key"
    key.write_text("SG.from-a-file\n")  # the newline a `kubectl create secret` file keeps
    monkeypatch.setenv("RELANCE_EMAIL_PROVIDER", "sendgrid")
    monkeypatch.setenv("RELANCE_SENDGRID_API_KEY_FILE", str(key))
    settings = load_settings()
    assert settings.sendgrid_api_key is not None
    assert settings.sendgrid_api_key.get_secret_value() == "SG.from-a-file"
    assert "from-a-file" not in repr(settings) + str(settings)
    provider = email_provider(settings)
    assert isinstance(provider, EspProvider) and provider.api == SendGrid("SG.from-a-file")


@pytest.mark.parametrize(
    ("secret", "variable"),
    [
        ("smtp_password", "RELANCE_SMTP_PASSWORD_FILE"),
        ("sms_token", "RELANCE_SMS_TOKEN_FILE"),
        ("postmark_token", "RELANCE_POSTMARK_TOKEN_FILE"),
    ],
)
def test_every_secret_has_a_file_variant(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, secret: str, variable: str
) -> None:
    (tmp_path / "secret").write_text("  s3cret  \n")
    monkeypatch.setenv(variable, str(tmp_path / "secret"))
    assert getattr(load_settings(), secret).get_secret_value() == "s3cret"


def test_a_secret_file_that_cannot_be_read_or_is_empty_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RELANCE_POSTMARK_TOKEN_FILE", str(tmp_path / "missing"))
    missing = re.escape(str(tmp_path / "missing"))
    with pytest.raises(
        ConfigError, match=f"RELANCE_POSTMARK_TOKEN_FILE: cannot read {missing}: .*No such file"
    ):
        load_settings()
    (tmp_path / "empty").write_text("\n")
    monkeypatch.setenv("RELANCE_POSTMARK_TOKEN_FILE", str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match=r"RELANCE_POSTMARK_TOKEN_FILE: .*empty is empty"):
        load_settings()


def test_a_secret_given_twice_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "token").write_text("one")
    monkeypatch.setenv("RELANCE_POSTMARK_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("RELANCE_POSTMARK_TOKEN", "two")
    with pytest.raises(
        ConfigError,
        match="RELANCE_POSTMARK_TOKEN_FILE: RELANCE_POSTMARK_TOKEN is set too: set one of them",
    ):
        load_settings()
