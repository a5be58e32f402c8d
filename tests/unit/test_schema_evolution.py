"""What producers may change in their schemas and relance still reads (schemas/README.md),
checked with Apache Avro's own compatibility rules (the ones a schema registry applies) and
with fastavro's schema resolution, which relance reads with."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from typing import Any

import avro.compatibility
import avro.schema
import fastavro
import pytest

from relance.codec import avro as relance_avro
from relance.codec.records import event_from_record
from relance.codec.standalone import standalone
from relance.codec.wire import AvroEventCodec
from relance.core.events import Engagement, Event, event_to_record
from relance.errors import InvalidEventError

from .test_codec import EVENTS
from .test_wire import RULES

Schema = dict[str, Any]
INPUTS: dict[str, Schema] = {
    event_type: standalone(name) for event_type, name in relance_avro.RECORD_SCHEMA.items()
}
# One event of each input type, with the field that holds its enum.
SAMPLES: dict[str, tuple[Event, str]] = {
    "page_view": (EVENTS[0], "page_type"),
    "cart": (EVENTS[2], "action"),
    "order": (EVENTS[4], "status"),
    "engagement": (Engagement("e8", "c1", 1714557600000, "click"), "kind"),
}


def enums(schema: Any) -> Iterator[dict[str, Any]]:
    """Every enum defined in a standalone schema, nested ones included."""
    if isinstance(schema, list):
        for branch in schema:
            yield from enums(branch)
    elif isinstance(schema, dict):
        if schema.get("type") == "enum":
            yield schema
        for field in schema.get("fields", ()):
            yield from enums(field["type"])
        for key in ("items", "values"):
            yield from enums(schema.get(key))
        if isinstance(schema.get("type"), dict | list):
            yield from enums(schema["type"])


def reads(reader: Schema, writer: Schema) -> bool:
    """Whether data written with ``writer`` can be read with ``reader`` (Avro's rules)."""
    checker = avro.compatibility.ReaderWriterCompatibilityChecker()
    result = checker.get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    return result.compatibility is avro.compatibility.SchemaCompatibilityType.compatible


def with_symbol(schema: Schema, symbol: str) -> Schema:
    """The schema as a producer evolves it: a symbol appended to its enum."""
    newer = copy.deepcopy(schema)
    for enum in enums(newer):
        enum["symbols"].append(symbol)
    return newer


def without_defaults(schema: Schema) -> Schema:
    older = copy.deepcopy(schema)
    for enum in enums(older):
        enum.pop("default", None)
    return older


def fields(schema: Schema) -> list[dict[str, Any]]:
    return list(schema["fields"])


def records(schema: Any) -> Iterator[dict[str, Any]]:
    """Every record defined in a standalone schema, itself first."""
    if isinstance(schema, list):
        for branch in schema:
            yield from records(branch)
    elif isinstance(schema, dict):
        if schema.get("type") == "record":
            yield schema
            for field in schema["fields"]:
                yield from records(field["type"])
        elif isinstance(schema.get("type"), dict | list):
            yield from records(schema["type"])
        else:
            yield from records(schema.get("items"))


@pytest.mark.parametrize("full_name", sorted(relance_avro.schemas()))
def test_every_enum_has_a_default_among_its_symbols(full_name: str) -> None:
    found = list(enums(standalone(full_name)))
    for enum in found:
        assert enum.get("default") in enum["symbols"], enum["name"]
    inputs = set(relance_avro.RECORD_SCHEMA.values())
    if full_name in inputs:
        assert all(enum["default"] == "other" for enum in found)


@pytest.mark.parametrize("full_name", sorted(relance_avro.schemas()))
def test_every_optional_field_defaults_to_null(full_name: str) -> None:
    for field in (f for record in records(standalone(full_name)) for f in fields(record)):
        if isinstance(field["type"], list) and "null" in field["type"]:
            assert field["type"][0] == "null", field["name"]
            assert "default" in field and field["default"] is None, field["name"]


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_a_symbol_a_producer_adds_is_read_as_other(event_type: str) -> None:
    ours = INPUTS[event_type]
    newer = with_symbol(ours, "added_later")
    assert reads(ours, newer)
    assert not reads(without_defaults(ours), newer)  # what the default buys
    event, name = SAMPLES[event_type]
    written = {**event_to_record(event), name: "added_later"}
    del written["type"]
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(newer), written)
    buffer.seek(0)
    record = fastavro.schemaless_reader(
        buffer,
        fastavro.parse_schema(newer),
        relance_avro.schemas()[relance_avro.RECORD_SCHEMA[event.type]],
    )
    decided = event_from_record(record, event.type, rules=RULES)
    assert getattr(decided, name) == "other"


@pytest.mark.parametrize("event_type", sorted(INPUTS))
def test_a_producer_may_add_fields_and_drop_optional_ones(event_type: str) -> None:
    ours = INPUTS[event_type]
    added = {**ours, "fields": [*fields(ours), {"name": "referrer", "type": "string"}]}
    assert reads(ours, added)
    optional = [f for f in fields(ours) if "default" in f]
    dropped = {**ours, "fields": [f for f in fields(ours) if f not in optional]}
    assert reads(ours, dropped)
    required = {**ours, "fields": [f for f in fields(ours) if f["name"] != "event_id"]}
    assert not reads(ours, required)


@pytest.mark.parametrize("event_type", sorted(INPUTS))
def test_a_double_reads_what_a_producer_writes_as_int_long_or_float(event_type: str) -> None:
    """Money is a double: a producer's int, long or float is promoted on reading."""
    ours = INPUTS[event_type]
    for narrower in ("int", "long", "float"):
        text = json.dumps(ours).replace('"double"', json.dumps(narrower))
        assert reads(ours, json.loads(text)), narrower


@pytest.mark.parametrize("event_type", sorted(INPUTS))
def test_these_schemas_read_what_the_schemas_before_other_wrote(event_type: str) -> None:
    """The registry's default rule (BACKWARD) accepts them over the first ones."""
    ours = INPUTS[event_type]
    before = without_defaults(ours)
    for enum in enums(before):
        if enum["name"] != "PageType":  # it had ``other`` from the start
            enum["symbols"].remove("other")
    assert reads(ours, before)


def test_plain_avro_refuses_a_symbol_it_does_not_know() -> None:
    """Plain Avro carries no writer schema: a symbol appended after ours is an index past
    our last one, refused; it cannot be told from bytes of another record."""
    newer = with_symbol(INPUTS["page_view"], "wishlist")
    record = {**event_to_record(EVENTS[0]), "page_type": "wishlist"}
    del record["type"]
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(newer), record)
    with pytest.raises(InvalidEventError) as caught:
        AvroEventCodec(rules=RULES).decode(buffer.getvalue(), "page_view")
    assert caught.value.reason == "not_avro"
