"""Scenario configuration files: YAML in, a validated ``Config`` out.

Errors name the file, the line and the key, and every problem in the file is reported at once.
A scenario missing from a file is off; a key missing from a scenario takes its default (the
built-in scenario of that name, or of its kind). A name outside the catalogue is a new
scenario of an existing kind and must say which (``kind: cart_abandonment``). The keys a kind
has of its own are its detector's (``relance.core.detectors``): the registry says which
kinds have which, and how each value reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final, Protocol, assert_never

import yaml

from relance.brand import Brand, Colors, Links
from relance.codec.addresses import email_problem
from relance.core.conditions import Condition, condition
from relance.core.detectors import registry
from relance.core.detectors.base import Detector
from relance.core.detectors.keys import (
    Branch,
    Count,
    Days,
    Duration,
    Flag,
    Key,
    Statuses,
    TimeOfDay,
)
from relance.core.events import FAMILIES, ORDER_STATUSES, OTHER
from relance.core.experiments import Experiment, Variant
from relance.core.policy.pacing import SENDS_KEPT, parse_hours
from relance.core.scenarios import (
    CATALOGUE,
    CHANNELS,
    Config,
    InputRules,
    InputSource,
    Policy,
    Scenario,
    Step,
    digest_scenario,
)
from relance.core.timestamps import DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS
from relance.errors import ConfigError, ConfigProblem
from relance.locales import normalized
from relance.tracking.mapping_file import read_mapping
from relance.tracking.sources import FORMATS as SOURCE_FORMATS
from relance.tracking.sources import options_of as source_options

_UNITS: Final = {
    "ms": 1,
    "s": SECOND_MS,
    "m": MINUTE_MS,
    "h": HOUR_MS,
    "d": DAY_MS,
    "w": 7 * DAY_MS,
}
_DURATION: Final = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_NAME: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_TIME_OF_DAY: Final = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_STEP_KEYS: Final = ("delay", "template", "if", "unless")
_ENGAGED: Final = ("opened", "clicked")
# A field's default, for a key a kind requires (its default scenario has none of it).
_FIELD_DEFAULTS: Final[dict[str, Any]] = {f.name: f.default for f in fields(Scenario)}


def parse_duration(text: str) -> int:
    """``30m``, ``1h``, ``2d``, ``1h30m`` to milliseconds."""
    text = text.strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a duration (write e.g. 30m, 1h, 2d or 1h30m)")
    return sum(int(number) * _UNITS[unit] for number, unit in parts)


class TemplateLookup(Protocol):
    """Which template files exist (``relance.sender.template_files``: the reader of the
    file does not render, nor import the renderer)."""

    where: str  # where it looks, for the problem: "the shipped templates"

    def missing(self, template: str, channel: str) -> list[str]:
        """The files ``template`` lacks for ``channel`` (none: it can be rendered)."""
        ...


# A template a scenario sends, where the file names it: (node, key, template, channel).
_Use = tuple[yaml.Node, str, str, str]


class _Reader:
    """Walks YAML nodes so every problem keeps its line."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[ConfigProblem] = []
        self.named: list[tuple[yaml.Node, str, str]] = []  # every template name, where
        self.uses: list[_Use] = []
        self.digests: dict[str, tuple[yaml.Node, str]] = {}  # period -> its first digest key

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
        value = yaml.constructor.SafeConstructor().construct_object(node, deep=True)
        if value is None:
            self.problem(node, key, "needs a value")
        return value

    def duration(self, node: yaml.Node, key: str) -> int | None:
        value = self.scalar(node, key)
        if value is None:
            return None
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.problem(node, key, str(exc))
            return None

    def duration_into(self, fields: dict[str, Any], name: str, node: yaml.Node, key: str) -> None:
        """``fields[name]``: the duration at ``node``, when it is one (else a problem)."""
        value = self.duration(node, key)
        if value is not None:
            fields[name] = value

    def name(self, node: yaml.Node, key: str, what: str) -> str | None:
        value = self.scalar(node, key)
        if value is not None and not (isinstance(value, str) and _NAME.fullmatch(value)):
            self.problem(node, key, f"{value!r} is not a {what} name")
            return None
        found: str | None = value
        if found is not None and what == "template":
            self.named.append((node, key, found))
        return found


def _steps(reader: _Reader, node: yaml.Node, where: str, template: str) -> tuple[Step, ...]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        reader.problem(node, where, "must be a list of steps, each with a delay")
        return ()
    steps: list[Step] = []
    for index, step_node in enumerate(node.value):
        here = f"{where}[{index}]"
        entries = reader.mapping(step_node, here)
        delay: int | None = None
        step_template = template
        engaged: tuple[bool, str] | None = None
        for key, (key_node, value_node) in entries.items():
            if key == "delay":
                delay = reader.duration(value_node, f"{here}.delay")
            elif key == "template":
                step_template = reader.name(value_node, f"{here}.template", "template") or ""
            elif key in ("if", "unless"):
                if "if" in entries and "unless" in entries:
                    reader.problem(key_node, f"{here}.{key}", "give if or unless, not both")
                engaged = _engaged(reader, value_node, f"{here}.{key}", key == "if", index)
            else:
                reader.problem(
                    key_node, f"{here}.{key}", f"unknown key (allowed: {', '.join(_STEP_KEYS)})"
                )
        if "delay" not in entries and isinstance(step_node, yaml.MappingNode):
            reader.problem(step_node, here, "a step needs a delay")
        if delay is not None:
            if steps and delay <= steps[-1].delay_ms:
                reader.problem(
                    entries["delay"][1],
                    f"{here}.delay",
                    "step delays count from "
                    "the trigger and must increase from one step to the next",
                )
            steps.append(Step(delay, step_template, engaged))
    return tuple(steps)


