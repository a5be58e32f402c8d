"""The configuration reference (docs/settings.md) is the settings model's, and every setting
says what it is for."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from relance.errors import ConfigError
from relance.settings import Settings, env_name, load_settings, reference

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_the_docs_carry_the_reference_generated_from_the_settings_model() -> None:
    found = re.search(
        r"<!-- settings:begin -->\n(.*?)<!-- settings:end -->", REFERENCE.read_text(), re.S
    )
    assert found is not None
    assert found.group(1).strip() == reference(), "run `relance settings` and paste it"


def test_every_setting_has_a_row_with_its_variable_and_a_meaning() -> None:
    *rows, family = reference().splitlines()[2:]
    assert len(rows) == len(Settings.model_fields)
    assert family.startswith("| `RELANCE_KAFKA_<PROPERTY>` |")
    for row, (name, field) in zip(rows, Settings.model_fields.items(), strict=True):
        assert row.startswith(f"| `{env_name(name)}` |")
        assert field.description, name


@pytest.mark.parametrize(
    ("field", "text", "value"),
    [
        ("log_format", "json", "json"),
        ("schema_registry_url", "http://r:8081", "http://r:8081"),
        ("sender_web_port", "7000", 7000),
        ("instance_id", "relance-worker-0", "relance-worker-0"),
    ],
)
def test_the_variable_the_reference_names_sets_the_setting(
    monkeypatch: pytest.MonkeyPatch, field: str, text: str, value: object
) -> None:
    monkeypatch.setenv(env_name(field), text)
    assert getattr(load_settings(), field) == value


def test_relance_settings_prints_the_reference() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "relance", "settings"], check=True, capture_output=True, text=True
    ).stdout
    assert printed.strip() == reference()


@pytest.mark.parametrize("removed", ["RELANCE_SMTP_MAX_ATTEMPTS", "RELANCE_SMTP_BACKOFF"])
def test_a_variable_that_is_no_longer_a_setting_stops_the_start_saying_what_replaced_it(
    monkeypatch: pytest.MonkeyPatch, removed: str
) -> None:
    # Ignored, it would let an operator believe sends still give up after five attempts.
    monkeypatch.setenv(removed, "5")
    with pytest.raises(ConfigError, match=f"{removed}: no longer a setting: .*RELANCE_"):
        load_settings()


@pytest.mark.parametrize(
    ("removed", "why"),
    [
        ("RELANCE_DATA_DIR", "nothing is kept on disk"),
        ("RELANCE_PRODUCER_MAX_BATCH_SIZE", "it sized faust's producer, which never ran"),
    ],
)
def test_a_variable_only_faust_read_stops_the_start_saying_why(
    monkeypatch: pytest.MonkeyPatch, removed: str, why: str
) -> None:
    # Ignored, it would let an operator believe a volume or a batch size still matters.
    monkeypatch.setenv(removed, "1")
    with pytest.raises(ConfigError, match=f"{removed}: no longer a setting: {why}"):
        load_settings()


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"RELANCE_LEDGER_RETENTION": "86400"}, "RELANCE_LEDGER_RETENTION"),
        ({"RELANCE_DELIVERY_HORIZON": "1000000"}, "RELANCE_LEDGER_RETENTION"),
        (
            {"RELANCE_RETRY_BACKOFF": "10", "RELANCE_RETRY_BACKOFF_MAX": "5"},
            "RELANCE_RETRY_BACKOFF",
        ),
    ],
)
def test_settings_that_do_not_go_together_stop_the_start(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"environment: {named}: "):
        load_settings()


def test_the_retry_settings_default_to_a_day_of_retries_and_eight_days_of_ledger() -> None:
    settings = load_settings()
    assert (settings.retry_backoff, settings.retry_backoff_max) == (1.0, 300.0)
    assert settings.delivery_horizon == 24 * 3600
    assert settings.ledger_retention == 8 * 24 * 3600
