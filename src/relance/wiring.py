"""Wiring: settings in, ready processes out (a loop and what it serves around it, for
``relance.host`` to run). The one place parts are put together."""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry

from relance.brand import Brand
from relance.codec.outputs import AvroOutputCodec, JsonOutputCodec, OutputCodec
from relance.codec.registry import RegistryEventCodec, RegistryOutputCodec, SchemaRegistry
from relance.codec.wire import EventCodec, event_codec
from relance.core.catalog import Catalog
from relance.core.commands import Deferral, Outcome, SendCommand
from relance.core.events import FAMILIES, Engagement, Event, EventType
from relance.core.scenarios import Config, InputRules
from relance.errors import ConfigError, ConfigProblem
from relance.gateway.answers import Gateway
from relance.gateway.links import ROUTES
from relance.gateway.pages import Shop
from relance.host.process import Page, Process
from relance.kafka import clients as kafka
from relance.kafka.acked import AckedWriter
from relance.kafka.changelog import Changelog
from relance.kafka.outputs import Outputs
from relance.kafka.topics import TopicSpec
from relance.metrics import GatewayMetrics, Metrics
from relance.providers.base import Provider
from relance.providers.esp import EspProvider
from relance.providers.postmark import Postmark
from relance.providers.sendgrid import SendGrid
from relance.providers.sms import HttpSmsProvider
from relance.providers.smtp import SmtpProvider
from relance.sender.backoff import Backoff
from relance.sender.catalog_follower import catalog_follower
from relance.sender.delivery import Delivery
from relance.sender.ledger import Ledger
from relance.sender.links import LinkSigner
from relance.sender.loop import ResultSink, SenderLoop
from relance.sender.outage import Outages
from relance.sender.render import Renderer
from relance.settings import Settings
from relance.tokens import parse_keys
from relance.tracking.sources import adapter_for
from relance.worker.build import build_loop, changelog_topic, inputs_of, wall_clock_ms
from relance.worker.identities import IdentityStage, Target
from relance.worker.relay import SourceRelay

log = logging.getLogger(__name__)


def output_codec(settings: Settings) -> OutputCodec:
    if settings.output_format == "json":
        return JsonOutputCodec()
    if settings.schema_registry_url:
        return RegistryOutputCodec(settings.schema_registry_url, settings.topic_deliveries,
                                   settings.topic_results)
    return AvroOutputCodec()


def input_codecs(settings: Settings, rules: InputRules) -> dict[str, EventCodec]:
    """Per input topic, the codec of its format, keeping ``rules`` (the scenario file's)."""
    registry = (SchemaRegistry(settings.schema_registry_url) if settings.schema_registry_url
                else None)
    codecs: dict[str, EventCodec] = {}
    for topic, _ in inputs_of(settings).topics:
        framed = (RegistryEventCodec(registry, topic, rules=rules) if registry is not None
                  else None)
        codecs[topic] = event_codec(settings.input_format, framed, rules=rules)
    return codecs


def input_decoder(settings: Settings, rules: InputRules,
                  codecs: dict[str, EventCodec] | None = None) -> Any:
    """The decoder of every input topic (``codecs``: by default ``input_codecs``)."""
    codecs = codecs or input_codecs(settings, rules)
    by_type = {event_type: codecs[topic] for topic, event_type in inputs_of(settings).topics}

    def decode(raw: bytes, event_type: EventType) -> Event:
        return by_type[event_type].decode(raw, event_type)

    return decode