def _engaged(
    reader: _Reader, node: yaml.Node, here: str, wanted: bool, index: int
) -> tuple[bool, str] | None:
    """A step's ``if: opened`` or ``unless: clicked``: about the journey's last message."""
    value = reader.scalar(node, here)
    if value not in _ENGAGED:
        reader.problem(node, here, f"must be opened or clicked, not {value!r}")
        return None
    if index == 0:
        reader.problem(node, here, "the first step has no message before it to look at")
        return None
    return wanted, value


@dataclass
class _Draft:
    """A scenario while its keys are read: where it is, what it starts from, what was read."""

    where: str
    base: Scenario
    detector: Detector
    entries: dict[str, tuple[yaml.Node, yaml.Node]]
    fields: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    branches: dict[int, dict[str, Any]] = field(default_factory=dict)  # step -> its keys
    steps_node: yaml.Node | None = None
    enabled: bool = True


def _scenario(reader: _Reader, name: str, node: yaml.Node) -> Scenario | None:
    where = f"scenarios.{name}"
    named = len(reader.named)
    entries = reader.mapping(node, where)
    base = _base(reader, name, node, entries, where)
    if base is None:
        return None
    draft = _Draft(where, base, registry.detector_for(base.kind), entries)
    own = {key.name: key for key in _keys_of(base.kind)}
    for key, (key_node, value_node) in entries.items():
        here = f"{where}.{key}"
        family = _LEADING.get(key) or _TRAILING.get(key)
        if family is not None:
            family(reader, draft, key, value_node, here)
        elif key in own:
            _kind_key(reader, draft, own[key], value_node, here)
        elif having := _kinds_having(key):
            reader.problem(
                value_node, here, f"only {_and(having)} scenarios have {key}, not {base.kind}"
            )
        else:
            reader.problem(key_node, here, f"unknown key (allowed: {', '.join(_allowed())})")
    _check_timing(reader, draft)
    steps = _assembled_steps(reader, draft)
    options = tuple({**dict(base.options), **draft.options}.items())
    # Without its own family the scenario takes its kind's, for what the file made it
    # (transactional, in a digest), not the built-in base's.
    scenario = replace(base, steps=steps, options=options, **{"family": "", **draft.fields})
    if scenario.transactional and "family" in draft.fields:
        reader.problem(
            entries["family"][1],
            f"{where}.family",
            "a transactional scenario is in no family: no unsubscribe stops it",
        )
    _check_required(reader, draft, scenario, node)
    if not draft.enabled:
        return None
    _note_templates(reader, scenario, reader.named[named:], (node, f"{where}.template"))
    return scenario


def _base(
    reader: _Reader,
    name: str,
    node: yaml.Node,
    entries: dict[str, tuple[yaml.Node, yaml.Node]],
    where: str,
) -> Scenario | None:
    """What the scenario starts from: the built-in scenario of its name, or its kind's."""
    base = CATALOGUE.get(name)
    known = registry.configurable()
    if "kind" not in entries:
        if base is None:
            reader.problem(
                node,
                where,
                f"unknown scenario: give its kind (one of "
                f"{', '.join(known)}) or use a built-in name "
                f"({', '.join(sorted(CATALOGUE))})",
            )
        return base
    here = f"{where}.kind"
    value_node = entries["kind"][1]
    kind = reader.scalar(value_node, here)
    if kind not in known:
        reason = _not_configured(kind)
        reader.problem(
            value_node,
            here,
            f"{kind!r} is not a kind (known: {', '.join(known)})"
            if reason is None
            else f"{kind} scenarios are not configured: {reason}",
        )
        return None
    if base is not None:
        if base.kind != kind:
            reader.problem(
                value_node,
                here,
                f"{name} is a built-in {base.kind} scenario; give a new scenario a name of its own",
            )
            return None
        return base
    default = _kind_default(kind)
    if default is None:
        reader.problem(
            value_node, here, f"the catalogue has no {kind} scenario to take the defaults from"
        )
        return None
    return replace(default, name=name)


def _not_configured(kind: Any) -> str | None:
    """Why a file may not name ``kind``, when a detector has it but it is not configured."""
    try:
        return registry.detector_for(kind).not_configured
    except (registry.UnknownKindError, TypeError):  # TypeError: a YAML list, unhashable
        return None


def _kind_default(kind: str) -> Scenario | None:
    """A new scenario's defaults: the catalogue's entry named after its kind, else its first
    entry of the kind without the values the kind requires (a new order notification names
    its own statuses)."""
    named = CATALOGUE.get(kind)
    if named is not None and named.kind == kind:
        return named
    first = next((s for s in CATALOGUE.values() if s.kind == kind), None)
    if first is None:
        return None
    required = [key for key in _keys_of(kind) if key.required is not None]
    cleared = {key.field: _FIELD_DEFAULTS[key.field] for key in required if key.field}
    options = tuple(
        (name, value) for name, value in first.options if all(key.name != name for key in required)
    )
    return replace(first, options=options, **cleared)


