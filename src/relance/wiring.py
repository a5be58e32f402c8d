"""Wiring: settings in, ready processes out (a loop and what it serves around it, for
``relance.host`` to run). The one place parts are put together."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
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
from relance.core.commands import Attribution, Deferral, Outcome, SendCommand
from relance.core.events import FAMILIES, Engagement, Event, EventType
from relance.core.experiments import CONTROL
from relance.core.scenarios import Config, InputRules
from relance.errors import ConfigError, ConfigProblem
from relance.gateway.answers import Gateway, Writer
from relance.gateway.links import ROUTES
from relance.gateway.pages import Shop
from relance.gateway.signatures import credentials, public_key
from relance.gateway.webhooks import MAX_BODY, PATHS, Webhooks
from relance.host.process import Page, Process
from relance.kafka import clients as kafka
from relance.kafka import topics
from relance.kafka.acked import AckedWriter
from relance.kafka.changelog import Changelog
from relance.kafka.outputs import FAILURES_ONLY, Outputs
from relance.kafka.reachability import Reachability
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
# A currency as a metric label: an ISO 4217 code; anything else is counted as "other", so
# that what a shop sends cannot grow the label set.
_CURRENCY = re.compile(r"[A-Z]{3}")


def schema_registry(settings: Settings) -> SchemaRegistry | None:
    """Our view of the schema registry, its client from the one factory (auth, TLS)."""
    client = kafka.schema_registry(settings)
    return SchemaRegistry(client) if client is not None else None


def output_codec(settings: Settings) -> OutputCodec:
    if settings.output_format == "json":
        return JsonOutputCodec()
    registry = schema_registry(settings)
    if registry is not None:
        return RegistryOutputCodec(registry, settings.topic_deliveries, settings.topic_results)
    return AvroOutputCodec()


def input_codecs(settings: Settings, rules: InputRules) -> dict[str, EventCodec]:
    """Per input topic, the codec of its format, keeping ``rules`` (the scenario file's)."""
    registry = schema_registry(settings)
    codecs: dict[str, EventCodec] = {}
    for topic, _ in inputs_of(settings).topics:
        framed = RegistryEventCodec(registry, topic, rules=rules) if registry is not None else None
        codecs[topic] = event_codec(settings.input_format, framed, rules=rules)
    return codecs


def input_decoder(
    settings: Settings, rules: InputRules, codecs: dict[str, EventCodec] | None = None
) -> Any:
    """The decoder of every input topic (``codecs``: by default ``input_codecs``)."""
    codecs = codecs or input_codecs(settings, rules)
    by_type = {event_type: codecs[topic] for topic, event_type in inputs_of(settings).topics}

    def decode(raw: bytes, event_type: EventType) -> Event:
        return by_type[event_type].decode(raw, event_type)

    return decode


class MetricsObserver:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._commands: dict[str, tuple[Any, Any]] = {}  # scenario -> its two series
        self._sends: dict[tuple[str, str], Any] = {}  # (scenario, variant) -> its series

    def consumed(self, topic: str, count: int = 1) -> None:
        self.metrics.events_consumed.labels(topic).inc(count)

    def applied(self, count: int = 1) -> None:
        self.metrics.events_applied.inc(count)

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
            series = self._commands.get(outcome.scenario)
            if series is None:  # labels() costs a lock and a tuple: once per scenario
                series = self._commands[outcome.scenario] = (
                    self.metrics.commands_decided.labels(outcome.scenario),
                    self.metrics.deadline_to_command.labels(outcome.scenario),
                )
            series[0].inc()
            series[1].observe(max(0.0, (wall_now_ms - outcome.decided_at) / 1000))
            if outcome.marketing:
                labels = (outcome.scenario, outcome.variant or "none")
                sends = self._sends.get(labels)
                if sends is None:  # as above: labels() once per scenario and variant
                    sends = self._sends[labels] = self.metrics.conversions.sends.labels(*labels)
                sends.inc()
        elif isinstance(outcome, Attribution):
            self.attributed(outcome)
        elif isinstance(outcome, Deferral):
            self.metrics.deferrals.labels(outcome.scenario, outcome.reason).inc()
        else:
            self.metrics.suppressions.labels(outcome.scenario, outcome.reason).inc()

    def expect(self, config: Config) -> None:
        """Every sends and conversions series of the file's marketing scenarios at 0, so
        that rates and ratios over them are right from their first order (a series that
        appears at 1 has, to Prometheus, not grown)."""
        conversions = self.metrics.conversions
        for scenario in config.scenarios:
            if not scenario.is_marketing:
                continue
            experiment = scenario.experiment
            variants = (
                ["none"]
                if experiment is None
                else [v.name for v in experiment.variants] or [CONTROL.name]
            )
            for variant in variants:
                conversions.sends.labels(scenario.name, variant)
                conversions.conversions.labels(scenario.name, variant)
            if experiment is not None and experiment.holdout_percent > 0:
                conversions.holdout_conversions.labels(scenario.name)
                self.metrics.suppressions.labels(scenario.name, "holdout")

    def attributed(self, outcome: Attribution) -> None:
        conversions = self.metrics.conversions
        currency = outcome.currency if _CURRENCY.fullmatch(outcome.currency) else "other"
        if outcome.holdout:
            conversions.holdout_conversions.labels(outcome.scenario).inc()
            conversions.holdout_revenue.labels(outcome.scenario, currency).inc(outcome.revenue)
        else:
            variant = outcome.variant or "none"
            conversions.conversions.labels(outcome.scenario, variant).inc()
            conversions.revenue.labels(outcome.scenario, variant, currency).inc(outcome.revenue)

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


NOT_STARTED = "not started: the topics are checked once the broker answers"


class Started:
    """What a process built once its dependencies answered: until then, ``problems``."""

    def __init__(self) -> None:
        self.problems: Callable[[], list[str]] = lambda: [NOT_STARTED]


def worker_process(settings: Settings, config: Config, registry: CollectorRegistry) -> Process:
    """The worker: it waits for the broker (and the registry), then checks its topics and
    builds and runs its loop."""
    observer = MetricsObserver(Metrics.create(registry))
    observer.expect(config)
    wrong = _source_problems(settings, config)
    if wrong:
        raise ConfigError(wrong)
    probe = Reachability(settings)
    started = Started()

    def build() -> list[Callable[[threading.Event], None]]:
        outputs = Outputs(
            kafka.producer(settings, **FAILURES_ONLY),
            output_codec(settings),
            deliveries=settings.topic_deliveries,
            dlq=settings.topic_dlq,
            decisions=settings.topic_decisions or None,
            clock=wall_clock_ms,
        )
        codecs = input_codecs(settings, config.inputs)
        loop = build_loop(
            settings,
            config,
            decode=input_decoder(settings, config.inputs, codecs),
            outputs=outputs,
            observer=observer,
        )
        relay = source_relay(settings, config, observer, codecs)
        started.problems = lambda: loop.problems() + (relay.problems() if relay is not None else [])
        return [loop.run] if relay is None else [loop.run, relay.run]

    async def run(stopping: threading.Event) -> None:
        if not await asyncio.to_thread(probe.wait, stopping):
            return  # stopped while waiting
        parts = await asyncio.to_thread(build)
        await together(parts, stopping)

    return Process(
        f"{settings.app_id}-worker-app",
        settings.web_port,
        run,
        lambda: started.problems(),
        registry,
        observer.metrics.ready,
        probe,
    )


async def together(
    parts: list[Callable[[threading.Event], None]], stopping: threading.Event
) -> None:
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
    own = {
        *inputs_of(settings).names,
        settings.topic_catalog,
        settings.topic_deliveries,
        settings.topic_decisions,
        settings.topic_dlq,
        settings.topic_results,
        changelog_topic(settings),
        identity_topic(settings),
        f"{identity_topic(settings)}-changelog",
    }
    file = str(settings.scenarios or "(the built-in scenarios)")
    return [
        ConfigProblem(
            file,
            None,
            f"inputs.sources.{source.name}",
            "is one of relance's own topics (RELANCE_TOPIC_*): a source is a "
            "topic of another tracking's events",
        )
        for source in config.inputs.sources
        if source.name in own
    ]


def source_relay(
    settings: Settings, config: Config, observer: MetricsObserver, codecs: dict[str, EventCodec]
) -> SourceRelay | None:
    """The relay of the scenario file's sources into the input topics, if it has any."""
    sources = config.inputs.sources
    if not sources:
        return None
    kafka.ensure_topics(
        settings,
        [
            topics.of_scenario_file(
                settings, source.name, f"source: {source.format} events", exact=False
            )
            for source in sources
        ],
    )
    targets = {
        event_type: (topic, codecs[topic].encode)
        for topic, event_type in inputs_of(settings).topics
    }
    outputs = Outputs(
        kafka.producer(settings, **FAILURES_ONLY),
        output_codec(settings),
        deliveries=settings.topic_deliveries,
        dlq=settings.topic_dlq,
        clock=wall_clock_ms,
    )
    log.info(
        "relaying sources %s into the input topics",
        ", ".join(f"{s.name} ({s.format})" for s in sources),
    )
    return SourceRelay(
        {s.name: adapter_for(s, config.inputs) for s in sources},
        targets,
        outputs,
        lambda: kafka.consumer(settings, f"{settings.app_id}-sources"),
        observer,
        batch_size=settings.batch_size,
        wait=settings.tick_interval,
        commit_interval=settings.commit_interval,
        identity=identity_stage(settings, config, outputs, targets, observer),
    )


def identity_topic(settings: Settings) -> str:
    return f"{settings.app_id}-identities"


def identity_stage(
    settings: Settings,
    config: Config,
    outputs: Outputs,
    targets: Mapping[EventType, Target],
    observer: MetricsObserver,
) -> IdentityStage | None:
    """The relay's stage of anonymous visitors, if the scenario file keeps their events:
    its topic keyed by anonymous id and its changelog, partitioned as the inputs."""
    if not config.inputs.anonymous_window_ms:
        return None
    topic = identity_topic(settings)
    kafka.ensure_topics(
        settings,
        [
            topics.of_scenario_file(settings, topic, "anonymous visitors' events, by anonymous id"),
            topics.of_scenario_file(
                settings, f"{topic}-changelog", "the identity stage's visitors", compacted=True
            ),
        ],
    )
    changelog = Changelog(settings, f"{topic}-changelog")
    return IdentityStage(topic, changelog, config.inputs, outputs, targets, observer.source_event)


def smtp_provider(settings: Settings, tls_context: ssl.SSLContext | None = None) -> SmtpProvider:
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpProvider(
        settings.smtp_host,
        settings.smtp_port,
        username=settings.smtp_username,
        password=password,
        starttls=settings.smtp_starttls,
        use_tls=settings.smtp_tls,
        tls_context=tls_context,
    )


def email_provider(settings: Settings) -> Provider:
    """The email provider RELANCE_EMAIL_PROVIDER names (load_settings checked its key)."""
    if settings.email_provider == "postmark":
        assert settings.postmark_token is not None
        postmark = Postmark(
            settings.postmark_token.get_secret_value(),
            transactional_stream=settings.postmark_stream_transactional,
            marketing_stream=settings.postmark_stream_marketing,
        )
        return EspProvider(postmark, settings.postmark_url, timeout=settings.esp_timeout)
    if settings.email_provider == "sendgrid":
        assert settings.sendgrid_api_key is not None
        return EspProvider(
            SendGrid(settings.sendgrid_api_key.get_secret_value()),
            settings.sendgrid_url,
            timeout=settings.esp_timeout,
        )
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
    email = {
        "postmark": f"Postmark API {_origin(settings.postmark_url)}",
        "sendgrid": f"SendGrid API {_origin(settings.sendgrid_url)}",
    }.get(settings.email_provider, f"SMTP relay {settings.smtp_host}:{settings.smtp_port}")
    return {"email": email, "sms": sms}


def _ledger(settings: Settings, outputs: Outputs) -> Ledger:
    changelog = Changelog(settings, topics.ledger_changelog(settings))
    setting = int(settings.ledger_retention * 1000)
    topic = kafka.retention_ms(settings, settings.topic_deliveries)
    retention = ledger_retention_ms(setting, topic)
    if retention > setting:
        log.warning(
            "%s keeps commands %.1f d (retention.ms=%d): the delivery ledger remembers "
            "ids %.1f d instead of RELANCE_LEDGER_RETENTION's %.1f d",
            settings.topic_deliveries,
            topic / DAY_MS if topic else 0,
            topic or 0,
            retention / DAY_MS,
            setting / DAY_MS,
        )
    elif topic is not None and topic < 0:
        log.warning(
            "%s keeps commands forever (retention.ms=-1): a command redelivered more "
            "than %.1f d after it was handled is recorded expired (past its delivery "
            "horizon), not duplicate",
            settings.topic_deliveries,
            setting / DAY_MS,
        )
    return Ledger(changelog, outputs, retention_ms=retention)


def link_signer(settings: Settings) -> LinkSigner | None:
    """Where the links of emails point and the key that signs them, if both are set."""
    if not settings.gateway_url or settings.link_keys is None:
        return None
    return LinkSigner(settings.gateway_url, parse_keys(settings.link_keys.get_secret_value())[0])


def renderer(settings: Settings, brand: Brand) -> Renderer:
    return Renderer(
        settings.template_dir,
        brand=brand,
        gateway=link_signer(settings),
        mailbox=settings.unsubscribe_mailto,
    )


class _Sending:
    """The sender's parts that need the broker, built once it answers."""

    def __init__(
        self,
        settings: Settings,
        observer: MetricsObserver,
        rules: InputRules,
        delivery: Callable[[ResultSink, Outputs, Catalog | None], Delivery],
    ) -> None:
        codec = output_codec(settings)
        catalog = Catalog() if settings.topic_catalog else None
        kafka.ensure_topics(settings, topics.used_by(settings, topics.SENDER))
        outputs = Outputs(
            kafka.producer(settings, **FAILURES_ONLY),
            codec,
            deliveries=settings.topic_deliveries,
            dlq=settings.topic_dlq,
            clock=wall_clock_ms,
        )
        ledger = _ledger(settings, outputs)
        sink = ResultSink(
            outputs, codec, results=settings.topic_results, rejected=observer.rejected
        )
        self.loop = SenderLoop(
            topic=settings.topic_deliveries,
            codec=codec,
            delivery=delivery(sink, outputs, catalog),
            sink=sink,
            ledger=ledger,
            metrics=observer.metrics,
            commit_interval=settings.commit_interval,
            clock=wall_clock_ms,
            new_consumer=lambda: kafka.consumer(settings, f"{settings.app_id}-sender"),
        )
        self.follower = None
        if catalog is not None:
            self.follower = catalog_follower(settings, catalog, rules)
            self.follower.start()  # read up before the sender starts sending
            if not self.follower.topics.found:
                log.warning("no catalog topic %s: sends are not re-checked", settings.topic_catalog)

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop()


def sender_process(
    settings: Settings,
    registry: CollectorRegistry,
    rules: InputRules,
    transactional: frozenset[str] = frozenset(),
    brand: Brand | None = None,
) -> Process:
    """``rules``: the scenario file's, which the sender's copy of the catalog keeps too;
    ``transactional``: its transactional scenarios (the others' emails are marketing);
    ``brand``: its brand section, the emails' footer and links. It waits for the broker (and
    the registry), then checks its topics and builds its loop."""
    observer = MetricsObserver(Metrics.create(registry))
    probe = Reachability(settings)
    outages = Outages(provider_names(settings), wall_clock_ms)
    for channel in ("email", "sms"):
        observer.metrics.oldest_undelivered.labels(channel).set_function(
            functools.partial(outages.age, channel)
        )
    provider = email_provider(settings)
    log.info("emails go to the %s", provider_names(settings)["email"])
    delivery = _deliveries(settings, provider, observer, outages, transactional, brand or Brand())
    built: list[_Sending] = []

    def problems() -> list[str]:
        # A provider that keeps failing the command in hand too.
        if not built:
            return [NOT_STARTED]
        return built[0].loop.problems() + outages.problems()

    async def run(stopping: threading.Event) -> None:
        try:
            if not await asyncio.to_thread(probe.wait, stopping):
                return  # stopped while waiting
            built.append(await asyncio.to_thread(_Sending, settings, observer, rules, delivery))
            await built[0].loop.run(stopping)
        finally:
            await provider.close()  # an ESP's HTTP session

    def stop() -> None:
        if built:
            built[0].stop()

    return Process(
        f"{settings.app_id}-sender",
        settings.sender_web_port,
        run,
        problems,
        registry,
        observer.metrics.ready,
        probe,
        stops=(stop,),
    )


def _deliveries(
    settings: Settings,
    provider: Provider,
    observer: MetricsObserver,
    outages: Outages,
    transactional: frozenset[str],
    brand: Brand,
) -> Callable[[ResultSink, Outputs, Catalog | None], Delivery]:
    """How the sender's loop makes its delivery once its outputs and catalog exist."""

    def delivery(sink: ResultSink, outputs: Outputs, catalog: Catalog | None) -> Delivery:
        async def flush() -> None:
            await asyncio.to_thread(outputs.wait)

        return Delivery(
            renderer=renderer(settings, brand),
            provider=provider,
            sender=settings.mail_from,
            sms=sms_provider(settings),
            catalog=catalog,
            report=sink.result,
            flush=flush,
            clock=wall_clock_ms,
            observe=observer.delivered,
            attempted=observer.attempted,
            outages=outages,
            backoff=Backoff(settings.retry_backoff, settings.retry_backoff_max),
            horizon_ms=int(settings.delivery_horizon * 1000),
            transactional=transactional,
        )

    return delivery


def offered_families(config: Config) -> dict[str, tuple[str, ...]]:
    """Per channel, the families of the scenario file's marketing scenarios there, which
    the preference page offers (in ``FAMILIES`` order)."""
    used: dict[str, set[str]] = {}
    for scenario in config.scenarios:
        if scenario.family in FAMILIES:
            used.setdefault(scenario.channel, set()).add(scenario.family)
    return {channel: tuple(f for f in FAMILIES if f in found) for channel, found in used.items()}


def esp_webhooks(settings: Settings, write: Writer, metrics: GatewayMetrics) -> Webhooks:
    """The ESP webhooks of the gateway, each on when its credential is set."""
    key = None
    if settings.sendgrid_webhook_key is not None:
        try:
            key = public_key(settings.sendgrid_webhook_key)
        except ValueError as exc:
            raise ConfigError(
                [ConfigProblem("environment", None, "RELANCE_SENDGRID_WEBHOOK_KEY", str(exc))]
            ) from None
    auth = settings.postmark_webhook_auth
    return Webhooks(
        postmark_auth=credentials(auth.get_secret_value()) if auth else None,
        sendgrid_key=key,
        write=write,
        clock=wall_clock_ms,
        metrics=metrics,
    )


def _engagement_writer(settings: Settings, config: Config, writer: AckedWriter) -> Writer:
    """What the gateway's answers write with: an engagement event to its topic, in the
    inputs' format, acknowledged."""
    schemas = schema_registry(settings)
    registry_codec = (
        RegistryEventCodec(schemas, settings.topic_engagement, rules=config.inputs)
        if schemas is not None
        else None
    )
    codec = event_codec(settings.input_format, registry_codec, rules=config.inputs)

    async def write(event: Engagement, timeout: float) -> None:
        # A registry's first answer (the schema's id) is an HTTP call: off the event loop.
        value = (
            await asyncio.to_thread(codec.encode, event)
            if registry_codec is not None
            else codec.encode(event)
        )
        await writer.write(settings.topic_engagement, event.contact_id.encode(), value, timeout)

    return write


def _gateway_pages(settings: Settings, gateway: Gateway, webhooks: Webhooks) -> tuple[Page, ...]:
    """The links' routes and the ESPs' webhooks served, under the public URL's path."""
    # Under the path of the public URL: a proxy passes the path on as it is.
    prefix = urllib.parse.urlsplit(settings.gateway_url or "").path.rstrip("/")
    pages = tuple(
        Page(
            f"{prefix}/{route}/{{token}}",
            frozenset({"GET"} if route == "c" else {"GET", "POST"}),
            functools.partial(gateway.answer, route),
        )
        for route in ROUTES
    )
    pages += tuple(
        Page(f"{prefix}{PATHS[esp]}", frozenset({"POST"}), getattr(webhooks, esp), MAX_BODY)
        for esp in webhooks.served
    )
    return pages


def gateway_process(settings: Settings, config: Config, registry: CollectorRegistry) -> Process:
    """``relance gateway``: the links' pages on the gateway's port, writing to the
    engagement topic in the inputs' format. Its pages answer while the broker does not (an
    answer that cannot be written says so); /readyz names what does not answer."""
    if settings.link_keys is None:
        raise ConfigError(
            [
                ConfigProblem(
                    "environment",
                    None,
                    "RELANCE_LINK_KEYS",
                    "the gateway needs the keys that sign the links (or RELANCE_LINK_KEYS_FILE)",
                )
            ]
        )
    metrics = GatewayMetrics.create(registry)
    writer = AckedWriter(kafka.producer(settings))
    write = _engagement_writer(settings, config, writer)
    gateway = Gateway(
        keys=parse_keys(settings.link_keys.get_secret_value()),
        max_age={
            "unsubscribe": int(settings.link_max_age_unsubscribe),
            "preferences": int(settings.link_max_age_preferences),
            "click": int(settings.link_max_age_click),
        },
        shop=Shop.of(getattr(config, "brand", None)),
        families=offered_families(config),
        write=write,
        clock=wall_clock_ms,
        metrics=metrics,
        clicks=settings.gateway_clicks,
    )
    pages = _gateway_pages(settings, gateway, esp_webhooks(settings, write, metrics))

    async def run(stopping: threading.Event) -> None:
        await asyncio.to_thread(writer.serve, stopping)

    return Process(
        f"{settings.app_id}-gateway",
        settings.gateway_web_port,
        run,
        list,
        registry,
        metrics.ready,
        Reachability(settings),
        pages=pages,
    )
