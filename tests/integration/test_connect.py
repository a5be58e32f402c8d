"""Connecting to a cluster as production does: over TLS (Debian's stunnel4 in front of the
embedded broker, which advertises the TLS port, so every client comes back through it), a
broker that is not there yet at start, a schema registry that is not there yet and then
serves HTTPS with basic auth, the topics a configuration needs, and a fatal error at start
told in one line."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import trustme
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import (  # type: ignore[attr-defined]  # exported, not in __all__
    AdminClient,
    ConfigResource,
)

from relance.codec import avro
from relance.codec.registry import RegistryEventCodec, SchemaRegistry
from relance.core.events import CartChange, ContactProfile, Event, Product
from relance.core.scenarios import InputRules
from relance.demo.broker import Broker, EmbeddedBroker
from relance.demo.mailsink import MailSink
from relance.demo.ports import free_port
from relance.demo.processes import running
from relance.kafka.topics import TopicSpec, create_topics

from .conftest import PARTITIONS, Stack, wait_for
from .registry_server import running_registry
from .test_health import get

pytestmark = pytest.mark.integration

SHOE = Product(
    "sku-1",
    "Trail shoe",
    89.9,
    "EUR",
    "shoes",
    "https://shop.example/p/sku-1",
    "https://shop.example/img/sku-1.jpg",
    True,
)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def a_cart_left(contact: str) -> list[Event]:
    t = now_ms()
    return [
        ContactProfile(
            f"{contact}-p", contact, t, email=f"{contact}@example.com", marketing_opt_in=True
        ),
        CartChange(f"{contact}-1", contact, t + 10, "add", SHOE, 1),
    ]


def produce(
    config: dict[str, str],
    stack: Stack,
    events: Iterable[Event],
    registry: SchemaRegistry | None = None,
) -> None:
    """Plain Avro, or Confluent-framed Avro through ``registry``."""
    producer = Producer(
        {**config, "partitioner": "murmur2_random", "linger.ms": 0, "batch.num.messages": 1}
    )
    for event in events:
        topic = stack.topic("carts" if event.type == "cart" else "contacts")
        value = (
            RegistryEventCodec(registry, topic, rules=InputRules()).encode(event)
            if registry is not None
            else avro.encode(event)
        )
        producer.produce(topic, key=event.contact_id.encode(), value=value)
    assert producer.flush(30) == 0


@dataclass(frozen=True)
class TlsBroker:
    """The embedded broker as clients see it through stunnel: TLS only."""

    bootstrap: str
    ca: Path

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"

    def client(self) -> dict[str, str]:
        return {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": "SSL",
            "ssl.ca.location": str(self.ca),
        }

    def create_topics(self, topics: Iterable[TopicSpec]) -> None:
        create_topics(self.client(), topics)


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[TlsBroker]:
    stunnel = shutil.which("stunnel4") or shutil.which("stunnel")
    assert stunnel, "stunnel4 is missing: make tools (scripts/install-tools)"
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    server.private_key_pem.write_to_path(str(tmp_path / "server.key"))
    server.cert_chain_pems[0].write_to_path(str(tmp_path / "server.pem"))
    tls_port = free_port()
    broker = EmbeddedBroker(log=tmp_path / "tansu.log", advertised=f"127.0.0.1:{tls_port}")
    (tmp_path / "stunnel.conf").write_text(
        "foreground = yes\npid =\ndebug = notice\n[kafka]\n"
        f"accept = 127.0.0.1:{tls_port}\nconnect = 127.0.0.1:{broker.port}\n"
        f"cert = {tmp_path / 'server.pem'}\nkey = {tmp_path / 'server.key'}\n"
    )
    with broker, running([stunnel, str(tmp_path / "stunnel.conf")], log=tmp_path / "stunnel.log"):
        tls = TlsBroker(f"127.0.0.1:{tls_port}", tmp_path / "ca.pem")
        wait_for(lambda: _answers(tls.client()), timeout=30)
        yield tls


def topic_configs(config: dict[str, str], names: Iterable[str]) -> dict[str, dict[str, str]]:
    """What the broker keeps of each topic's configuration (Tansu: what was set)."""
    admin = AdminClient(config)  # kept until every answer is in: its end cancels them
    resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in names]
    return {
        resource.name: {key: entry.value for key, entry in future.result(timeout=10).items()}
        for resource, future in admin.describe_configs(resources).items()
    }


def _answers(config: dict[str, str]) -> bool:
    try:
        AdminClient(config).list_topics(timeout=2)
    except KafkaException:
        return False
    return True