def _keys_of(kind: str) -> list[Key]:
    return [
        key for key in registry.detector_for(kind).keys if key.kinds is None or kind in key.kinds
    ]


def _kinds_having(key_name: str) -> list[str]:
    """The kinds a file may name that have the key, in the registry's order."""
    return [
        kind
        for detector in registry.detectors()
        if detector.not_configured is None
        for kind in detector.kinds
        if any(key.name == key_name for key in _keys_of(kind))
    ]


def _allowed() -> list[str]:
    """Every key, as a problem lists them: the kinds' own keys between the others."""
    own = [key.name for detector in registry.detectors() for key in detector.keys]
    return [*_LEADING, *dict.fromkeys(own), *_TRAILING]


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


# Each family of keys every scenario may have reads its keys on its own.
_Family = Callable[["_Reader", _Draft, str, yaml.Node, str], None]


def _known_already(reader: _Reader, draft: _Draft, key: str, node: yaml.Node, here: str) -> None:
    """``kind``: read first, for the scenario's defaults (``_base``)."""


def _timing(reader: _Reader, draft: _Draft, key: str, node: yaml.Node, here: str) -> None:
    """When: ``delay`` or ``steps``, ``quiet_period``, ``stale_after``."""
    if key == "steps":
        draft.steps_node = node  # read with the template, once every key is known
    elif key == "delay":
        reader.duration_into(draft.fields, "delay", node, here)
    else:
        reader.duration_into(draft.fields, f"{key}_ms", node, here)


def _delivery(reader: _Reader, draft: _Draft, key: str, node: yaml.Node, here: str) -> None:
    """How: ``priority``, ``channel``, ``template``, ``transactional``, ``on_hold``."""
    if key == "template":
        draft.fields["template"] = reader.name(node, here, "template")
        return
    value = reader.scalar(node, here)
    if key == "priority":
        if value is not None and type(value) is not int:
            reader.problem(node, here, f"must be a whole number, not {value!r}")
        draft.fields["priority"] = value
    elif key == "channel":
        if value is not None and value not in CHANNELS:
            reader.problem(
                node, here, f"channel {value!r} is not supported ({', '.join(sorted(CHANNELS))})"
            )
        elif value is not None:
            draft.fields["channel"] = value
    elif key == "transactional":
        if value is not None and type(value) is not bool:
            reader.problem(node, here, "must be true or false")
        else:
            draft.fields["transactional"] = value
    elif value not in ("drop", "defer"):
        reader.problem(node, here, f"must be drop or defer, not {value!r}")
    else:
        draft.fields["on_hold"] = value


def _digest(reader: _Reader, draft: _Draft, key: str, node: yaml.Node, here: str) -> None:
    """``digest``: daily or weekly, for the kinds whose messages may wait for one."""
    value = reader.scalar(node, here)
    reason = draft.detector.undigested
    if value not in ("daily", "weekly"):
        reader.problem(node, here, f"must be daily or weekly, not {value!r}")
    elif reason is not None:
        reader.problem(
            node, here, f"a {draft.base.kind} {reason}: it is sent on its own, not in a digest"
        )
    else:
        draft.fields["digest"] = value
        reader.digests.setdefault(value, (node, here))


def _conditions(reader: _Reader, draft: _Draft, key: str, node: yaml.Node, here: str) -> None:
    """Which events count: ``when`` (of the trigger) and ``exit_when``."""
    if key == "when":
        draft.fields["when"] = _when(reader, node, here)
        return
    items = node.value if isinstance(node, yaml.SequenceNode) else None
    if not items:
        reader.problem(
            node, here, "must be a list of conditions, e.g. [{type: order, status: placed}]"
        )
    else:
        draft.fields["exit_when"] = tuple(
            _when(reader, item, f"{here}[{n}]") for n, item in enumerate(items)
        )


def _experimenting(reader: _Reader, draft: _Draft, key: str, node: yaml.Node, here: str) -> None:
    draft.fields["experiment"] = _experiment(reader, node, here)


def _family(reader: _Reader, draft: _Draft, key: str, node: yaml.Node, here: str) -> None:
    """``family``: what a contact leaves with one click on the preference page."""
    value = reader.scalar(node, here)
    if value not in FAMILIES:
        reader.problem(node, here, f"must be one of {', '.join(FAMILIES)}, not {value!r}")
    else:
        draft.fields["family"] = value


def _attributing(reader: _Reader, draft: _Draft, key: str, node: yaml.Node, here: str) -> None:
    """A scenario's ``attribution: {after_send: 5d, after_click: 1d}``."""
    for name, (key_node, value_node) in reader.mapping(node, here).items():
        if name in ("after_send", "after_click"):
            reader.duration_into(draft.fields, f"{name}_ms", value_node, f"{here}.{name}")
        else:
            reader.problem(
                key_node, f"{here}.{name}", "unknown key (allowed: after_send, after_click)"
            )


