"""The one place that reads the environment: every setting, its default and its meaning.

Variables are prefixed ``RELANCE_`` (``RELANCE_BROKER``, ``RELANCE_SMTP_HOST`` ...), except
the schema registry's (``SCHEMA_REGISTRY_URL``, ``SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO`` ...),
which keep the names the Confluent tools use. ``RELANCE_KAFKA_<PROPERTY>`` variables are a
family of their own: each passes one librdkafka property to every Kafka client
(``RELANCE_KAFKA_SASL_USERNAME`` -> ``sasl.username``; ``..._FILE`` reads it from a file). A
``RELANCE_*`` variable that is none of these stops the start, naming the closest setting.
"""

from __future__ import annotations

import difflib
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from relance.codec.addresses import email_problem
from relance.codec.wire import Format
from relance.errors import ConfigError, ConfigProblem
from relance.tokens import parse_keys


@dataclass(frozen=True, slots=True)
class KafkaProperty:
    """A librdkafka property from the environment: the variable that set it, its value, and
    whether it is secret (masked wherever it could be shown)."""

    variable: str
    value: str
    secret: bool

    def shown(self) -> str:
        return "******" if self.secret else self.value


KAFKA_PREFIX: Final = "RELANCE_KAFKA_"
# A value read from a file is secret whatever its name; these are secret by name.
_SECRET_PROPERTY: Final = re.compile(r"password|secret|key\.pem|oauthbearer\.config|jaas")
# Properties relance sets itself: given here, they would break what it guarantees or
# duplicate a setting. Each says why, or which setting to use instead.
RESERVED_PROPERTIES: Final = {
    "bootstrap.servers": "set RELANCE_BROKER",
    "metadata.broker.list": "set RELANCE_BROKER",
    "group.id": "the consumer groups are named from RELANCE_APP_ID",
    "group.instance.id": "set RELANCE_INSTANCE_ID",
    "session.timeout.ms": "set RELANCE_SESSION_TIMEOUT",
    "message.max.bytes": "set RELANCE_PRODUCER_MESSAGE_MAX_BYTES",
    "enable.auto.commit": "relance commits an offset only once what it read is durably handled",
    "enable.auto.offset.store": "relance commits an offset only once what it read is durably "
    "handled",
    "auto.offset.reset": "a new consumer group must read its topics from their start",
    "enable.partition.eof": "relance sets it per reader",
    "partition.assignment.strategy": "the inputs are co-partitioned: the range assignor gives "
    "a member the same partition of every input",
    "acks": "every write must be acknowledged by all in-sync replicas (acks=all)",
    "request.required.acks": "every write must be acknowledged by all in-sync replicas (acks=all)",
    "partitioner": "contacts are keyed to partitions with murmur2, as the Java clients do",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_", frozen=True, extra="forbid")

    broker: str = Field(
        "kafka://localhost:9092",
        description="Kafka bootstrap server(s), e.g. kafka://k1:9092;k2:9092 or k1:9092,k2:9092",
    )
    app_id: str = Field("relance", description="Consumer group and table namespace prefix")
    instance_id: str | None = Field(
        None,
        description="Static group membership id of a worker "
        "(its pod name in a StatefulSet): a restart within the "
        "session timeout keeps its partitions, no rebalance",
    )
    state_dir: Path | None = Field(
        None,
        description="A folder kept across restarts of a worker (an emptyDir in Kubernetes): "
        "the worker notes there the partitions it holds, and once restarted reads their "
        "changelog while it waits to join its group",
    )
    scenarios: Path | None = Field(
        None, description="Scenario configuration (YAML); built-in defaults when unset"
    )
    partitions: int = Field(
        8,
        ge=1,
        description="Partitions of the input topics; all inputs "
        "must have this many and be keyed by contact id with one partitioner",
    )

    topic_page_views: str = Field("page-views", description="Input: page views")
    topic_carts: str = Field("carts", description="Input: cart changes")
    topic_orders: str = Field("orders", description="Input: orders")
    topic_contacts: str = Field("contacts", description="Input: contact profiles (compacted)")
    topic_engagement: str = Field(
        "engagement",
        description="Input: unsubscribes, hard "
        "bounces, spam complaints, opens and clicks, keyed by contact",
    )
    topic_catalog: str = Field(
        "catalog",
        description="Input: product updates keyed by "
        "product id, read whole by every worker; empty for none",
    )
    topic_deliveries: str = Field("relance-deliveries", description="Output: send commands")
    topic_decisions: str = Field(
        "relance-decisions",
        description="Output: every decision, "
        "sent or suppressed with its reason (JSON); empty for none",
    )
    topic_dlq: str = Field("relance-dlq", description="Output: rejected messages with reasons")
    topic_results: str = Field(
        "relance-delivery-results",
        description="Output: one record per attempt that failed "
        "temporarily and one per command's final outcome",
    )
    input_format: Format = Field(
        "auto",
        description="Format of the input topics: avro, "
        "json, or auto (JSON if a message starts with '{')",
    )
    output_format: Literal["avro", "json"] = Field(
        "avro", description="Format of the output topics"
    )
    schema_registry_url: str | None = Field(
        None,
        validation_alias=AliasChoices("SCHEMA_REGISTRY_URL", "RELANCE_SCHEMA_REGISTRY_URL"),
        description="Confluent Schema Registry; Confluent wire format when set, plain Avro "
        "otherwise",
    )
    schema_registry_basic_auth_user_info: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO", "RELANCE_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO"
        ),
        description="USER:PASSWORD for the schema registry's basic auth (an API key and "
        "secret on Confluent Cloud), instead of credentials in SCHEMA_REGISTRY_URL",
    )
    schema_registry_basic_auth_user_info_file: Path | None = Field(
        None,
        validation_alias=AliasChoices(
            "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO_FILE",
            "RELANCE_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO_FILE",
        ),
        description="File holding USER:PASSWORD for the schema registry (a mounted secret)",
    )
    schema_registry_ssl_ca_location: Path | None = Field(
        None,
        validation_alias=AliasChoices(
            "SCHEMA_REGISTRY_SSL_CA_LOCATION", "RELANCE_SCHEMA_REGISTRY_SSL_CA_LOCATION"
        ),
        description="CA certificate(s) (PEM) the schema registry's certificate is checked "
        "against; the system's when unset",
    )
    schema_registry_ssl_certificate_location: Path | None = Field(
        None,
        validation_alias=AliasChoices(
            "SCHEMA_REGISTRY_SSL_CERTIFICATE_LOCATION",
            "RELANCE_SCHEMA_REGISTRY_SSL_CERTIFICATE_LOCATION",
        ),
        description="Client certificate (PEM) for a schema registry that asks for one (mTLS)",
    )
    schema_registry_ssl_key_location: Path | None = Field(
        None,
        validation_alias=AliasChoices(
            "SCHEMA_REGISTRY_SSL_KEY_LOCATION", "RELANCE_SCHEMA_REGISTRY_SSL_KEY_LOCATION"
        ),
        description="Private key (PEM) of that client certificate",
    )
    replication_factor: int = Field(
        -1,
        ge=-1,
        description="Replication factor of the topics "
        "relance creates; -1: the broker's "
        "default.replication.factor (Kafka 2.4 and later)",
    )
    min_insync_replicas: int | None = Field(
        None,
        ge=1,
        description="min.insync.replicas of "
        "the topics relance creates (writes are "
        "acks=all); the broker's default when unset",
    )
    connect_backoff_max: float = Field(
        30.0,
        gt=0,
        description="Longest wait between two "
        "tries to reach the broker (and the schema registry) "
        "at start, seconds; the first is 0.5 s, doubling",
    )

    email_provider: Literal["smtp", "postmark", "sendgrid"] = Field(
        "smtp",
        description="Where emails go: smtp (the RELANCE_SMTP_* relay), postmark or "
        "sendgrid (their HTTP APIs, see docs/esp.md)",
    )
    smtp_host: str = Field("localhost", description="SMTP relay host")
    smtp_port: int = Field(25, description="SMTP relay port")
    smtp_username: str | None = Field(None, description="SMTP AUTH user")
    smtp_password: SecretStr | None = Field(None, description="SMTP AUTH password")
    smtp_password_file: Path | None = Field(
        None,
        description="File holding the SMTP AUTH "
        "password (a mounted secret), instead of "
        "RELANCE_SMTP_PASSWORD",
    )
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS")
    smtp_tls: bool = Field(False, description="Connect with implicit TLS (port 465)")
    postmark_token: SecretStr | None = Field(
        None, description="Postmark server API token (X-Postmark-Server-Token)"
    )
    postmark_token_file: Path | None = Field(
        None,
        description="File holding the Postmark server token, instead of RELANCE_POSTMARK_TOKEN",
    )
    postmark_url: str = Field(
        "https://api.postmarkapp.com",
        description="Postmark's API base URL (the message goes to its /email)",
    )
    postmark_stream_transactional: str = Field(
        "outbound", description="Postmark message stream of transactional scenarios' emails"
    )
    postmark_stream_marketing: str = Field(
        "broadcast", description="Postmark message stream (a broadcast one) of marketing emails"
    )
    sendgrid_api_key: SecretStr | None = Field(
        None, description="SendGrid API key (Bearer; Mail Send permission)"
    )
    sendgrid_api_key_file: Path | None = Field(
        None, description="File holding the SendGrid API key, instead of RELANCE_SENDGRID_API_KEY"
    )
    sendgrid_url: str = Field(
        "https://api.sendgrid.com",
        description="SendGrid's API base URL (the message goes to its /v3/mail/send)",
    )
    esp_timeout: float = Field(
        30.0,
        gt=0,
        description="Longest wait for an ESP's answer to "
        "one message, seconds; a timeout is a temporary failure",
    )
    sms_url: str | None = Field(
        None,
        description="SMS gateway endpoint (HTTP POST of JSON "
        "{id, to, from, text}); sms scenarios fail without it",
    )
    sms_token: SecretStr | None = Field(None, description="Bearer token for the SMS gateway")
    sms_token_file: Path | None = Field(
        None, description="File holding the SMS gateway's token, instead of RELANCE_SMS_TOKEN"
    )
    sms_from: str | None = Field(None, description="Sender id or number of SMS messages")
    mail_from: str = Field("relance <noreply@localhost>", description="From address of emails")
    template_dir: Path | None = Field(
        None, description="Folder whose templates override the shipped ones"
    )
    gateway_url: str | None = Field(
        None,
        description="Public base URL of relance gateway "
        "(https://links.shop.example): the unsubscribe, "
        "preference and click links of emails point there. The "
        "sender refuses to start without it (and "
        "RELANCE_LINK_KEYS) when a marketing email scenario is on",
    )
    link_keys: SecretStr | None = Field(
        None,
        description="Keys that sign those links, "
        "id:secret,id2:secret2 (secrets of 16 characters or "
        "more): the first signs, every one listed verifies",
    )
    link_keys_file: Path | None = Field(
        None,
        description="File holding the link keys (a mounted secret), instead of RELANCE_LINK_KEYS",
    )
    link_max_age_unsubscribe: float = Field(
        31_536_000.0,
        gt=0,
        description="How long an unsubscribe link works after its "
        "message was decided, seconds (365 d); an older one gets a page saying so",
    )
    link_max_age_preferences: float = Field(
        31_536_000.0, gt=0, description="How long a preference link works, seconds (365 d)"
    )
    link_max_age_click: float = Field(
        7_776_000.0, gt=0, description="How long a tracked link to the shop works, seconds (90 d)"
    )
    gateway_clicks: bool = Field(
        False,
        description="The gateway records a click event for "
        "each tracked link followed; off, it only redirects",
    )
    postmark_webhook_auth: SecretStr | None = Field(
        None,
        description="user:password of HTTP Basic auth that Postmark's webhook URL "
        "carries (https://user:password@links.shop.example/webhooks/postmark); the gateway "
        "serves that webhook only when it is set",
    )
    postmark_webhook_auth_file: Path | None = Field(
        None, description="File holding those credentials, instead of RELANCE_POSTMARK_WEBHOOK_AUTH"
    )
    sendgrid_webhook_key: str | None = Field(
        None,
        description="The Verification Key of SendGrid's Signed Event Webhook (base64, "
        "as its Mail Settings show it, or PEM): the gateway serves /webhooks/sendgrid only "
        "when it is set, and checks every request's signature with it",
    )
    sendgrid_webhook_key_file: Path | None = Field(
        None, description="File holding that key, instead of RELANCE_SENDGRID_WEBHOOK_KEY"
    )
    unsubscribe_mailto: str | None = Field(
        None,
        description="A mailbox for List-Unsubscribe's "
        "mailto: form (unsubscribe@shop.example), beside the "
        "one-click link; unset: the link alone",
    )
    retry_backoff: float = Field(
        1.0,
        gt=0,
        description="Wait after a command's first "
        "temporary delivery failure (SMTP, ESP or SMS), seconds; "
        "doubles with each further one up to "
        "RELANCE_RETRY_BACKOFF_MAX, each wait drawn between half and "
        "all of it",
    )
    retry_backoff_max: float = Field(
        300.0,
        gt=0,
        description="Longest wait between two "
        "attempts at a command, seconds; an ESP's longer "
        "Retry-After is waited out",
    )
    delivery_horizon: float = Field(
        86400.0,
        gt=0,
        description="How long after its decision "
        "a command may still be delivered, seconds: temporary "
        "failures are retried until then (or until the scenario's "
        "stale_after, if sooner), then it ends expired",
    )
    ledger_retention: float = Field(
        691200.0,
        gt=0,
        description="How long the sender's "
        "ledger remembers a handled command id, seconds (8 d); "
        "raised to the delivery topic's retention.ms + 1 d when "
        "that is longer; must exceed RELANCE_DELIVERY_HORIZON",
    )

    web_port: int = Field(6066, description="HTTP port of the worker: /metrics, /healthz, /readyz")
    sender_web_port: int = Field(
        6067, description="HTTP port of the sender: /metrics, /healthz, /readyz"
    )
    gateway_web_port: int = Field(
        6068, description="HTTP port of the gateway: its links' pages, /metrics, /healthz, /readyz"
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="text, or json: one "
        "object a line with topic, partition, offset "
        "and contact_id when a line is about a message",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="debug, info, warning or error"
    )
    session_timeout: float = Field(10.0, description="Consumer group session timeout, seconds")
    commit_interval: float = Field(
        1.0,
        description="How often the worker and the sender "
        "commit input offsets, seconds (the worker writes its "
        "changed states to the changelog just before)",
    )
    max_clock_skew: float = Field(
        3600.0,
        gt=0,
        description="Most seconds an event's "
        "occurred_at may be ahead of the wall clock; a later one is "
        "dead-lettered (bad_value)",
    )
    tick_interval: float = Field(
        0.05,
        gt=0,
        description="Longest wait for input before due deadlines are looked for, seconds",
    )
    batch_size: int = Field(
        5000,
        ge=1,
        description="Most input messages the worker applies between two sends and commits",
    )
    producer_message_max_bytes: int = Field(
        1_000_000,
        ge=1000,
        le=1_000_000_000,
        description="Largest record the worker and the "
        "sender write (librdkafka's message.max.bytes); a larger one stops the process, naming "
        "topic, partition and size. The topics' max.message.bytes must allow as much",
    )
    merge_max_waiting: int = Field(
        20_000,
        ge=1,
        description="Messages waiting in a "
        "partition's event-time merge (for an input that is behind) "
        "at which the inputs that have messages waiting are paused; "
        "resumed below half of it. It can be passed by one batch per "
        "input",
    )

    # librdkafka properties from RELANCE_KAFKA_* (load_settings): not fields, so that no
    # variable of pydantic's own naming (RELANCE_KAFKA_PROPERTIES as JSON) can set them.
    _kafka: Mapping[str, KafkaProperty] = PrivateAttr(default_factory=dict)

    @property
    def kafka(self) -> Mapping[str, KafkaProperty]:
        """The librdkafka properties given through ``RELANCE_KAFKA_*``, by property name."""
        return self._kafka

    def kafka_properties(self) -> dict[str, str]:
        """Those properties as a client configuration."""
        return {name: prop.value for name, prop in self._kafka.items()}

    def secrets(self) -> list[str]:
        """Every secret value, for the log filter that masks them."""
        found = [prop.value for prop in self._kafka.values() if prop.secret]
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                found.append(value.get_secret_value())
        if self.schema_registry_url:
            password = urllib.parse.urlsplit(self.schema_registry_url).password
            found += [password] if password else []
        return [value for value in found if value]


