"""The one place that reads the environment: every setting, its default and its meaning.

Variables are prefixed ``RELANCE_`` (``RELANCE_BROKER``, ``RELANCE_SMTP_HOST`` ...), except
``SCHEMA_REGISTRY_URL``, which keeps the name the Confluent tools use.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from relance.codec.addresses import email_problem
from relance.codec.wire import Format
from relance.errors import ConfigError, ConfigProblem
from relance.tokens import parse_keys


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RELANCE_", frozen=True, extra="forbid")

    broker: str = Field("kafka://localhost:9092", description="Kafka bootstrap server(s), "
                        "e.g. kafka://k1:9092;k2:9092 or k1:9092,k2:9092")
    app_id: str = Field("relance", description="Consumer group and table namespace prefix")
    instance_id: str | None = Field(None, description="Static group membership id of a worker "
                                    "(its pod name in a StatefulSet): a restart within the "
                                    "session timeout keeps its partitions, no rebalance")
    scenarios: Path | None = Field(None, description="Scenario configuration (YAML); built-in "
                                   "defaults when unset")
    partitions: int = Field(8, ge=1, description="Partitions of the input topics; all inputs "
                            "must have this many and be keyed by contact id with one partitioner")

    topic_page_views: str = Field("page-views", description="Input: page views")
    topic_carts: str = Field("carts", description="Input: cart changes")
    topic_orders: str = Field("orders", description="Input: orders")
    topic_contacts: str = Field("contacts", description="Input: contact profiles (compacted)")
    topic_engagement: str = Field("engagement", description="Input: unsubscribes, hard "
                                  "bounces, spam complaints, opens and clicks, keyed by contact")
    topic_catalog: str = Field("catalog", description="Input: product updates keyed by "
                               "product id, read whole by every worker; empty for none")
    topic_deliveries: str = Field("relance-deliveries", description="Output: send commands")
    topic_decisions: str = Field("relance-decisions", description="Output: every decision, "
                                 "sent or suppressed with its reason (JSON); empty for none")
    topic_dlq: str = Field("relance-dlq", description="Output: rejected messages with reasons")
    topic_results: str = Field("relance-delivery-results",
                               description="Output: one record per attempt that failed "
                               "temporarily and one per command's final outcome")
    input_format: Format = Field("auto", description="Format of the input topics: avro, "
                                     "json, or auto (JSON if a message starts with '{')")
    output_format: Literal["avro", "json"] = Field("avro", description="Format of the output "
                                                   "topics")
    schema_registry_url: str | None = Field(
        None, validation_alias=AliasChoices("SCHEMA_REGISTRY_URL", "RELANCE_SCHEMA_REGISTRY_URL"),
        description="Confluent Schema Registry; Confluent wire format when set, plain Avro "
        "otherwise")

    email_provider: Literal["smtp", "postmark", "sendgrid"] = Field(
        "smtp", description="Where emails go: smtp (the RELANCE_SMTP_* relay), postmark or "
        "sendgrid (their HTTP APIs, see docs/esp.md)")
    smtp_host: str = Field("localhost", description="SMTP relay host")
    smtp_port: int = Field(25, description="SMTP relay port")
    smtp_username: str | None = Field(None, description="SMTP AUTH user")
    smtp_password: SecretStr | None = Field(None, description="SMTP AUTH password")
    smtp_password_file: Path | None = Field(None, description="File holding the SMTP AUTH "
                                            "password (a mounted secret), instead of "
                                            "RELANCE_SMTP_PASSWORD")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS")
    smtp_tls: bool = Field(False, description="Connect with implicit TLS (port 465)")
    postmark_token: SecretStr | None = Field(None, description="Postmark server API token "
                                             "(X-Postmark-Server-Token)")
    postmark_token_file: Path | None = Field(None, description="File holding the Postmark "
                                             "server token, instead of RELANCE_POSTMARK_TOKEN")
    postmark_url: str = Field("https://api.postmarkapp.com", description="Postmark's API "
                              "base URL (the message goes to its /email)")
    postmark_stream_transactional: str = Field("outbound", description="Postmark message "
                                               "stream of transactional scenarios' emails")
    postmark_stream_marketing: str = Field("broadcast", description="Postmark message stream "
                                           "(a broadcast one) of marketing emails")
    sendgrid_api_key: SecretStr | None = Field(None, description="SendGrid API key (Bearer; "
                                               "Mail Send permission)")
    sendgrid_api_key_file: Path | None = Field(None, description="File holding the SendGrid "
                                               "API key, instead of RELANCE_SENDGRID_API_KEY")
    sendgrid_url: str = Field("https://api.sendgrid.com", description="SendGrid's API base "
                              "URL (the message goes to its /v3/mail/send)")
    esp_timeout: float = Field(30.0, gt=0, description="Longest wait for an ESP's answer to "
                               "one message, seconds; a timeout is a temporary failure")
    sms_url: str | None = Field(None, description="SMS gateway endpoint (HTTP POST of JSON "
                                "{id, to, from, text}); sms scenarios fail without it")
    sms_token: SecretStr | None = Field(None, description="Bearer token for the SMS gateway")
    sms_token_file: Path | None = Field(None, description="File holding the SMS gateway's "
                                        "token, instead of RELANCE_SMS_TOKEN")
    sms_from: str | None = Field(None, description="Sender id or number of SMS messages")
    mail_from: str = Field("relance <noreply@localhost>", description="From address of emails")
    template_dir: Path | None = Field(None, description="Folder whose templates override the "
                                      "shipped ones")
    gateway_url: str | None = Field(None, description="Public base URL of relance gateway "
                                    "(https://links.shop.example): the unsubscribe, "
                                    "preference and click links of emails point there. The "
                                    "sender refuses to start without it (and "
                                    "RELANCE_LINK_KEYS) when a marketing email scenario is on")
    link_keys: SecretStr | None = Field(None, description="Keys that sign those links, "
                                        "id:secret,id2:secret2 (secrets of 16 characters or "
                                        "more): the first signs, every one listed verifies")
    link_keys_file: Path | None = Field(None, description="File holding the link keys (a "
                                        "mounted secret), instead of RELANCE_LINK_KEYS")
    link_max_age_unsubscribe: float = Field(
        31_536_000.0, gt=0, description="How long an unsubscribe link works after its "
        "message was decided, seconds (365 d); an older one gets a page saying so")
    link_max_age_preferences: float = Field(31_536_000.0, gt=0, description="How long a "
                                            "preference link works, seconds (365 d)")
    link_max_age_click: float = Field(7_776_000.0, gt=0, description="How long a tracked "
                                      "link to the shop works, seconds (90 d)")
    gateway_clicks: bool = Field(False, description="The gateway records a click event for "
                                 "each tracked link followed; off, it only redirects")
    unsubscribe_mailto: str | None = Field(None, description="A mailbox for List-Unsubscribe's "
                                           "mailto: form (unsubscribe@shop.example), beside the "
                                           "one-click link; unset: the link alone")
    retry_backoff: float = Field(1.0, gt=0, description="Wait after a command's first "
                                 "temporary delivery failure (SMTP, ESP or SMS), seconds; "
                                 "doubles with each further one up to "
                                 "RELANCE_RETRY_BACKOFF_MAX, each wait drawn between half and "
                                 "all of it")
    retry_backoff_max: float = Field(300.0, gt=0, description="Longest wait between two "
                                     "attempts at a command, seconds; an ESP's longer "
                                     "Retry-After is waited out")
    delivery_horizon: float = Field(86400.0, gt=0, description="How long after its decision "
                                    "a command may still be delivered, seconds: temporary "
                                    "failures are retried until then (or until the scenario's "
                                    "stale_after, if sooner), then it ends expired")
    ledger_retention: float = Field(691200.0, gt=0, description="How long the sender's "
                                    "ledger remembers a handled command id, seconds (8 d); "
                                    "raised to the delivery topic's retention.ms + 1 d when "
                                    "that is longer; must exceed RELANCE_DELIVERY_HORIZON")

    web_port: int = Field(6066, description="HTTP port of the worker: /metrics, /healthz, "
                          "/readyz")
    sender_web_port: int = Field(6067, description="HTTP port of the sender: /metrics, "
                                 "/healthz, /readyz")
    gateway_web_port: int = Field(6068, description="HTTP port of the gateway: its links' "
                                  "pages, /metrics, /healthz, /readyz")
    log_format: Literal["text", "json"] = Field("text", description="text, or json: one "
                                                "object a line with topic, partition, offset "
                                                "and contact_id when a line is about a message")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="debug, info, warning or error")
    session_timeout: float = Field(10.0, description="Consumer group session timeout, seconds")
    commit_interval: float = Field(1.0, description="Offset commit interval, seconds")
    max_clock_skew: float = Field(3600.0, gt=0, description="Most seconds an event's "
                                  "occurred_at may be ahead of the wall clock; a later one is "
                                  "dead-lettered (bad_value)")
    tick_interval: float = Field(0.05, gt=0, description="Longest wait for input before due "
                                 "deadlines are looked for, seconds")
    batch_size: int = Field(5000, ge=1, description="Most input messages the worker applies "
                            "between two sends and commits")
    producer_message_max_bytes: int = Field(
        1_000_000, ge=1000, le=1_000_000_000, description="Largest record the worker and the "
        "sender write (librdkafka's message.max.bytes); a larger one stops the process, naming "
        "topic, partition and size. The topics' max.message.bytes must allow as much")
    merge_max_waiting: int = Field(20_000, ge=1, description="Messages waiting in a "
                                   "partition's event-time merge (for an input that is behind) "
                                   "at which the inputs that have messages waiting are paused; "
                                   "resumed below half of it. It can be passed by one batch per "
                                   "input")


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
    """Read the environment; a bad value fails at start naming the variable."""
    problems = [ConfigProblem("environment", None, name, f"no longer a setting: {instead}")
                for name, instead in REMOVED.items() if name in os.environ]
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems += [ConfigProblem("environment", None,
                                   "RELANCE_" + ".".join(str(p) for p in error["loc"]).upper(),
                                   error["msg"]) for error in exc.errors()]
    else:
        settings, unread = _secrets_read(settings)
        problems += unread or _inconsistent(settings)
    if problems:
        raise ConfigError(problems)
    return settings


# Secrets that may come from a file, as Kubernetes and Docker mount them: the setting, and
# the one naming its file.
SECRET_FILES: Final = {"smtp_password": "smtp_password_file", "sms_token": "sms_token_file",
                       "postmark_token": "postmark_token_file",
                       "sendgrid_api_key": "sendgrid_api_key_file",
                       "link_keys": "link_keys_file"}


def _secrets_read(settings: Settings) -> tuple[Settings, list[ConfigProblem]]:
    """``settings`` with each secret given as a file read from it (surrounding whitespace,
    such as the newline an editor leaves, stripped), and what went wrong doing so."""
    found: dict[str, SecretStr] = {}
    problems = []
    for secret, file_field in SECRET_FILES.items():
        path = getattr(settings, file_field)
        if path is None:
            continue
        variable = env_name(file_field)
        if getattr(settings, secret) is not None:
            problems.append(ConfigProblem("environment", None, variable,
                                          f"{env_name(secret)} is set too: set one of them"))
            continue
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(ConfigProblem("environment", None, variable,
                                          f"cannot read {path}: {exc}"))
            continue
        if not value:
            problems.append(ConfigProblem("environment", None, variable, f"{path} is empty"))
            continue
        found[secret] = SecretStr(value)
    return settings.model_copy(update=found), problems


def _links(settings: Settings) -> list[ConfigProblem]:
    """The gateway's URL and the link keys, each checked alone."""
    found = []
    url = settings.gateway_url
    if url is not None and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", url):
        found.append(ConfigProblem("environment", None, "RELANCE_GATEWAY_URL",
                                   f"{url!r} is not an http(s) URL without query or fragment"))
    if settings.link_keys is not None:
        try:
            parse_keys(settings.link_keys.get_secret_value())
        except ValueError as exc:  # it names the key by id, never the secret
            found.append(ConfigProblem("environment", None, "RELANCE_LINK_KEYS", str(exc)))
    mailbox = settings.unsubscribe_mailto
    if mailbox is not None and email_problem(mailbox) is not None:
        found.append(ConfigProblem("environment", None, "RELANCE_UNSUBSCRIBE_MAILTO",
                                   f"is not an email address: {email_problem(mailbox)}"))
    return found


