"""Mapping files: YAML in, a checked ``mapping.Mapping`` out, or every problem in the file
with its line and key (as the scenario file reports its own).

```yaml
event: name                     # where the event's name is (or {value: order}: one kind)
anonymous_id: visitor           # optional: the visitor of an event without a contact_id
fields:                         # every event's; an event's own fields replace these
  event_id: id
  contact_id: customer.id
  occurred_at: {path: ts, unit: s}
events:
  product_view:
    type: page_view
    fields: {page_type: {value: product}, product.id: sku, product.price: price}
  purchase:
    type: order
    fields: {order_id: ref, status: {value: placed}, total: amount, currency: currency}
    items: {each: lines, fields: {product.id: sku, quantity: qty}}
  newsletter_signup: skip       # known, not used: skipped and counted
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import yaml

from relance.errors import ConfigProblem
from relance.tracking.mapping import (
    CHOICES,
    COMMON,
    FIELDS,
    ITEM_FIELDS,
    REQUIRED,
    UNITS,
    EventMapping,
    Fields,
    Mapping,
    Value,
)

_TOP: Final = ("event", "anonymous_id", "fields", "events")
_EVENT: Final = ("type", "fields", "items")
_VALUE: Final = ("path", "value", "default", "unit")
_ANY_FIELD: Final = frozenset(COMMON).union(*FIELDS.values())


class _Reader:
    """Walks YAML nodes so every problem keeps its line."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[ConfigProblem] = []

    def problem(self, node: yaml.Node, key: str, text: str) -> None:
        self.problems.append(ConfigProblem(self.file, node.start_mark.line + 1, key, text))

    def entries(
        self, node: yaml.Node, key: str, allowed: tuple[str, ...] | None = None
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, key, "must be a mapping")
            return {}
        found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            name = str(key_node.value)
            here = f"{key}.{name}" if key else name
            if name in found:
                self.problem(key_node, here, "is given twice")
            elif allowed is not None and name not in allowed:
                self.problem(key_node, here, f"unknown key (allowed: {', '.join(allowed)})")
            else:
                found[name] = (key_node, value_node)
        return found

    def scalar(self, node: yaml.Node, key: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, key, "must be a single value")
            return None
        return yaml.constructor.SafeConstructor().construct_object(node, deep=True)

    def value(self, node: yaml.Node, key: str, name: str) -> Value | None:
        """A field's source: a path, or ``{path, default}``, ``{value}``, ``{path, unit}``."""
        if not isinstance(node, yaml.MappingNode):
            found = self.scalar(node, key) if isinstance(node, yaml.ScalarNode) else None
            if not isinstance(found, str) or not found:
                self.problem(node, key, "must be a path like customer.id, or {value: ...}")
                return None
            return Value(path=found)
        entries = self.entries(node, key, _VALUE)
        values = {k: self.scalar(v, f"{key}.{k}") for k, (_, v) in entries.items()}
        if ("path" in values) == ("value" in values):
            self.problem(node, key, "give either path (a field of the event) or value (a constant)")
            return None
        if "value" in values:
            return self._constant(node, key, name, values["value"])
        unit = values.get("unit")
        if unit is not None and (name != "occurred_at" or unit not in UNITS):
            self.problem(
                entries["unit"][1],
                f"{key}.unit",
                f"only occurred_at has a unit, one of {', '.join(UNITS)}",
            )
            return None
        if not isinstance(values["path"], str):
            self.problem(entries["path"][1], f"{key}.path", "must be a path like customer.id")
            return None
        return Value(path=values["path"], default=values.get("default"), unit=unit)

    def _constant(self, node: yaml.Node, key: str, name: str, value: Any) -> Value | None:
        allowed = CHOICES.get(name)
        if allowed is not None and value not in allowed:
            self.problem(node, key, f"{value!r} is not one of {', '.join(sorted(allowed))}")
            return None
        return Value(constant=value)

    def fields(self, node: yaml.Node, key: str, allowed: frozenset[str]) -> tuple[Fields, set[str]]:
        """The fields at ``node``, and the names given (a bad value is a problem already,
        not a missing field as well)."""
        found = []
        given = set()
        for name, (name_node, value_node) in self.entries(node, key).items():
            here = f"{key}.{name}"
            if name not in allowed:
                self.problem(
                    name_node,
                    here,
                    f"is not a canonical field here (allowed: {', '.join(sorted(allowed))})",
                )
                continue
            given.add(name)
            value = self.value(value_node, here, name)
            if value is not None:
                found.append((name, value))
        return tuple(found), given