def _switch(reader: _Reader, draft: _Draft, key: str, node: yaml.Node, here: str) -> None:
    """``enabled: false`` turns the scenario off (its keys are still checked)."""
    value = reader.scalar(node, here)
    if value is not None and type(value) is not bool:
        reader.problem(node, here, "must be true or false")
    else:
        draft.enabled = value is not False


# The keys every scenario may have, each with its family, in the order a problem lists them
# (the kinds' own keys come between the two).
_LEADING: Final[dict[str, _Family]] = {
    "kind": _known_already,
    "delay": _timing,
    "steps": _timing,
    "quiet_period": _timing,
    "stale_after": _timing,
    "priority": _delivery,
    "channel": _delivery,
    "template": _delivery,
    "transactional": _delivery,
}
_TRAILING: Final[dict[str, _Family]] = {
    "digest": _digest,
    "when": _conditions,
    "exit_when": _conditions,
    "on_hold": _delivery,
    "experiment": _experimenting,
    "family": _family,
    "enabled": _switch,
    "attribution": _attributing,
}
_NOTHING: Final = object()  # a value not read (a problem says why)


def _kind_key(reader: _Reader, draft: _Draft, key: Key, node: yaml.Node, here: str) -> None:
    """One of the keys the scenario's kind has of its own."""
    value = _kind_value(reader, key, node, here)
    if value is _NOTHING:
        return
    if isinstance(key.reads, Branch):
        draft.branches[key.reads.step] = value
    elif key.field is not None:
        draft.fields[key.field] = value
    else:
        draft.options[key.name] = value


def _kind_value(reader: _Reader, key: Key, node: yaml.Node, here: str) -> Any:
    reads = key.reads
    if isinstance(reads, Statuses):
        return _statuses(reader, node, here)
    if isinstance(reads, Days):
        return _days_before(reader, node, here)
    if isinstance(reads, Branch):
        return _branch(reader, node, here)
    if isinstance(reads, Duration):
        duration = reader.duration(node, here)
        return _NOTHING if duration is None else duration
    if isinstance(reads, TimeOfDay):
        return _time_of_day(reader, node, here)
    value = reader.scalar(node, here)
    if isinstance(reads, Flag):
        if value is not None and type(value) is not bool:
            reader.problem(node, here, "must be true or false")
            return _NOTHING
        return value
    if isinstance(reads, Count):
        if type(value) is not int or not reads.low <= value <= reads.high:
            reader.problem(
                node,
                here,
                f"must be a whole number from {reads.low} to {reads.high}, not {value!r}",
            )
            return _NOTHING
        return value
    assert_never(reads)


def _time_of_day(reader: _Reader, node: yaml.Node, here: str) -> Any:
    value = reader.scalar(node, here)
    # The node's text: YAML 1.1 reads an unquoted 10:30 as the number 630.
    text = node.value if isinstance(node, yaml.ScalarNode) else None
    match = _TIME_OF_DAY.fullmatch(str(text)) if value is not None else None
    if match is None:
        reader.problem(node, here, f"{text!r} is not a local time like 09:00")
        return _NOTHING
    return int(match[1]) * 60 + int(match[2])


def _check_timing(reader: _Reader, draft: _Draft) -> None:
    entries, where, kind = draft.entries, draft.where, draft.base.kind
    if draft.detector.dated and ("delay" in entries or "steps" in entries):
        key = "delay" if "delay" in entries else "steps"
        reader.problem(
            entries[key][0],
            f"{where}.{key}",
            f"a {kind} scenario is sent on its dates at send_at; it has no delay",
        )
    if "delay" in entries and "steps" in entries:
        reader.problem(
            entries["delay"][0],
            f"{where}.delay",
            "give either delay (one message) or steps, not both",
        )


def _assembled_steps(reader: _Reader, draft: _Draft) -> tuple[Step, ...]:
    """The steps: one (``delay``, ``template``), the ``steps`` given, or a series' first
    message and its branches (a kind with ``Branch`` keys: the welcome's)."""
    base, read = draft.base, draft.fields
    template = read.pop("template", None) or base.template
    delay = read.pop("delay", None)
    first = Step(base.delay_ms if delay is None else delay, template)
    branches = [key.name for key in _keys_of(base.kind) if isinstance(key.reads, Branch)]
    if branches:
        if draft.steps_node is not None:
            reader.problem(
                draft.entries["steps"][0],
                f"{draft.where}.steps",
                f"a {base.kind} series has its first message (delay, template), {_and(branches)}",
            )
        return (
            first,
            *(
                _merged(step, draft.branches.get(number))
                for number, step in enumerate(base.steps[1:], 2)
            ),
        )
    if draft.steps_node is not None:
        return _steps(reader, draft.steps_node, f"{draft.where}.steps", template)
    return (first,)


def _check_required(reader: _Reader, draft: _Draft, scenario: Scenario, node: yaml.Node) -> None:
    for key in _keys_of(scenario.kind):
        if key.required is not None and not key.of(scenario):
            reader.problem(
                node,
                f"{draft.where}.{key.name}",
                f"{scenario.kind} scenarios need {key.name} ({key.required})",
            )