# RELANCE_TEST_* variables are not settings: the test suite reads them (RELANCE_TEST_BOOTSTRAP,
# RELANCE_TEST_BROKER, RELANCE_TEST_WHEEL ...), and the processes it starts inherit them.
TEST_PREFIX: Final = "RELANCE_TEST_"


# Variables that are gone, and what replaced them: set, they would be silently ignored.
REMOVED: Final = {
    "RELANCE_SMTP_MAX_ATTEMPTS": "temporary failures are retried until a command expires "
    "(RELANCE_DELIVERY_HORIZON, the scenario's stale_after)",
    "RELANCE_SMTP_BACKOFF": "the first wait is RELANCE_RETRY_BACKOFF, for SMTP and SMS alike",
    "RELANCE_DATA_DIR": "nothing is kept on disk (states and the ledger live in memory, "
    "rebuilt from their changelog topics); remove it and the volume",
    "RELANCE_PRODUCER_MAX_BATCH_SIZE": "it sized faust's producer, which never ran; the "
    "worker and the sender write with confluent-kafka",
}


def load_settings(**overrides: Any) -> Settings:
    """Read the environment; a bad value, or a variable that is no setting, fails at start
    naming the variable."""
    problems = [
        ConfigProblem("environment", None, name, f"no longer a setting: {instead}")
        for name, instead in REMOVED.items()
        if name in os.environ
    ]
    problems += _unknown(os.environ)
    kafka, unread_kafka = kafka_from(os.environ)
    problems += unread_kafka
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems += [
            ConfigProblem("environment", None, _variable_of(error["loc"]), error["msg"])
            for error in exc.errors()
        ]
    else:
        settings, unread = _secrets_read(settings)
        settings._kafka = kafka
        problems += unread or _inconsistent(settings)
    if problems:
        raise ConfigError(problems)
    return settings