def test_worker_and_sender_connect_over_tls_and_a_cart_becomes_one_email(
    tls_broker: TlsBroker, tmp_path: Path
) -> None:
    # The TLS port refuses a plaintext client: what follows went through TLS.
    assert not _answers({"bootstrap.servers": tls_broker.bootstrap})
    with MailSink(tmp_path / "outbox") as sink:
        stack = Stack(tls_broker, tmp_path, sink)
        stack.env.update(
            {
                "RELANCE_KAFKA_SECURITY_PROTOCOL": "SSL",
                "RELANCE_KAFKA_SSL_CA_LOCATION": str(tls_broker.ca),
                "RELANCE_REPLICATION_FACTOR": "1",
                "RELANCE_MIN_INSYNC_REPLICAS": "1",
            }
        )
        try:
            stack.start("worker")
            stack.start("sender")
            for variable in ("RELANCE_WEB_PORT", "RELANCE_SENDER_WEB_PORT"):
                port = int(stack.env[variable])
                # Ready: the health probe's admin client answered, the topics were checked
                # (the changelogs created), the group joined and the state restored.
                wait_for(lambda port=port: get(port, "/readyz") == (200, "ready\n"), timeout=120)
            produce(tls_broker.client(), stack, a_cart_left("tia"))
            (message,) = wait_for(lambda: stack.sink.messages(), timeout=90)
            time.sleep(3)  # a second email would have arrived by now
            assert len(stack.sink.messages()) == 1
            assert message["To"] == "tia@example.com"
        finally:
            stack.stop_all()
    worker, sender = stack.log("worker"), stack.log("sender")
    changelogs = [
        f"{stack.prefix}-worker-contact-state-changelog",
        f"{stack.prefix}-sender-delivery-ledger-changelog",
    ]
    assert f"created topic {changelogs[0]}" in worker
    assert f"created topic {changelogs[1]}" in sender
    # Created with the replication settings (one replica: Tansu is one broker).
    assert topic_configs(tls_broker.client(), changelogs) == {
        name: {"cleanup.policy": "compact", "min.insync.replicas": "1"} for name in changelogs
    }
    assert "restored" in worker  # the changelog's restore consumer read it to its end
    assert "Traceback" not in worker + sender


class NotYet:
    """A broker that is not there yet: the stack creates no topics (relance does)."""

    def __init__(self, port: int) -> None:
        self.bootstrap = f"127.0.0.1:{port}"
        self.url = f"kafka://{self.bootstrap}"

    def create_topics(self, topics: Iterable[TopicSpec]) -> None:
        pass


def test_a_worker_started_before_its_broker_waits_then_decides_what_came_meanwhile(
    tmp_path: Path,
) -> None:
    port = free_port()
    with MailSink(tmp_path / "outbox") as sink:
        missing: Broker = NotYet(port)
        stack = Stack(missing, tmp_path, sink)
        stack.env.update({"RELANCE_CONNECT_BACKOFF_MAX": "4", "RELANCE_LOG_FORMAT": "json"})
        try:
            stack.start("worker")
            stack.start("sender")
            ports = [int(stack.env[v]) for v in ("RELANCE_WEB_PORT", "RELANCE_SENDER_WEB_PORT")]
            for web in ports:
                wait_for(lambda web=web: get(web, "/healthz")[0] == 200, timeout=60)
            until = time.monotonic() + 30
            while time.monotonic() < until:
                for web in ports:
                    assert get(web, "/healthz") == (200, "ok\n")
                    status, body = get(web, "/readyz")
                    assert status == 503
                    assert f"the broker 127.0.0.1:{port} " in body, body
                time.sleep(1)
            with EmbeddedBroker(port=port, log=tmp_path / "tansu.log") as broker:
                # Produced before either is ready: the worker must still decide it.
                broker.create_topics(stack.specs())
                produce({"bootstrap.servers": broker.bootstrap}, stack, a_cart_left("max"))
                for web in ports:
                    wait_for(lambda web=web: get(web, "/readyz") == (200, "ready\n"), timeout=120)
                (message,) = wait_for(lambda: stack.sink.messages(), timeout=90)
                assert message["To"] == "max@example.com"
                stack.stop_all()
        finally:
            stack.stop_all()
    for kind in ("worker", "sender"):
        lines = [
            orjson.loads(line) for line in stack.log(kind).splitlines() if line.startswith("{")
        ]
        waits = [line for line in lines if "trying again in" in line["message"]]
        assert waits and all(line["level"] == "warning" for line in waits), kind
        assert all("exception" not in line for line in lines), kind