def _note_templates(
    reader: _Reader,
    scenario: Scenario,
    named: list[tuple[yaml.Node, str, str]],
    default: tuple[yaml.Node, str],
) -> None:
    """The templates ``scenario`` sends, at the key that names each; one it takes from its
    built-in default is placed at the scenario."""
    places: dict[str, tuple[yaml.Node, str]] = {}
    for node, key, template in named:
        places.setdefault(template, (node, key))
    sent = [step.template for step in scenario.steps]
    if scenario.experiment is not None:
        sent.extend(v.template for v in scenario.experiment.variants if v.template)
    for template in sent:
        if template:  # an invalid name is a problem already
            places.setdefault(template, default)
    reader.uses.extend(
        (node, key, template, scenario.channel) for template, (node, key) in places.items()
    )


def _check_templates(reader: _Reader, templates: TemplateLookup) -> None:
    for node, key, template, channel in reader.uses:
        missing = templates.missing(template, channel)
        if missing:
            reader.problem(
                node,
                key,
                f"template {template!r} ({channel}) needs "
                f"{', '.join(missing)}: not found in {templates.where}",
            )


def _when(reader: _Reader, node: yaml.Node, where: str) -> tuple[Condition, ...]:
    found = []
    for path, (key_node, value_node) in reader.mapping(node, where).items():
        here = f"{where}.{path}"
        if isinstance(value_node, yaml.SequenceNode):
            wanted: Any = [reader.scalar(item, here) for item in value_node.value]
        else:
            wanted = reader.scalar(value_node, here)
        try:
            found.append(condition(path, wanted))
        except ValueError as exc:
            reader.problem(key_node, here, str(exc))
    return tuple(found)


def _experiment(reader: _Reader, node: yaml.Node, where: str) -> Experiment:
    holdout = 0.0
    variants: list[Variant] = []
    for key, (key_node, value_node) in reader.mapping(node, where).items():
        here = f"{where}.{key}"
        if key == "holdout":
            value = reader.scalar(value_node, here)
            text = str(value).strip().rstrip("%")
            try:
                holdout = float(text)
            except ValueError:
                holdout = -1.0
            if not 0 <= holdout < 100:
                reader.problem(value_node, here, f"must be a share like 10%, not {value!r}")
        elif key == "variants":
            for name, (_, variant_node) in reader.mapping(value_node, here).items():
                variants.append(_variant(reader, name, variant_node, f"{here}.{name}"))
        else:
            reader.problem(key_node, here, "unknown key (allowed: holdout, variants)")
    return Experiment(holdout, tuple(variants))


def _variant(reader: _Reader, name: str, node: yaml.Node, where: str) -> Variant:
    fields: dict[str, Any] = {"weight": 1}
    for key, (key_node, value_node) in reader.mapping(node, where).items():
        here = f"{where}.{key}"
        if key == "weight":
            value = reader.scalar(value_node, here)
            if type(value) is not int or value < 1:
                reader.problem(value_node, here, f"must be a whole number from 1, not {value!r}")
            else:
                fields["weight"] = value
        elif key == "template":
            fields["template"] = reader.name(value_node, here, "template")
        elif key == "delay":
            fields["delay_ms"] = reader.duration(value_node, here)
        else:
            reader.problem(key_node, here, "unknown key (allowed: weight, template, delay)")
    return Variant(name, **fields)


def _policy(reader: _Reader, node: yaml.Node) -> Policy:
    fields: dict[str, Any] = {}
    for key, (key_node, value_node) in reader.mapping(node, "policy").items():
        here = f"policy.{key}"
        if key == "arbitration_window":
            reader.duration_into(fields, "arbitration_window_ms", value_node, here)
        elif key == "caps":
            fields["caps"] = _caps(reader, value_node, here)
        elif key == "quiet_hours":
            hours = {}
            for channel, (channel_node, span_node) in reader.mapping(value_node, here).items():
                text = reader.scalar(span_node, f"{here}.{channel}")
                if channel not in CHANNELS:
                    reader.problem(
                        channel_node,
                        f"{here}.{channel}",
                        f"is not a channel ({', '.join(sorted(CHANNELS))})",
                    )
                    continue
                try:
                    hours[channel] = parse_hours(str(text))
                except ValueError as exc:
                    reader.problem(span_node, f"{here}.{channel}", str(exc))
            fields["quiet_hours"] = hours
        elif key == "attribution":
            value = reader.scalar(value_node, here)
            if value not in _MODELS:
                reader.problem(
                    value_node, here, f"must be one of {', '.join(_MODELS)}, not {value!r}"
                )
            else:
                fields["attribution"] = value
        elif key == "sunset":
            fields.update(_sunset(reader, value_node, here))
        else:
            reader.problem(
                key_node,
                here,
                "unknown key (allowed: arbitration_window, caps, quiet_hours, attribution, sunset)",
            )
    return Policy(**fields)


_MODELS: Final = ("last_touch", "first_touch", "none")


def _sunset(reader: _Reader, node: yaml.Node, here: str) -> dict[str, int]:
    """``sunset: {after_sends: 10}`` or ``{after_days: 90}`` (or both: the first reached)."""
    fields: dict[str, int] = {}
    for key, (key_node, value_node) in reader.mapping(node, here).items():
        if key not in ("after_sends", "after_days"):
            reader.problem(
                key_node, f"{here}.{key}", "unknown key (allowed: after_sends, after_days)"
            )
            continue
        value = reader.scalar(value_node, f"{here}.{key}")
        if type(value) is not int or value < 1:
            reader.problem(
                value_node, f"{here}.{key}", f"must be a whole number of at least 1, not {value!r}"
            )
        elif key == "after_sends":
            fields["sunset_after_sends"] = value
        else:
            fields["sunset_after_ms"] = value * DAY_MS
    return fields