def _variable_of(location: tuple[int | str, ...]) -> str:
    """The variable a validation error is about (pydantic gives the alias it read, if any)."""
    name = ".".join(str(p) for p in location)
    if name.upper().startswith(("RELANCE_", "SCHEMA_REGISTRY_")):
        return name.upper()
    return env_name(name) if name in Settings.model_fields else "RELANCE_" + name.upper()


def setting_variables() -> frozenset[str]:
    """Every variable that sets a setting (the ``RELANCE_KAFKA_*`` family aside)."""
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(env_name(name))
        if isinstance(field.validation_alias, AliasChoices):
            names |= {c for c in field.validation_alias.choices if isinstance(c, str)}
    return frozenset(names)


def _unknown(environ: Mapping[str, str]) -> list[ConfigProblem]:
    """``RELANCE_*`` variables that set nothing: a typo would otherwise be ignored."""
    known = setting_variables() | REMOVED.keys()
    suffixes = {
        name.removeprefix("RELANCE_"): name for name in known if name.startswith("RELANCE_")
    }
    found = []
    for variable in sorted(environ):
        upper = variable.upper()
        if (
            not upper.startswith("RELANCE_")
            or upper in known
            or upper.startswith((KAFKA_PREFIX, TEST_PREFIX))
        ):
            continue
        close = difflib.get_close_matches(upper.removeprefix("RELANCE_"), suffixes, n=1)
        hint = f" (did you mean {suffixes[close[0]]}?)" if close else ""
        found.append(ConfigProblem("environment", None, variable, f"unknown setting{hint}"))
    return found