class MetricsObserver:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def consumed(self, topic: str, count: int = 1) -> None:
        self.metrics.events_consumed.labels(topic).inc(count)

    def applied(self) -> None:
        self.metrics.events_applied.inc()

    def duplicate(self, topic: str, count: int = 1) -> None:
        self.metrics.duplicate_events.labels(topic).inc(count)

    def rejected(self, topic: str, reason: str) -> None:
        self.metrics.events_rejected.labels(topic, reason).inc()

    def source_event(self, topic: str, outcome: str) -> None:
        self.metrics.source_events.labels(topic, outcome).inc()

    def visitors(self, count: int) -> None:
        self.metrics.anonymous_visitors.set(count)

    def decided(self, outcome: Outcome, wall_now_ms: int) -> None:
        if isinstance(outcome, SendCommand):
            self.metrics.commands_decided.labels(outcome.scenario).inc()
            lag = max(0.0, (wall_now_ms - outcome.decided_at) / 1000)
            self.metrics.deadline_to_command.labels(outcome.scenario).observe(lag)
        elif isinstance(outcome, Deferral):
            self.metrics.deferrals.labels(outcome.scenario, outcome.reason).inc()
        else:
            self.metrics.suppressions.labels(outcome.scenario, outcome.reason).inc()

    def pending(self, deadlines: int) -> None:
        self.metrics.deadlines_pending.set(deadlines)

    def assigned(self, partitions: int) -> None:
        self.metrics.partitions_assigned.set(partitions)

    def recovered(self, seconds: float) -> None:
        self.metrics.state_recovery.set(seconds)

    def lag(self, topic: str, messages: int) -> None:
        self.metrics.consumer_lag.labels(topic).set(messages)

    def delivered(self, channel: str, outcome: str, latency: float | None) -> None:
        self.metrics.deliveries.labels(channel, outcome).inc()
        if latency is not None:
            self.metrics.command_to_delivery.labels(channel).observe(latency)

    def attempted(self, channel: str, result: str) -> None:
        self.metrics.delivery_attempts.labels(channel, result).inc()


def worker_process(settings: Settings, config: Config, registry: CollectorRegistry) -> Process:
    observer = MetricsObserver(Metrics.create(registry))
    outputs = Outputs(kafka.producer(settings), output_codec(settings),
                      deliveries=settings.topic_deliveries, dlq=settings.topic_dlq,
                      decisions=settings.topic_decisions or None, clock=wall_clock_ms)
    codecs = input_codecs(settings, config.inputs)
    loop = build_loop(settings, config, decode=input_decoder(settings, config.inputs, codecs),
                      outputs=outputs,
                      observer=observer)
    relay = source_relay(settings, config, observer, codecs)
    parts: list[Callable[[threading.Event], None]] = [loop.run]
    if relay is not None:
        parts.append(relay.run)

    def problems() -> list[str]:
        return loop.problems() + (relay.problems() if relay is not None else [])

    async def run(stopping: threading.Event) -> None:
        await together(parts, stopping)

    return Process(f"{settings.app_id}-worker-app", settings.web_port, run, problems,
                   registry, observer.metrics.ready)