# Key -> (field of InputRules, kind): durations are written like other durations.
_INPUT_KEYS: Final = {
    "max_event_bytes": ("max_event_bytes", "count"),
    "max_id_bytes": ("max_id_bytes", "count"),
    "max_name_bytes": ("max_name_bytes", "count"),
    "max_url_bytes": ("max_url_bytes", "count"),
    "max_query_bytes": ("max_query_bytes", "count"),
    "cart_lines": ("cart_lines", "count"),
    "max_attributes": ("max_attributes", "count"),
    "max_attribute_bytes": ("max_attribute_bytes", "count"),
    "dedupe_window": ("dedupe_window_ms", "duration"),
    "anonymous_window": ("anonymous_window_ms", "duration"),
    "anonymous_max_events": ("anonymous_max_events", "count"),
}


# A visitor's events are one changelog record: a few hundred bytes each, kept well under the
# broker's 1 MB record limit (``worker.identities`` trims a larger one).
_MOST_VISITOR_EVENTS: Final = 1000


def _inputs(reader: _Reader, node: yaml.Node) -> InputRules:
    fields: dict[str, Any] = {}
    for key, (key_node, value_node) in reader.mapping(node, "inputs").items():
        here = f"inputs.{key}"
        if key == "sources":
            fields["sources"] = _sources(reader, value_node)
            continue
        if key not in _INPUT_KEYS:
            reader.problem(
                key_node, here, f"unknown key (allowed: {', '.join((*_INPUT_KEYS, 'sources'))})"
            )
            continue
        name, kind = _INPUT_KEYS[key]
        if kind == "duration":
            reader.duration_into(fields, name, value_node, here)
            continue
        value = reader.scalar(value_node, here)
        most = _MOST_VISITOR_EVENTS if key == "anonymous_max_events" else None
        if type(value) is not int or value < 1 or (most is not None and value > most):
            reader.problem(
                value_node,
                here,
                "must be a whole number from 1"
                + (f" to {most}" if most else "")
                + f", not {value!r}",
            )
        else:
            fields[name] = value
    return InputRules(**fields)


_TOPIC: Final = re.compile(r"[A-Za-z0-9._-]{1,249}")


def _sources(reader: _Reader, node: yaml.Node) -> tuple[InputSource, ...]:
    """``inputs.sources``: per topic of another tracking's events, its format and options
    (``relance.tracking``); a mapping file is read here, relative to this file."""
    found = []
    for name, (name_node, source_node) in reader.mapping(node, "inputs.sources").items():
        here = f"inputs.sources.{name}"
        if not _TOPIC.fullmatch(name):
            reader.problem(name_node, here, "is not a topic name (letters, digits, . _ -)")
            continue
        entries = reader.mapping(source_node, here)
        fmt = reader.scalar(entries["format"][1], f"{here}.format") if "format" in entries else None
        if fmt not in SOURCE_FORMATS:
            where = entries["format"][1] if "format" in entries else source_node
            reader.problem(
                where, f"{here}.format", f"must be one of {', '.join(SOURCE_FORMATS)}, not {fmt!r}"
            )
            continue
        options, mapping = _source_options(reader, fmt, entries, here)
        found.append(InputSource(name, fmt, options, mapping))
    return tuple(found)


def _source_options(
    reader: _Reader, fmt: str, entries: dict[str, tuple[yaml.Node, yaml.Node]], here: str
) -> tuple[tuple[tuple[str, str], ...], object]:
    allowed = source_options(fmt)
    options, mapping = [], None
    for key, (key_node, value_node) in entries.items():
        value = reader.scalar(value_node, f"{here}.{key}")
        if key == "format" or value is None:
            continue
        if key == "mapping" and fmt == "mapping":
            mapping, problems = read_mapping(Path(reader.file).parent / str(value))
            reader.problems.extend(problems)
        elif key not in allowed:
            names = ", ".join(("format", *allowed, *(["mapping"] if fmt == "mapping" else [])))
            reader.problem(
                key_node, f"{here}.{key}", f"unknown key for a {fmt} source (allowed: {names})"
            )
        elif not _option_fits(allowed[key], value):
            values = allowed[key]
            reader.problem(
                value_node,
                f"{here}.{key}",
                "must be "
                + (
                    "a currency code like EUR"
                    if values is None
                    else f"one of {', '.join(sorted(values))}"
                )
                + f", not {value!r}",
            )
        else:
            options.append((key, str(value).upper() if key == "currency" else str(value)))
    if fmt == "mapping" and "mapping" not in entries:
        reader.problem(
            entries["format"][1],
            f"{here}.mapping",
            "a mapping source needs its mapping file (mapping: FILE, relative to this file)",
        )
    return tuple(options), mapping


def _option_fits(allowed: frozenset[str] | None, value: Any) -> bool:
    if allowed is None:  # a currency
        return isinstance(value, str) and re.fullmatch(r"[A-Za-z]{3}", value) is not None
    return value in allowed