def test_both_wait_for_their_schema_registry_then_use_it_over_https_with_basic_auth(
    stack: Stack, tmp_path: Path
) -> None:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    port = free_port()
    url, user_info = f"https://127.0.0.1:{port}", "relance:registry-secret-1"
    stack.env.update(
        {
            "SCHEMA_REGISTRY_URL": url,
            "RELANCE_CONNECT_BACKOFF_MAX": "2",
            "SCHEMA_REGISTRY_SSL_CA_LOCATION": str(tmp_path / "ca.pem"),
            "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": user_info,
        }
    )
    stack.start("worker")
    stack.start("sender")
    ports = [int(stack.env[v]) for v in ("RELANCE_WEB_PORT", "RELANCE_SENDER_WEB_PORT")]
    for web in ports:
        _, body = wait_for(
            lambda web=web: (
                (answer := get(web, "/readyz"))[0] == 503
                and "schema registry" in answer[1]
                and answer
            ),
            timeout=60,
        )
        assert f"the schema registry {url} does not answer: " in body, body
        assert get(web, "/healthz") == (200, "ok\n")
    with running_registry(port, tls=server, user_info=user_info) as (_, store):
        for web in ports:
            wait_for(lambda web=web: get(web, "/readyz") == (200, "ready\n"), timeout=120)
        ours = SchemaRegistry(
            url, {"ssl.ca.location": str(tmp_path / "ca.pem"), "basic.auth.user.info": user_info}
        )
        produce({"bootstrap.servers": stack.broker.bootstrap}, stack, a_cart_left("rio"), ours)
        (message,) = wait_for(lambda: stack.sink.messages(), timeout=90)
        assert message["To"] == "rio@example.com"
        # The worker read the cart's writer schema by id and registered the command's; the
        # sender read that one back: every request with the credentials, over HTTPS.
        assert f"{stack.topic('relance-deliveries')}-value" in store.subjects
        assert ("GET", "/schemas/ids/1") in store.requests
        assert store.unauthorized == 0
        stack.stop_all()
    for kind in ("worker", "sender"):
        assert "registry-secret-1" not in stack.log(kind)
        assert "Traceback" not in stack.log(kind)


def test_a_fatal_error_at_start_is_one_json_line_and_exit_code_1(stack: Stack) -> None:
    # The carts topic with 2 partitions where the configuration says 4.
    carts = stack.topic("carts-2")
    stack.broker.create_topics([TopicSpec(carts, 2)])
    process = stack.start("worker", RELANCE_TOPIC_CARTS=carts, RELANCE_LOG_FORMAT="json")
    assert process.wait(timeout=120) == 1
    stack.processes.pop("worker")
    log = stack.log("worker")
    assert "Traceback" not in log
    lines = [orjson.loads(line) for line in log.splitlines() if line.startswith("{")]
    errors = [line for line in lines if line["level"] in ("error", "critical")]
    assert len(errors) == 1, errors
    (error,) = errors
    assert error["message"] == (
        f"{stack.prefix}-worker-app stopped: topic {carts} has 2 "
        f"partitions, expected {PARTITIONS} (RELANCE_PARTITIONS)"
    )
    assert all("exception" not in line for line in lines)


@pytest.mark.parametrize("kind", ["worker", "sender"])
def test_a_web_port_in_use_is_one_line_and_exit_code_1(stack: Stack, kind: str) -> None:
    """faust fails its start before the loop ever runs: the process must still exit."""
    taken = socket.socket()
    taken.bind(("0.0.0.0", 0))
    taken.listen()
    port = taken.getsockname()[1]
    variable = "RELANCE_WEB_PORT" if kind == "worker" else "RELANCE_SENDER_WEB_PORT"
    with taken:
        process = stack.start(kind, **{variable: str(port), "RELANCE_LOG_FORMAT": "json"})
        assert process.wait(timeout=60) == 1
    stack.processes.pop(kind)
    lines = [orjson.loads(line) for line in stack.log(kind).splitlines() if line.startswith("{")]
    (error,) = [line for line in lines if line["level"] in ("error", "critical")]
    assert f"{port}): address already in use" in error["message"]
    assert all("exception" not in line for line in lines)


def test_relance_topics_apply_creates_what_is_missing_once(stack: Stack) -> None:
    env = {**stack.env, "RELANCE_REPLICATION_FACTOR": "1", "RELANCE_MIN_INSYNC_REPLICAS": "1"}
    command = [sys.executable, "-m", "relance", "topics"]
    listed = orjson.loads(
        subprocess.run(
            [*command, "--format", "json"], env=env, check=True, capture_output=True, text=True
        ).stdout
    )
    names = {topic["name"] for topic in listed}
    changelogs = {
        f"{stack.prefix}-worker-contact-state-changelog",
        f"{stack.prefix}-sender-delivery-ledger-changelog",
    }
    assert changelogs <= names  # the stack created the others
    applied = subprocess.run(
        [*command, "--apply"], env=env, check=True, capture_output=True, text=True
    ).stdout
    assert {
        line.removeprefix("created ")
        for line in applied.splitlines()
        if line.startswith("created ")
    } == changelogs
    assert topic_configs({"bootstrap.servers": stack.broker.bootstrap}, changelogs) == {
        name: {"cleanup.policy": "compact", "min.insync.replicas": "1"} for name in changelogs
    }
    again = subprocess.run(
        [*command, "--apply"], env=env, check=True, capture_output=True, text=True
    ).stdout
    assert again.strip() == f"0 topics created, {len(names)} there already"