async def together(parts: list[Callable[[threading.Event], None]],
                   stopping: threading.Event) -> None:
    """Run each part in a thread of its own until ``stopping``; the first to fail stops the
    others (which settle and commit what they did), then its error is raised."""
    async def one(part: Callable[[threading.Event], None]) -> None:
        try:
            await asyncio.to_thread(part, stopping)
        except BaseException:
            stopping.set()
            raise

    for outcome in await asyncio.gather(*map(one, parts), return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome


def _source_problems(settings: Settings, config: Config) -> list[ConfigProblem]:
    """A source topic must be none of the topics relance reads or writes itself: the relay
    would read what it wrote."""
    own = {*inputs_of(settings).names, settings.topic_catalog, settings.topic_deliveries,
           settings.topic_decisions, settings.topic_dlq, settings.topic_results,
           changelog_topic(settings), identity_topic(settings),
           f"{identity_topic(settings)}-changelog"}
    file = str(settings.scenarios or "(the built-in scenarios)")
    return [ConfigProblem(file, None, f"inputs.sources.{source.name}",
                          "is one of relance's own topics (RELANCE_TOPIC_*): a source is a "
                          "topic of another tracking's events")
            for source in config.inputs.sources if source.name in own]


def source_relay(settings: Settings, config: Config, observer: MetricsObserver,
                 codecs: dict[str, EventCodec]) -> SourceRelay | None:
    """The relay of the scenario file's sources into the input topics, if it has any."""
    sources = config.inputs.sources
    if not sources:
        return None
    problems = _source_problems(settings, config)
    if problems:
        raise ConfigError(problems)
    for source in sources:
        kafka.ensure_topic(settings, TopicSpec(source.name, settings.partitions), exact=False)
    targets = {event_type: (topic, codecs[topic].encode)
               for topic, event_type in inputs_of(settings).topics}
    outputs = Outputs(kafka.producer(settings), output_codec(settings),
                      deliveries=settings.topic_deliveries, dlq=settings.topic_dlq,
                      clock=wall_clock_ms)
    log.info("relaying sources %s into the input topics",
             ", ".join(f"{s.name} ({s.format})" for s in sources))
    return SourceRelay({s.name: adapter_for(s, config.inputs) for s in sources}, targets,
                       outputs, lambda: kafka.consumer(settings, f"{settings.app_id}-sources"),
                       observer, batch_size=settings.batch_size, wait=settings.tick_interval,
                       commit_interval=settings.commit_interval,
                       identity=identity_stage(settings, config, outputs, targets, observer))


def identity_topic(settings: Settings) -> str:
    return f"{settings.app_id}-identities"


def identity_stage(settings: Settings, config: Config, outputs: Outputs,
                   targets: Mapping[EventType, Target], observer: MetricsObserver
                   ) -> IdentityStage | None:
    """The relay's stage of anonymous visitors, if the scenario file keeps their events:
    its topic keyed by anonymous id and its changelog, partitioned as the inputs."""
    if not config.inputs.anonymous_window_ms:
        return None
    topic = identity_topic(settings)
    kafka.ensure_topic(settings, TopicSpec(topic, settings.partitions))
    changelog = Changelog(settings, f"{topic}-changelog")
    changelog.ensure()
    return IdentityStage(topic, changelog, config.inputs, outputs, targets,
                         observer.source_event)


def smtp_provider(settings: Settings, tls_context: ssl.SSLContext | None = None) -> SmtpProvider:
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpProvider(settings.smtp_host, settings.smtp_port, username=settings.smtp_username,
                        password=password, starttls=settings.smtp_starttls,
                        use_tls=settings.smtp_tls, tls_context=tls_context)


def email_provider(settings: Settings) -> Provider:
    """The email provider RELANCE_EMAIL_PROVIDER names (load_settings checked its key)."""
    if settings.email_provider == "postmark":
        assert settings.postmark_token is not None
        postmark = Postmark(settings.postmark_token.get_secret_value(),
                            transactional_stream=settings.postmark_stream_transactional,
                            marketing_stream=settings.postmark_stream_marketing)
        return EspProvider(postmark, settings.postmark_url, timeout=settings.esp_timeout)
    if settings.email_provider == "sendgrid":
        assert settings.sendgrid_api_key is not None
        return EspProvider(SendGrid(settings.sendgrid_api_key.get_secret_value()),
                           settings.sendgrid_url, timeout=settings.esp_timeout)
    return smtp_provider(settings)


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def sms_provider(settings: Settings) -> HttpSmsProvider | None:
    if not settings.sms_url:
        return None
    token = settings.sms_token.get_secret_value() if settings.sms_token else None
    return HttpSmsProvider(settings.sms_url, token=token, sender=settings.sms_from)


DAY_MS = 24 * 3600 * 1000


def ledger_retention_ms(setting_ms: int, topic_retention_ms: int | None) -> int:
    """How long the ledger remembers an id: the setting, raised to the delivery topic's
    retention plus a day when the topic keeps commands longer, so that a redelivered command
    is always found. A topic kept forever (-1) or of unknown retention leaves the setting:
    past it a redelivered command is past its delivery horizon too, recorded ``expired``."""
    if topic_retention_ms is None or topic_retention_ms < 0:
        return setting_ms
    return max(setting_ms, topic_retention_ms + DAY_MS)


def provider_names(settings: Settings) -> dict[str, str]:
    """How /readyz names each channel's provider: where it is, never a credential."""
    sms = f"SMS gateway {_origin(settings.sms_url)}" if settings.sms_url else "not configured"
    email = {"postmark": f"Postmark API {_origin(settings.postmark_url)}",
             "sendgrid": f"SendGrid API {_origin(settings.sendgrid_url)}"}.get(
        settings.email_provider, f"SMTP relay {settings.smtp_host}:{settings.smtp_port}")
    return {"email": email, "sms": sms}


def _ledger(settings: Settings, outputs: Outputs) -> Ledger:
    changelog = Changelog(settings, f"{settings.app_id}-sender-delivery-ledger-changelog")
    changelog.ensure()
    setting = int(settings.ledger_retention * 1000)
    topic = kafka.retention_ms(settings, settings.topic_deliveries)
    retention = ledger_retention_ms(setting, topic)
    if retention > setting:
        log.warning("%s keeps commands %.1f d (retention.ms=%d): the delivery ledger remembers "
                    "ids %.1f d instead of RELANCE_LEDGER_RETENTION's %.1f d",
                    settings.topic_deliveries, topic / DAY_MS if topic else 0, topic or 0,
                    retention / DAY_MS, setting / DAY_MS)
    elif topic is not None and topic < 0:
        log.warning("%s keeps commands forever (retention.ms=-1): a command redelivered more "
                    "than %.1f d after it was handled is recorded expired (past its delivery "
                    "horizon), not duplicate", settings.topic_deliveries, setting / DAY_MS)
    return Ledger(changelog, outputs, retention_ms=retention)


def link_signer(settings: Settings) -> LinkSigner | None:
    """Where the links of emails point and the key that signs them, if both are set."""
    if not settings.gateway_url or settings.link_keys is None:
        return None
    return LinkSigner(settings.gateway_url, parse_keys(settings.link_keys.get_secret_value())[0])


def renderer(settings: Settings, brand: Brand) -> Renderer:
    return Renderer(settings.template_dir, brand=brand, gateway=link_signer(settings),
                    mailbox=settings.unsubscribe_mailto)


def sender_process(settings: Settings, registry: CollectorRegistry, rules: InputRules,
                   transactional: frozenset[str] = frozenset(),
                   brand: Brand | None = None) -> Process:
    """``rules``: the scenario file's, which the sender's copy of the catalog keeps too;
    ``transactional``: its transactional scenarios (the others' emails are marketing);
    ``brand``: its brand section, the emails' footer and links."""
    observer = MetricsObserver(Metrics.create(registry))
    codec = output_codec(settings)
    catalog = Catalog() if settings.topic_catalog else None
    kafka.ensure_topic(settings, TopicSpec(settings.topic_deliveries, settings.partitions))
    for name in (settings.topic_results, settings.topic_dlq):
        kafka.ensure_topic(settings, TopicSpec(name, settings.partitions), exact=False)
    outputs = Outputs(kafka.producer(settings), codec, deliveries=settings.topic_deliveries,
                      dlq=settings.topic_dlq, clock=wall_clock_ms)
    ledger = _ledger(settings, outputs)
    outages = Outages(provider_names(settings), wall_clock_ms)
    for channel in ("email", "sms"):
        observer.metrics.oldest_undelivered.labels(channel).set_function(
            functools.partial(outages.age, channel))
    sink = ResultSink(outputs, codec, results=settings.topic_results,
                      rejected=observer.rejected)

    async def flush() -> None:
        await asyncio.to_thread(outputs.wait)

    provider = email_provider(settings)
    log.info("emails go to the %s", provider_names(settings)["email"])
    delivery = Delivery(renderer=renderer(settings, brand or Brand()),
                        provider=provider, sender=settings.mail_from,
                        sms=sms_provider(settings), catalog=catalog,
                        report=sink.result, flush=flush, clock=wall_clock_ms,
                        observe=observer.delivered, attempted=observer.attempted,
                        outages=outages,
                        backoff=Backoff(settings.retry_backoff, settings.retry_backoff_max),
                        horizon_ms=int(settings.delivery_horizon * 1000),
                        transactional=transactional)
    loop = SenderLoop(topic=settings.topic_deliveries, codec=codec, delivery=delivery,
                      sink=sink, ledger=ledger, metrics=observer.metrics,
                      commit_interval=settings.commit_interval, clock=wall_clock_ms,
                      new_consumer=lambda: kafka.consumer(settings, f"{settings.app_id}-sender"))
    follower = None
    if catalog is not None:
        follower = catalog_follower(settings, catalog, rules)
        follower.start()  # read up before the sender starts sending
        if not follower.topics.found:
            log.warning("no catalog topic %s: sends are not re-checked", settings.topic_catalog)

    def problems() -> list[str]:
        # A provider that keeps failing the command in hand too.
        return loop.problems() + outages.problems()

    async def run(stopping: threading.Event) -> None:
        try:
            await loop.run(stopping)
        finally:
            await provider.close()  # an ESP's HTTP session

    return Process(f"{settings.app_id}-sender", settings.sender_web_port, run, problems,
                   registry, observer.metrics.ready,
                   stops=(follower.stop,) if follower is not None else ())



def offered_families(config: Config) -> dict[str, tuple[str, ...]]:
    """Per channel, the families of the scenario file's marketing scenarios there, which
    the preference page offers (in ``FAMILIES`` order)."""
    used: dict[str, set[str]] = {}
    for scenario in config.scenarios:
        if scenario.family in FAMILIES:
            used.setdefault(scenario.channel, set()).add(scenario.family)
    return {channel: tuple(f for f in FAMILIES if f in found) for channel, found in used.items()}


def gateway_process(settings: Settings, config: Config, registry: CollectorRegistry) -> Process:
    """``relance gateway``: the links' pages on the gateway's port, writing to the
    engagement topic in the inputs' format."""
    if settings.link_keys is None:
        raise ConfigError([ConfigProblem("environment", None, "RELANCE_LINK_KEYS",
                                         "the gateway needs the keys that sign the links "
                                         "(or RELANCE_LINK_KEYS_FILE)")])
    metrics = GatewayMetrics.create(registry)
    registry_codec = (RegistryEventCodec(settings.schema_registry_url,
                                         settings.topic_engagement, rules=config.inputs)
                      if settings.schema_registry_url else None)
    codec = event_codec(settings.input_format, registry_codec, rules=config.inputs)
    writer = AckedWriter(kafka.producer(settings))

    async def write(event: Engagement, timeout: float) -> None:
        # A registry's first answer (the schema's id) is an HTTP call: off the event loop.
        value = (await asyncio.to_thread(codec.encode, event) if registry_codec is not None
                 else codec.encode(event))
        await writer.write(settings.topic_engagement, event.contact_id.encode(), value,
                           timeout)

    gateway = Gateway(
        keys=parse_keys(settings.link_keys.get_secret_value()),
        max_age={"unsubscribe": int(settings.link_max_age_unsubscribe),
                 "preferences": int(settings.link_max_age_preferences),
                 "click": int(settings.link_max_age_click)},
        shop=Shop.of(getattr(config, "brand", None)), families=offered_families(config),
        write=write, clock=wall_clock_ms, metrics=metrics, clicks=settings.gateway_clicks)
    # Under the path of the public URL: a proxy passes the path on as it is.
    prefix = urllib.parse.urlsplit(settings.gateway_url or "").path.rstrip("/")
    pages = tuple(Page(f"{prefix}/{route}/{{token}}",
                       frozenset({"GET"} if route == "c" else {"GET", "POST"}),
                       functools.partial(gateway.answer, route)) for route in ROUTES)

    async def run(stopping: threading.Event) -> None:
        await asyncio.to_thread(writer.serve, stopping)

    return Process(f"{settings.app_id}-gateway", settings.gateway_web_port, run, list,
                   registry, metrics.ready, pages=pages)
