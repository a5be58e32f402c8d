"""Every Kafka client from one configuration: the RELANCE_KAFKA_* properties (here SASL_SSL
with SCRAM, which no broker on this machine speaks) reach each client the factory builds,
librdkafka accepts them, relance's guarantees stay relance's, and nothing else in the
package constructs a client. The topics every process creates carry the replication
settings."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import trustme
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from relance.cli import main
from relance.kafka import clients as kafka
from relance.kafka import topics
from relance.settings import Settings, load_settings

SRC = Path(__file__).resolve().parents[2] / "src" / "relance"
CONSTRUCTORS = {"Consumer", "Producer", "AdminClient", "SchemaRegistryClient"}
# Where a client may be constructed, and why.
ALLOWED = {
    "kafka/clients.py": "the factory",
    "kafka/topics.py": "an admin client from a bare bootstrap, for the embedded broker",
    "codec/registry.py": "a client from a bare URL, which wiring never passes",
    "demo/broker.py": "the embedded broker's own readiness check (no settings there)",
    "demo/run.py": "the demo's simulated shoppers",
}


@pytest.fixture
def secured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    (tmp_path / "password").write_text("scram-password\n")
    (tmp_path / "registry").write_text("api-key:api-secret\n")
    for name, value in {
        "RELANCE_BROKER": "kafka://k1:9093;k2:9093",
        "RELANCE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "RELANCE_KAFKA_SASL_MECHANISMS": "SCRAM-SHA-512",
        "RELANCE_KAFKA_SASL_USERNAME": "relance",
        "RELANCE_KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "password"),
        "RELANCE_KAFKA_SSL_CA_LOCATION": str(tmp_path / "ca.pem"),
        "RELANCE_KAFKA_LINGER_MS": "20",
        "SCHEMA_REGISTRY_URL": "https://registry.example:8081",
        "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO_FILE": str(tmp_path / "registry"),
        "SCHEMA_REGISTRY_SSL_CA_LOCATION": str(tmp_path / "ca.pem"),
    }.items():
        monkeypatch.setenv(name, value)
    return load_settings()


SASL = {
    "security.protocol": "SASL_SSL",
    "sasl.mechanisms": "SCRAM-SHA-512",
    "sasl.username": "relance",
    "sasl.password": "scram-password",
}


def test_every_kafka_client_is_given_the_properties_and_librdkafka_takes_them(
    secured: Settings,
) -> None:
    configs = {
        "consumer": (kafka.consumer_config(secured, "g"), Consumer),
        "restore": (
            kafka.consumer_config(secured, "g-restore", **{"enable.partition.eof": True}),
            Consumer,
        ),
        "producer": (kafka.producer_config(secured), Producer),
        "admin": (kafka.admin_config(secured), AdminClient),
    }
    for name, (config, build) in configs.items():
        assert SASL.items() <= config.items(), name
        assert config["ssl.ca.location"] == secured.kafka["ssl.ca.location"].value
        assert config["bootstrap.servers"] == "k1:9093,k2:9093", name
        client = build(config)  # librdkafka accepts the whole configuration
        if isinstance(client, Consumer):
            client.close()


def test_a_property_may_tune_but_never_undo_what_relance_rests_on(secured: Settings) -> None:
    producer = kafka.producer_config(secured)
    assert (producer["linger.ms"], producer["acks"]) == ("20", "all")
    consumer = kafka.consumer_config(secured, "g")
    assert (consumer["enable.auto.commit"], consumer["partition.assignment.strategy"]) == (
        False,
        "range",
    )


def test_the_schema_registry_client_is_given_its_auth_and_ca(secured: Settings) -> None:
    config = kafka.schema_registry_config(secured)
    assert config == {
        "url": "https://registry.example:8081",
        "basic.auth.user.info": "api-key:api-secret",
        "ssl.ca.location": str(secured.schema_registry_ssl_ca_location),
    }
    assert kafka.schema_registry(secured) is not None
    assert kafka.property_problems(secured) == []


def constructed(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name in CONSTRUCTORS:
                found.append((node.lineno, name))
    return found


def test_no_module_but_the_factory_constructs_a_client() -> None:
    for path in sorted(SRC.rglob("*.py")):
        where = str(path.relative_to(SRC))
        if where not in ALLOWED:
            assert constructed(path) == [], f"{where} builds a client: use kafka.clients"
    assert constructed(SRC / "kafka" / "clients.py")  # the check looks where they are


def test_every_topic_relance_creates_has_the_replication_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RELANCE_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("RELANCE_MIN_INSYNC_REPLICAS", "2")
    settings = load_settings()
    specs = topics.topic_specs(settings)
    assert {(s.replication, s.config()["min.insync.replicas"]) for s in specs} == {(3, "2")}
    names = {s.name for s in specs}
    assert {
        topics.worker_changelog(settings),
        topics.ledger_changelog(settings),
        settings.topic_deliveries,
        settings.topic_carts,
    } <= names
    worker = {s.name for s in topics.used_by(settings, topics.WORKER)}
    sender = {s.name for s in topics.used_by(settings, topics.SENDER)}
    assert worker | sender == names
    # The gateway writes engagement events and creates nothing: listed, for those who grant
    # the rights topic by topic.
    assert [s.name for s in topics.used_by(settings, topics.GATEWAY)] == [settings.topic_engagement]
    assert {settings.topic_deliveries, settings.topic_dlq} <= worker & sender
    compacted = {s.name for s in specs if s.config().get("cleanup.policy") == "compact"}
    assert compacted == {
        settings.topic_contacts,
        settings.topic_catalog,
        topics.worker_changelog(settings),
        topics.ledger_changelog(settings),
    }


def test_relance_topics_prints_the_table_and_the_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RELANCE_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("RELANCE_MIN_INSYNC_REPLICAS", "2")
    assert main(["topics"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("| topic | partitions | cleanup.policy | retention | replication |")
    assert "| contacts | 8 | compact | - | 3 | 2 | worker | input: contact profiles |" in table
    assert main(["topics", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {
        "name": "relance-deliveries",
        "partitions": 8,
        "cleanup_policy": "delete",
        "retention_ms": None,
        "replication_factor": 3,
        "min_insync_replicas": 2,
        "config": {"min.insync.replicas": "2"},
        "partitions_must_match": True,
        "used_by": ["worker", "sender"],
        "purpose": "output: send commands",
    } in listed
    assert len(listed) == len(table) - 2
