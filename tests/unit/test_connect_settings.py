"""Connecting to a secured cluster, as the settings see it: RELANCE_KAFKA_* properties (and
their _FILE variants) checked by librdkafka and naming their variable, the schema registry's
auth and TLS, replication, secrets masked, and a RELANCE_* variable that sets nothing."""

from __future__ import annotations

import logging
import logging.config
import subprocess
import sys
from pathlib import Path

import pytest

from relance.errors import ConfigError
from relance.kafka.clients import property_problems
from relance.logs import Redact, logging_config
from relance.settings import KafkaProperty, Settings, load_settings, reference

SASL = {
    "RELANCE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "RELANCE_KAFKA_SASL_MECHANISMS": "SCRAM-SHA-512",
    "RELANCE_KAFKA_SASL_USERNAME": "relance",
}


def settings_with(monkeypatch: pytest.MonkeyPatch, **variables: str) -> Settings:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def test_each_kafka_variable_is_a_librdkafka_property_with_dots_for_underscores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_with(
        monkeypatch,
        **SASL,
        RELANCE_KAFKA_SASL_PASSWORD="s3cr3t-pw",
        RELANCE_KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM="https",
    )
    assert settings.kafka_properties() == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "relance",
        "sasl.password": "s3cr3t-pw",
        "ssl.endpoint.identification.algorithm": "https",
    }
    assert settings.kafka["sasl.password"] == KafkaProperty(
        "RELANCE_KAFKA_SASL_PASSWORD", "s3cr3t-pw", secret=True
    )
    assert not settings.kafka["sasl.username"].secret
    assert property_problems(settings) == []


def test_a_file_variant_reads_the_mounted_secret_stripped_and_keeps_it_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "password").write_text("from-a-file\n")
    settings = settings_with(
        monkeypatch, **SASL, RELANCE_KAFKA_SASL_PASSWORD_FILE=str(tmp_path / "password")
    )
    assert settings.kafka["sasl.password"] == KafkaProperty(
        "RELANCE_KAFKA_SASL_PASSWORD_FILE", "from-a-file", secret=True
    )


@pytest.mark.parametrize(
    ("variables", "named", "problem"),
    [
        (
            {"RELANCE_KAFKA_SASL_PASSWORD": "a", "RELANCE_KAFKA_SASL_PASSWORD_FILE": "/x"},
            "RELANCE_KAFKA_SASL_PASSWORD_FILE",
            "RELANCE_KAFKA_SASL_PASSWORD is set too",
        ),
        (
            {"RELANCE_KAFKA_SASL_PASSWORD_FILE": "/no/such/file"},
            "RELANCE_KAFKA_SASL_PASSWORD_FILE",
            "cannot read /no/such/file",
        ),
        (
            {"RELANCE_KAFKA_ENABLE_AUTO_COMMIT": "true"},
            "RELANCE_KAFKA_ENABLE_AUTO_COMMIT",
            "enable.auto.commit is set by relance: relance commits an offset only once",
        ),
        (
            {"RELANCE_KAFKA_BOOTSTRAP_SERVERS": "k:9092"},
            "RELANCE_KAFKA_BOOTSTRAP_SERVERS",
            "bootstrap.servers is set by relance: set RELANCE_BROKER",
        ),
        (
            {"RELANCE_KAFKA_ACKS": "1"},
            "RELANCE_KAFKA_ACKS",
            r"acks is set by relance: .*\(acks=all\)",
        ),
    ],
)
def test_a_kafka_variable_that_cannot_be_used_stops_the_start_naming_it(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=f"environment: {named}: {problem}"):
        settings_with(monkeypatch, **variables)


@pytest.mark.parametrize(
    ("variables", "named", "said"),
    [
        (
            {"RELANCE_KAFKA_SASL_MECHANISMZ": "PLAIN"},
            "RELANCE_KAFKA_SASL_MECHANISMZ",
            'No such configuration property: "sasl.mechanismz"',
        ),
        (
            {"RELANCE_KAFKA_SECURITY_PROTOCOL": "TLS"},
            "RELANCE_KAFKA_SECURITY_PROTOCOL",
            'Invalid value "TLS" for configuration property "security.protocol"',
        ),
        (
            {
                "RELANCE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "RELANCE_KAFKA_SASL_MECHANISMS": "OAUTHBEARER",
                "RELANCE_KAFKA_SASL_OAUTHBEARER_METHOD": "oidc",
            },
            "RELANCE_KAFKA_SASL_OAUTHBEARER_METHOD",
            "sasl.oauthbearer.token.endpoint.url` is mandatory",
        ),
    ],
)
def test_what_librdkafka_refuses_is_a_problem_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str, said: str
) -> None:
    (problem,) = property_problems(settings_with(monkeypatch, **variables))
    assert problem.key == named
    assert said in problem.problem