_BRAND_TEXT: Final = ("name", "address")
_BRAND_URLS: Final = ("shop_url", "cart_url", "account_url", "logo_url")
_BRAND_KEYS: Final = (
    *_BRAND_TEXT,
    *_BRAND_URLS,
    "support_email",
    "colors",
    "default_locale",
    "max_lines",
    "links",
)
_COLOR: Final = re.compile(r"#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})")
_TOKEN: Final = re.compile(r"[A-Za-z0-9_.~-]{1,64}")  # a UTM value as written in a URL
_MAX_LINES: Final = 1000


def _text(reader: _Reader, node: yaml.Node, here: str) -> str | None:
    value = reader.scalar(node, here)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        reader.problem(node, here, f"must be text, not {value!r}")
        return None
    return value.strip()


def _url(reader: _Reader, node: yaml.Node, here: str) -> str | None:
    value = _text(reader, node, here)
    if value is None:
        return None
    if not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", value):
        reader.problem(node, here, f"{value!r} is not an http or https URL")
        return None
    if here == "brand.cart_url" and (
        value.count("{cart_id}") != 1 or re.search(r"\{(?!cart_id\})", value)
    ):
        reader.problem(
            node, here, "must hold {cart_id} once (where the cart's id goes), and no other {...}"
        )
        return None
    return value


def _brand(reader: _Reader, node: yaml.Node) -> Brand:
    fields: dict[str, Any] = {}
    for key, (key_node, value_node) in reader.mapping(node, "brand").items():
        here = f"brand.{key}"
        if key in _BRAND_TEXT:
            fields[key] = _text(reader, value_node, here)
        elif key in _BRAND_URLS:
            fields[key] = _url(reader, value_node, here)
        elif key == "support_email":
            value = _text(reader, value_node, here)
            problem = None if value is None else email_problem(value)
            if problem is not None:
                reader.problem(value_node, here, f"is not an email address: {problem}")
            else:
                fields[key] = value
        elif key == "default_locale":
            value = reader.scalar(value_node, here)
            tag = normalized(value) if isinstance(value, str) else None
            if tag is None:
                reader.problem(
                    value_node, here, f"{value!r} is not a language tag like en or fr-FR"
                )
            else:
                fields[key] = tag
        elif key == "max_lines":
            value = reader.scalar(value_node, here)
            if type(value) is not int or not 1 <= value <= _MAX_LINES:
                reader.problem(
                    value_node,
                    here,
                    f"must be a whole number from 1 to {_MAX_LINES}, not {value!r}",
                )
            else:
                fields[key] = value
        elif key == "colors":
            fields[key] = _colors(reader, value_node, here)
        elif key == "links":
            fields[key] = _links(reader, value_node, here)
        else:
            reader.problem(key_node, here, f"unknown key (allowed: {', '.join(_BRAND_KEYS)})")
    return Brand(**{k: v for k, v in fields.items() if v is not None})


def _colors(reader: _Reader, node: yaml.Node, where: str) -> Colors:
    found: dict[str, str] = {}
    allowed = Colors.__dataclass_fields__
    for key, (key_node, value_node) in reader.mapping(node, where).items():
        here = f"{where}.{key}"
        if isinstance(value_node, yaml.ScalarNode) and value_node.value == "":
            # YAML reads an unquoted #1a2b3c as a comment, which leaves no value.
            reader.problem(value_node, here, 'needs a value: quote a colour, "#1a2b3c"')
            continue
        value = reader.scalar(value_node, here)
        if key not in allowed:
            reader.problem(key_node, here, f"unknown key (allowed: {', '.join(allowed)})")
        elif value is not None and not (isinstance(value, str) and _COLOR.fullmatch(value)):
            reader.problem(value_node, here, f'{value!r} is not a colour like "#1a2b3c"')
        elif value is not None:
            found[key] = value
    return Colors(**found)


def _links(reader: _Reader, node: yaml.Node, where: str) -> Links:
    found: dict[str, Any] = {}
    allowed = Links.__dataclass_fields__
    for key, (key_node, value_node) in reader.mapping(node, where).items():
        here = f"{where}.{key}"
        value = reader.scalar(value_node, here)
        if key not in allowed:
            reader.problem(key_node, here, f"unknown key (allowed: {', '.join(allowed)})")
        elif key in ("utm", "click_tracking"):
            if type(value) is not bool:
                reader.problem(value_node, here, f"must be true or false, not {value!r}")
            else:
                found[key] = value
        elif value is not None and not (isinstance(value, str) and _TOKEN.fullmatch(value)):
            reader.problem(
                value_node,
                here,
                f"{value!r} is not a UTM value (letters, digits and - _ . ~, at most 64)",
            )
        elif value is not None:
            found[key] = value
    return Links(**found)