def _inconsistent(settings: Settings) -> list[ConfigProblem]:
    """Settings each valid alone that do not go together."""
    found = _links(settings)
    if settings.retry_backoff > settings.retry_backoff_max:
        found.append(ConfigProblem(
            "environment", None, "RELANCE_RETRY_BACKOFF",
            f"{settings.retry_backoff:g} s is longer than RELANCE_RETRY_BACKOFF_MAX "
            f"({settings.retry_backoff_max:g} s)"))
    if settings.ledger_retention <= settings.delivery_horizon:
        # A command is never sent past its horizon: an id forgotten after it cannot be sent
        # again, one forgotten before it could.
        found.append(ConfigProblem(
            "environment", None, "RELANCE_LEDGER_RETENTION",
            f"{settings.ledger_retention:g} s must be longer than RELANCE_DELIVERY_HORIZON "
            f"({settings.delivery_horizon:g} s), or a command redelivered after its id was "
            "forgotten could be sent twice"))
    return found + _esp_problems(settings)


def _esp_problems(settings: Settings) -> list[ConfigProblem]:
    """An ESP chosen without its key, or a base URL that is not one."""
    found = []
    secret = {"postmark": "postmark_token", "sendgrid": "sendgrid_api_key"}.get(
        settings.email_provider)
    if secret is not None and getattr(settings, secret) is None:
        found.append(ConfigProblem(
            "environment", None, env_name(secret),
            f"RELANCE_EMAIL_PROVIDER is {settings.email_provider}: set {env_name(secret)} "
            f"or {env_name(SECRET_FILES[secret])}"))
    for name in ("postmark_url", "sendgrid_url"):
        parts = urllib.parse.urlsplit(getattr(settings, name))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            found.append(ConfigProblem("environment", None, env_name(name),
                                       f"{getattr(settings, name)!r} is not an http(s) URL"))
    return found


def env_name(field: str) -> str:
    """The variable that sets ``field``."""
    if field == "schema_registry_url":
        return "SCHEMA_REGISTRY_URL"
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
    return "\n".join(rows)