def kafka_from(environ: Mapping[str, str]) -> tuple[dict[str, KafkaProperty], list[ConfigProblem]]:
    """The librdkafka properties of the ``RELANCE_KAFKA_*`` variables: underscores become
    dots, ``..._FILE`` reads the value from that file (stripped, as a mounted secret ends
    with a newline). What cannot be used is a problem naming its variable."""
    found: dict[str, KafkaProperty] = {}
    problems = []
    for variable in sorted(environ):
        if not variable.upper().startswith(KAFKA_PREFIX):
            continue
        rest = variable.upper().removeprefix(KAFKA_PREFIX)
        from_file = rest.endswith("_FILE")
        name = rest.removesuffix("_FILE").lower().replace("_", ".")
        problem = _kafka_problem(name, variable, found)
        if problem is None and from_file:
            value, problem = _secret_file(Path(environ[variable]))
        else:
            value = environ[variable].strip()
        if problem is not None:
            problems.append(ConfigProblem("environment", None, variable, problem))
            continue
        secret = from_file or bool(_SECRET_PROPERTY.search(name))
        found[name] = KafkaProperty(variable, value, secret)
    return found, problems


def _kafka_problem(name: str, variable: str, found: Mapping[str, KafkaProperty]) -> str | None:
    if not name:
        return (
            "names no librdkafka property (RELANCE_KAFKA_<PROPERTY>, e.g. "
            "RELANCE_KAFKA_SECURITY_PROTOCOL)"
        )
    if name in RESERVED_PROPERTIES:
        return f"{name} is set by relance: {RESERVED_PROPERTIES[name]}"
    if name in found:
        return f"{found[name].variable} is set too: set one of them"
    return None