def test_relance_worker_refuses_an_unknown_property_before_it_starts(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "relance", "worker"],
        env={"RELANCE_KAFKA_SASL_MECHANISMZ": "PLAIN", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "relance: environment: RELANCE_KAFKA_SASL_MECHANISMZ: No such "
        'configuration property: "sasl.mechanismz"'
    )


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("RELANCE_BROKR", "RELANCE_BROKER"),
        ("RELANCE_SMTP_PASWORD", "RELANCE_SMTP_PASSWORD"),
        ("RELANCE_REPLICATION", "RELANCE_REPLICATION_FACTOR"),
    ],
)
def test_an_unknown_relance_variable_stops_the_start_naming_the_closest_setting(
    monkeypatch: pytest.MonkeyPatch, typo: str, meant: str
) -> None:
    with pytest.raises(
        ConfigError,
        match=f"environment: {typo}: unknown setting "
        rf"\(did you mean {meant}\?\)",
    ):
        settings_with(monkeypatch, **{typo: "x"})


def test_relance_worker_with_a_typo_says_so_and_exits_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "relance", "worker"],
        env={"RELANCE_BROKR": "x", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert (done.returncode, done.stderr) == (
        2,
        "relance: environment: RELANCE_BROKR: unknown setting (did you mean RELANCE_BROKER?)\n",
    )


def test_a_variable_far_from_every_setting_is_still_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigError, match=r"RELANCE_ZZZZZZZZ: unknown setting$"):
        settings_with(monkeypatch, RELANCE_ZZZZZZZZ="1")


def test_the_kafka_family_and_the_registry_names_are_known(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(
        monkeypatch,
        RELANCE_KAFKA_CLIENT_ID="shop",
        SCHEMA_REGISTRY_URL="https://r:8081",
        SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO="key:secret",
    )
    assert settings.kafka_properties() == {"client.id": "shop"}


def test_the_test_suites_variables_reach_the_processes_it_starts_unrefused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """make test-wheel runs the process tests under RELANCE_TEST_WHEEL=1, the testcontainers
    run under RELANCE_TEST_BROKER: every worker and sender they start inherits them."""
    suite = {
        "RELANCE_TEST_BOOTSTRAP": "127.0.0.1:9092",
        "RELANCE_TEST_WHEEL": "1",
        "RELANCE_TEST_BROKER": "testcontainers",
        "RELANCE_TEST_KAFKA_IMAGE": "apache/kafka:3.9.0",
    }
    assert settings_with(monkeypatch, **suite).broker == Settings().broker


def test_secrets_are_masked_in_every_log_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "key").write_text("file-secret-1\n")
    settings = settings_with(
        monkeypatch,
        RELANCE_KAFKA_SASL_PASSWORD="kafka-secret-1",
        RELANCE_KAFKA_SSL_KEY_PASSWORD_FILE=str(tmp_path / "key"),
        SCHEMA_REGISTRY_URL="https://r:8081",
        SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO="key:registry-secret-1",
        RELANCE_SMTP_PASSWORD="smtp-secret-1",
    )
    redact = _filter(settings)
    record = logging.LogRecord(
        "relance.kafka",
        logging.ERROR,
        __file__,
        1,
        "auth: %s %s %s %s",
        ("kafka-secret-1", "file-secret-1", "key:registry-secret-1", "smtp-secret-1"),
        None,
    )
    assert redact.filter(record)
    assert record.getMessage() == "auth: ****** ****** ****** ******"


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_secrets_are_masked_in_a_traceback_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], log_format: str
) -> None:
    settings = settings_with(
        monkeypatch,
        RELANCE_KAFKA_SASL_PASSWORD="kafka-secret-1",
        RELANCE_LOG_LEVEL="debug",
        RELANCE_LOG_FORMAT=log_format,
    )
    logging.config.dictConfig(logging_config(settings))
    try:
        try:
            raise ValueError("SASL authentication failed with kafka-secret-1")
        except ValueError:
            logging.getLogger("relance.test").warning("retrying", exc_info=True)
            logging.getLogger("relance.test").exception("stopped")
        out = capsys.readouterr().out
    finally:
        logging.config.dictConfig(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "root": {"level": "WARNING", "handlers": []},
            }
        )
    assert out.count("ValueError: SASL authentication failed with ******") == 2
    assert "kafka-secret-1" not in out


def _filter(settings: Settings) -> Redact:
    config = logging_config(settings)["filters"]["redact"]
    return Redact(config["secrets"])


def test_the_settings_reference_names_the_family_and_shows_no_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RELANCE_KAFKA_SASL_PASSWORD", "never-shown")
    table = reference()
    assert "| `RELANCE_KAFKA_<PROPERTY>` | (unset) |" in table
    assert "never-shown" not in table


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        (
            {"RELANCE_REPLICATION_FACTOR": "2", "RELANCE_MIN_INSYNC_REPLICAS": "3"},
            "RELANCE_MIN_INSYNC_REPLICAS",
        ),
        ({"RELANCE_REPLICATION_FACTOR": "0"}, "RELANCE_REPLICATION_FACTOR"),
        ({"RELANCE_REPLICATION_FACTOR": "-2"}, "RELANCE_REPLICATION_FACTOR"),
        (
            {
                "SCHEMA_REGISTRY_URL": "https://u:p@r:8081",
                "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": "u:p",
            },
            "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO",
        ),
    ],
)
def test_cluster_settings_that_cannot_hold_stop_the_start(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError, match=f"environment: {named}: "):
        settings_with(monkeypatch, **variables)


def test_replication_defaults_to_the_brokers_own() -> None:
    settings = load_settings()
    assert (settings.replication_factor, settings.min_insync_replicas) == (-1, None)