def _event(
    reader: _Reader, name: str, node: yaml.Node, shared: set[str], anonymous: bool
) -> EventMapping | None:
    where = f"events.{name}"
    if isinstance(node, yaml.ScalarNode) and reader.scalar(node, where) == "skip":
        return EventMapping("skip")
    entries = reader.entries(node, where, _EVENT)
    if "type" not in entries:
        if isinstance(node, yaml.MappingNode):
            reader.problem(node, where, f"needs a type ({', '.join(FIELDS)}), or is skip")
        return None
    kind = reader.scalar(entries["type"][1], f"{where}.type")
    if kind not in FIELDS:
        reader.problem(
            entries["type"][1], f"{where}.type", f"{kind!r} is not a type ({', '.join(FIELDS)})"
        )
        return None
    own, named = (
        reader.fields(entries["fields"][1], f"{where}.fields", frozenset(COMMON + FIELDS[kind]))
        if "fields" in entries
        else ((), set())
    )
    each, items = _items(reader, entries, where, kind)
    given = named | {n for n in shared if n in COMMON + FIELDS[kind]}
    missing = [
        n
        for n in ("contact_id", "occurred_at", *REQUIRED[kind])
        if n not in given and not (n == "contact_id" and anonymous)
    ]
    if any(n.startswith("product.") for n in given) and "product.id" not in given:
        missing.append("product.id")
    if missing:
        reader.problem(node, where, f"a {kind} event needs {', '.join(missing)}")
    return EventMapping(kind, own, each, items)


def _items(
    reader: _Reader, entries: dict[str, tuple[yaml.Node, yaml.Node]], where: str, kind: str
) -> tuple[str | None, Fields]:
    if "items" not in entries:
        return None, ()
    key_node, node = entries["items"]
    if kind != "order":
        reader.problem(key_node, f"{where}.items", "only an order has items")
        return None, ()
    parts = reader.entries(node, f"{where}.items", ("each", "fields"))
    each = reader.scalar(parts["each"][1], f"{where}.items.each") if "each" in parts else None
    fields, named = (
        reader.fields(parts["fields"][1], f"{where}.items.fields", frozenset(ITEM_FIELDS))
        if "fields" in parts
        else ((), set())
    )
    if not isinstance(each, str) or "product.id" not in named:
        reader.problem(
            node,
            f"{where}.items",
            "needs each (the path of the order's lines) and fields with product.id",
        )
        return None, ()
    return each, fields


def read_mapping(path: Path) -> tuple[Mapping | None, list[ConfigProblem]]:
    """The mapping in ``path``, or None and every problem found."""
    file = str(path)
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return None, [ConfigProblem(file, None, None, exc.strerror or str(exc))]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [
            ConfigProblem(
                file, None if mark is None else mark.line + 1, None, f"not valid YAML: {exc}"
            )
        ]
    if root is None:
        return None, [ConfigProblem(file, 1, None, "the file is empty")]
    reader = _Reader(file)
    top = reader.entries(root, "", _TOP)
    for key in ("event", "events"):
        if key not in top and isinstance(root, yaml.MappingNode):
            reader.problem(root, key, "is required")
    event = reader.value(top["event"][1], "event", "event") if "event" in top else None
    anonymous = (
        reader.value(top["anonymous_id"][1], "anonymous_id", "anonymous_id")
        if "anonymous_id" in top
        else None
    )
    shared, named = (
        reader.fields(top["fields"][1], "fields", _ANY_FIELD) if "fields" in top else ((), set())
    )
    events = []
    for name, (_, node) in (
        reader.entries(top["events"][1], "events") if "events" in top else {}
    ).items():
        found = _event(reader, name, node, named, anonymous is not None)
        if found is not None:
            events.append((name, found))
    if reader.problems or event is None:
        return None, reader.problems
    return Mapping(file, event, tuple(events), shared, anonymous), []