def _secret_file(path: Path) -> tuple[str, str | None]:
    """The stripped content of ``path``, or what is wrong with it."""
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        return "", f"cannot read {path}: {exc}"
    return value, None if value else f"{path} is empty"


# Secrets that may come from a file, as Kubernetes and Docker mount them: the setting, and
# the one naming its file.
SECRET_FILES: Final = {
    "smtp_password": "smtp_password_file",
    "sms_token": "sms_token_file",
    "postmark_token": "postmark_token_file",
    "sendgrid_api_key": "sendgrid_api_key_file",
    "schema_registry_basic_auth_user_info": "schema_registry_basic_auth_user_info_file",
    "link_keys": "link_keys_file",
    "postmark_webhook_auth": "postmark_webhook_auth_file",
    "sendgrid_webhook_key": "sendgrid_webhook_key_file",
}
# Of those, the ones that are no secret (a public key), kept as plain text.
PLAIN_FILES: Final = frozenset({"sendgrid_webhook_key"})


def _secrets_read(settings: Settings) -> tuple[Settings, list[ConfigProblem]]:
    """``settings`` with each secret given as a file read from it (surrounding whitespace,
    such as the newline an editor leaves, stripped), and what went wrong doing so."""
    found: dict[str, SecretStr | str] = {}
    problems = []
    for secret, file_field in SECRET_FILES.items():
        path = getattr(settings, file_field)
        if path is None:
            continue
        variable = env_name(file_field)
        if getattr(settings, secret) is not None:
            problems.append(
                ConfigProblem(
                    "environment", None, variable, f"{env_name(secret)} is set too: set one of them"
                )
            )
            continue
        value, problem = _secret_file(Path(path))
        if problem is not None:
            problems.append(ConfigProblem("environment", None, variable, problem))
            continue
        found[secret] = value if secret in PLAIN_FILES else SecretStr(value)
    return settings.model_copy(update=found), problems


