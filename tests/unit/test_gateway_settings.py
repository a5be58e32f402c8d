"""The gateway's settings: its keys from the environment or a mounted file (never shown), a
base URL that is one, the families its preference page offers, and no start without keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from relance.core.scenarios import DEFAULT_CONFIG
from relance.errors import ConfigError
from relance.scenario_file import load_config
from relance.settings import load_settings
from relance.tokens import parse_keys
from relance.wiring import gateway_process, offered_families


def test_the_keys_come_from_a_file_too_stripped_of_the_editors_newline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "link-keys"
    keys.write_text("k2:0123456789abcdef-new,k1:0123456789abcdef-old\n")
    monkeypatch.setenv("RELANCE_LINK_KEYS_FILE", str(keys))
    settings = load_settings()
    assert settings.link_keys is not None
    assert [k.id for k in parse_keys(settings.link_keys.get_secret_value())] == ["k2", "k1"]
    monkeypatch.setenv("RELANCE_LINK_KEYS", "k3:0123456789abcdef")
    with pytest.raises(ConfigError, match="RELANCE_LINK_KEYS is set too"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("RELANCE_LINK_KEYS", "k1:short-secret", "RELANCE_LINK_KEYS: key 'k1' is shorter"),
        ("RELANCE_GATEWAY_URL", "links.shop.example", "not an http(s) URL"),
        ("RELANCE_GATEWAY_URL", "https://links.shop.example/?x=1", "not an http(s) URL"),
        ("RELANCE_LINK_MAX_AGE_CLICK", "0", "RELANCE_LINK_MAX_AGE_CLICK"),
    ],
)
def test_a_bad_gateway_setting_is_named_and_no_secret_shown(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(
        ConfigError, match=problem.replace("(", r"\(").replace(")", r"\)")
    ) as refused:
        load_settings()
    assert "short-secret" not in str(refused.value)


def test_the_preference_page_offers_the_families_of_the_files_marketing_scenarios() -> None:
    config = load_config(
        "scenarios:\n  cart_abandonment: {}\n  birthday: {}\n"
        "  back_in_stock: {channel: sms}\n  order_confirmation: {}\n"
        "  cross_sell: {digest: weekly, statuses: [delivered]}\n"
    )
    assert offered_families(config) == {
        "email": ("reminders", "recommendations", "digests"),
        "sms": ("reminders",),
    }


def test_the_gateway_does_not_start_without_its_keys() -> None:
    with pytest.raises(ConfigError, match="RELANCE_LINK_KEYS: the gateway needs the keys"):
        gateway_process(load_settings(), DEFAULT_CONFIG, CollectorRegistry())