def _caps(reader: _Reader, node: yaml.Node, where: str) -> dict[str, tuple[int | None, int | None]]:
    caps: dict[str, tuple[int | None, int | None]] = {}
    for channel, (channel_node, limits_node) in reader.mapping(node, where).items():
        here = f"{where}.{channel}"
        if channel not in CHANNELS:
            reader.problem(channel_node, here, f"is not a channel ({', '.join(sorted(CHANNELS))})")
            continue
        limits: dict[str, int | None] = {"day": None, "week": None}
        for period, (period_node, count_node) in reader.mapping(limits_node, here).items():
            value = reader.scalar(count_node, f"{here}.{period}")
            if period not in limits:
                reader.problem(period_node, f"{here}.{period}", "unknown key (allowed: day, week)")
            elif type(value) is not int or not 1 <= value <= SENDS_KEPT:
                reader.problem(
                    count_node,
                    f"{here}.{period}",
                    f"must be a whole number from 1 to {SENDS_KEPT}, not {value!r}",
                )
            else:
                limits[period] = value
        caps[channel] = (limits["day"], limits["week"])
    return caps


def _branch(reader: _Reader, node: yaml.Node, where: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, (key_node, value_node) in reader.mapping(node, where).items():
        if key == "delay":
            found["delay_ms"] = reader.duration(value_node, f"{where}.delay")
        elif key == "template":
            found["template"] = reader.name(value_node, f"{where}.template", "template")
        else:
            reader.problem(
                key_node, f"{where}.{key}", f"unknown key (allowed: {', '.join(_STEP_KEYS)})"
            )
    return {k: v for k, v in found.items() if v is not None}


def _merged(step: Step, branch: dict[str, Any] | None) -> Step:
    return step if branch is None else replace(step, **branch)


def _days_before(reader: _Reader, node: yaml.Node, where: str) -> tuple[int, ...]:
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    days = [reader.scalar(item, where) for item in items]
    if (
        not days
        or any(type(d) is not int or d < 0 for d in days)
        or days != sorted(set(days), reverse=True)
    ):
        reader.problem(
            node,
            where,
            f"must be whole numbers of days from 0, largest first, like [7, 3, 0], not {days!r}",
        )
        return ()
    return tuple(days)


def _statuses(reader: _Reader, node: yaml.Node, where: str) -> frozenset[str]:
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    found = set()
    for item in items:
        value = reader.scalar(item, where)
        if value is not None and (value not in ORDER_STATUSES or value == OTHER):
            # ``other`` is what a status added after this release reads as: it triggers nothing.
            reader.problem(
                item,
                where,
                f"{value!r} is not an order status ({', '.join(sorted(ORDER_STATUSES - {OTHER}))})",
            )
        found.add(value)
    return frozenset(found)


def load_config(
    text: str, file: str = "<config>", templates: TemplateLookup | None = None
) -> Config:
    """Parse and validate a scenario configuration; raise ``ConfigError`` listing every problem.

    With ``templates``, every template a scenario sends must be there for its channel."""
    return _read(text, file, templates)[0]


def load_brand(text: str, file: str = "<config>") -> Brand:
    """The file's ``brand`` section (its defaults if it has none), the whole file checked."""
    return _read(text, file, None)[1]


def _read(text: str, file: str, templates: TemplateLookup | None) -> tuple[Config, Brand]:
    reader = _Reader(file)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        raise ConfigError([ConfigProblem(file, line, None, f"not valid YAML: {exc}")]) from None
    if root is None:
        raise ConfigError([ConfigProblem(file, 1, None, "the file is empty")])
    scenarios: list[Scenario] = []
    policy = Policy()
    inputs = InputRules()
    brand = Brand()
    top = reader.mapping(root, "")
    for key, (key_node, value_node) in top.items():
        if key == "policy":
            policy = _policy(reader, value_node)
            continue
        if key == "inputs":
            inputs = _inputs(reader, value_node)
            continue
        if key == "brand":
            brand = _brand(reader, value_node)
            continue
        if key != "scenarios":
            reader.problem(key_node, key, "unknown key (allowed: scenarios, policy, inputs, brand)")
            continue
        for name, (name_node, scenario_node) in reader.mapping(value_node, "scenarios").items():
            if not _NAME.fullmatch(name):
                reader.problem(name_node, f"scenarios.{name}", "is not a scenario name")
                continue
            scenario = _scenario(reader, name, scenario_node)
            if scenario is not None:
                scenarios.append(scenario)
    if "scenarios" not in top and not reader.problems:
        reader.problem(root, None, "a 'scenarios' mapping is required")
    # Catalogue order first, then the file's own scenarios: firing order among ties is stable.
    order = {name: n for n, name in enumerate(CATALOGUE)}
    scenarios.sort(key=lambda s: (order.get(s.name, len(order)), s.name))
    for period in ("daily", "weekly"):
        members = [s for s in scenarios if s.digest == period]
        if members:
            digest = digest_scenario(period, members)
            scenarios.append(digest)
            node, key = reader.digests[period]
            reader.uses.append((node, key, digest.template, digest.channel))
    if templates is not None:
        _check_templates(reader, templates)
    if reader.problems:
        raise ConfigError(reader.problems)
    return Config(tuple(scenarios), policy, inputs), brand


def _file_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        problem = ConfigProblem(str(path), None, None, exc.strerror or str(exc))
        raise ConfigError([problem]) from None


def load_config_file(path: str | Path, templates: TemplateLookup | None = None) -> Config:
    path = Path(path)
    return load_config(_file_text(path), str(path), templates)


def load_brand_file(path: str | Path) -> Brand:
    path = Path(path)
    return load_brand(_file_text(path), str(path))