def _links(settings: Settings) -> list[ConfigProblem]:
    """The gateway's URL and the link keys, each checked alone."""
    found = []
    url = settings.gateway_url
    if url is not None and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", url):
        found.append(
            ConfigProblem(
                "environment",
                None,
                "RELANCE_GATEWAY_URL",
                f"{url!r} is not an http(s) URL without query or fragment",
            )
        )
    if settings.link_keys is not None:
        try:
            parse_keys(settings.link_keys.get_secret_value())
        except ValueError as exc:  # it names the key by id, never the secret
            found.append(ConfigProblem("environment", None, "RELANCE_LINK_KEYS", str(exc)))
    auth = settings.postmark_webhook_auth
    if auth is not None:
        user, colon, password = auth.get_secret_value().partition(":")
        if not (user and colon and password):
            found.append(
                ConfigProblem(
                    "environment",
                    None,
                    "RELANCE_POSTMARK_WEBHOOK_AUTH",
                    "is not user:password (both non-empty)",
                )
            )
    mailbox = settings.unsubscribe_mailto
    if mailbox is not None and email_problem(mailbox) is not None:
        found.append(
            ConfigProblem(
                "environment",
                None,
                "RELANCE_UNSUBSCRIBE_MAILTO",
                f"is not an email address: {email_problem(mailbox)}",
            )
        )
    return found


