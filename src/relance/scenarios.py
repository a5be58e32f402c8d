"""Scenario configuration: YAML in, a frozen validated ``Config`` out.

Errors name the file, the line and the key, and every problem in the file is reported at once.
A scenario missing from a file is off; a key missing from a scenario takes its built-in default.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Literal

import yaml

from relance.errors import ConfigError, ConfigProblem
from relance.timestamps import DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS

ScenarioName = Literal["cart_abandonment", "browse_abandonment"]
Channel = Literal["email"]
SCENARIO_NAMES: Final = frozenset(ScenarioName.__args__)  # type: ignore[attr-defined]

_UNITS: Final = {"ms": 1, "s": SECOND_MS, "m": MINUTE_MS, "h": HOUR_MS, "d": DAY_MS,
                 "w": 7 * DAY_MS}
_DURATION: Final = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_TEMPLATE_NAME: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclass(frozen=True, slots=True)
class Scenario:
    name: ScenarioName
    delay_ms: int
    quiet_period_ms: int
    priority: int
    channel: Channel
    template: str
    transactional: bool = False


@dataclass(frozen=True, slots=True)
class Config:
    cart_abandonment: Scenario | None
    browse_abandonment: Scenario | None

    def enabled(self) -> Iterator[Scenario]:
        for scenario in (self.cart_abandonment, self.browse_abandonment):
            if scenario is not None:
                yield scenario

    def get(self, name: str) -> Scenario | None:
        return getattr(self, name) if name in SCENARIO_NAMES else None

    def with_delays(self, delay_ms: int) -> Config:
        """The same configuration with every delay replaced (the demo's short delays)."""
        return Config(*(None if s is None else replace(s, delay_ms=delay_ms)
                        for s in (self.cart_abandonment, self.browse_abandonment)))


DEFAULT_CONFIG: Final = Config(
    cart_abandonment=Scenario("cart_abandonment", HOUR_MS, 24 * HOUR_MS, 100, "email",
                              "cart_abandonment"),
    browse_abandonment=Scenario("browse_abandonment", HOUR_MS, 24 * HOUR_MS, 50, "email",
                                "browse_abandonment"),
)
_DEFAULTS: Final[dict[str, Scenario]] = {s.name: s for s in DEFAULT_CONFIG.enabled()}


def parse_duration(text: str) -> int:
    """``30m``, ``1h``, ``2d``, ``1h30m`` to milliseconds."""
    text = text.strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a duration (write e.g. 30m, 1h, 2d or 1h30m)")
    return sum(int(number) * _UNITS[unit] for number, unit in parts)


class _Reader:
    """Walks YAML nodes so every problem keeps its line."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[ConfigProblem] = []

    def problem(self, node: yaml.Node | None, key: str | None, text: str) -> None:
        line = None if node is None else node.start_mark.line + 1
        self.problems.append(ConfigProblem(self.file, line, key, text))

    def mapping(self, node: yaml.Node, key: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, key, "must be a mapping")
            return {}
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            name = str(key_node.value)
            if name in entries:
                self.problem(key_node, f"{key}.{name}" if key else name, "is given twice")
            entries[name] = (key_node, value_node)
        return entries

    def scalar(self, node: yaml.Node, key: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, key, "must be a single value")
            return None
        return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


def _scenario(reader: _Reader, name: ScenarioName, node: yaml.Node) -> Scenario | None:
    base = _DEFAULTS[name]
    fields: dict[str, Any] = {}
    enabled = True
    for key, (key_node, value_node) in reader.mapping(node, f"scenarios.{name}").items():
        where = f"scenarios.{name}.{key}"
        value = reader.scalar(value_node, where)
        if value is None and isinstance(value_node, yaml.ScalarNode):
            reader.problem(value_node, where, "needs a value")
            continue
        if key in ("delay", "quiet_period"):
            try:
                fields[f"{key}_ms"] = parse_duration(str(value))
            except ValueError as exc:
                reader.problem(value_node, where, str(exc))
        elif key == "priority":
            if type(value) is not int:
                reader.problem(value_node, where, f"must be a whole number, not {value!r}")
            fields["priority"] = value
        elif key == "channel":
            if value != "email":
                reader.problem(value_node, where, f"channel {value!r} is not supported (email)")
        elif key == "template":
            if not isinstance(value, str) or not _TEMPLATE_NAME.fullmatch(value):
                reader.problem(value_node, where, f"{value!r} is not a template name")
            fields["template"] = value
        elif key == "enabled":
            if type(value) is not bool:
                reader.problem(value_node, where, "must be true or false")
            enabled = value is not False
        else:
            allowed = "delay, quiet_period, priority, channel, template, enabled"
            reader.problem(key_node, where, f"unknown key (allowed: {allowed})")
    return replace(base, **fields) if enabled else None


def load_config(text: str, file: str = "<config>") -> Config:
    """Parse and validate a scenario configuration; raise ``ConfigError`` listing every problem."""
    reader = _Reader(file)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        raise ConfigError([ConfigProblem(file, line, None, f"not valid YAML: {exc}")]) from None
    if root is None:
        raise ConfigError([ConfigProblem(file, 1, None, "the file is empty")])
    scenarios: dict[str, Scenario | None] = dict.fromkeys(sorted(SCENARIO_NAMES))
    top = reader.mapping(root, "")
    for key, (key_node, value_node) in top.items():
        if key != "scenarios":
            reader.problem(key_node, key, "unknown key (allowed: scenarios)")
            continue
        for name, (name_node, scenario_node) in reader.mapping(value_node, "scenarios").items():
            if name not in scenarios:
                reader.problem(name_node, f"scenarios.{name}",
                               f"unknown scenario (known: {', '.join(scenarios)})")
                continue
            scenarios[name] = _scenario(reader, name, scenario_node)  # type: ignore[arg-type]
    if "scenarios" not in top and not reader.problems:
        reader.problem(root, None, "a 'scenarios' mapping is required")
    if reader.problems:
        raise ConfigError(reader.problems)
    return Config(**scenarios)


def load_config_file(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problem = ConfigProblem(str(path), None, None, exc.strerror or str(exc))
        raise ConfigError([problem]) from None
    return load_config(text, str(path))