def _inconsistent(settings: Settings) -> list[ConfigProblem]:
    """Settings each valid alone that do not go together."""
    found = _links(settings)
    if settings.retry_backoff > settings.retry_backoff_max:
        found.append(
            ConfigProblem(
                "environment",
                None,
                "RELANCE_RETRY_BACKOFF",
                f"{settings.retry_backoff:g} s is longer than RELANCE_RETRY_BACKOFF_MAX "
                f"({settings.retry_backoff_max:g} s)",
            )
        )
    if settings.ledger_retention <= settings.delivery_horizon:
        # A command is never sent past its horizon: an id forgotten after it cannot be sent
        # again, one forgotten before it could.
        found.append(
            ConfigProblem(
                "environment",
                None,
                "RELANCE_LEDGER_RETENTION",
                f"{settings.ledger_retention:g} s must be longer than RELANCE_DELIVERY_HORIZON "
                f"({settings.delivery_horizon:g} s), or a command redelivered after its id was "
                "forgotten could be sent twice",
            )
        )
    return found + _esp_problems(settings) + _cluster_problems(settings)


def _cluster_problems(settings: Settings) -> list[ConfigProblem]:
    """Replication settings that cannot hold, a registry given credentials twice."""
    found = []
    replication, minimum = settings.replication_factor, settings.min_insync_replicas
    if replication == 0:
        found.append(
            ConfigProblem(
                "environment",
                None,
                "RELANCE_REPLICATION_FACTOR",
                "0 replicas: give 1 or more, or -1 for the broker's default",
            )
        )
    elif minimum is not None and replication > 0 and minimum > replication:
        # acks=all would then refuse every write.
        found.append(
            ConfigProblem(
                "environment",
                None,
                "RELANCE_MIN_INSYNC_REPLICAS",
                f"{minimum} is more than RELANCE_REPLICATION_FACTOR ({replication}): every "
                "write would be refused",
            )
        )
    url = settings.schema_registry_url
    if (
        settings.schema_registry_basic_auth_user_info is not None
        and url
        and urllib.parse.urlsplit(url).username
    ):
        found.append(
            ConfigProblem(
                "environment",
                None,
                "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO",
                "SCHEMA_REGISTRY_URL carries credentials too: give them in one place",
            )
        )
    return found


def _esp_problems(settings: Settings) -> list[ConfigProblem]:
    """An ESP chosen without its key, or a base URL that is not one."""
    found = []
    secret = {"postmark": "postmark_token", "sendgrid": "sendgrid_api_key"}.get(
        settings.email_provider
    )
    if secret is not None and getattr(settings, secret) is None:
        found.append(
            ConfigProblem(
                "environment",
                None,
                env_name(secret),
                f"RELANCE_EMAIL_PROVIDER is {settings.email_provider}: set {env_name(secret)} "
                f"or {env_name(SECRET_FILES[secret])}",
            )
        )
    for name in ("postmark_url", "sendgrid_url"):
        parts = urllib.parse.urlsplit(getattr(settings, name))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            found.append(
                ConfigProblem(
                    "environment",
                    None,
                    env_name(name),
                    f"{getattr(settings, name)!r} is not an http(s) URL",
                )
            )
    return found


def env_name(field: str) -> str:
    """The variable that sets ``field``."""
    if field.startswith("schema_registry_"):
        return field.upper()
    return "RELANCE_" + field.upper()


def _default(value: object) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`" if str(value) else "(empty)"


def reference() -> str:
    """Every setting as a Markdown table: variable, default, meaning (the copy in
    docs/settings.md is checked against this by a test)."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        meaning = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{env_name(name)}` | {_default(field.default)} | {meaning} |")
    rows.append(f"| `{KAFKA_PREFIX}<PROPERTY>` | (unset) | {KAFKA_FAMILY} |")
    return "\n".join(rows)


KAFKA_FAMILY: Final = (
    "A librdkafka property for every Kafka client (consumers, producers, admin), the name "
    "upper-cased with dots as underscores: RELANCE_KAFKA_SECURITY_PROTOCOL=SASL_SSL, "
    "RELANCE_KAFKA_SASL_MECHANISMS, RELANCE_KAFKA_SSL_CA_LOCATION ...; "
    "RELANCE_KAFKA_<PROPERTY>_FILE reads the value from a file. Secrets are masked in logs "
    "(see docs/connect.md)"
)
