"""Confluent-framed Avro through a schema registry: magic byte 0, 4-byte schema id, body.

Subjects follow TopicNameStrategy (``<topic>-value``), so a codec is made per topic. Our
schemas are registered once per subject; a writer schema is fetched once per id. A body
written with exactly our schema (same Parsing Canonical Form) is read with it directly;
another writer schema is resolved against ours by fastavro; both are validated by ``records``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from typing import Any

import fastavro
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from relance.codec import avro
from relance.codec.command_writer import write_command
from relance.codec.limits import too_large_event
from relance.codec.outputs import AVRO_SHAPES, Record, checked_command, read_avro, write_avro
from relance.codec.records import event_from_record
from relance.codec.standalone import canonical, standalone
from relance.codec.wire import read_avro_event
from relance.core.commands import SendCommand
from relance.core.events import Event, EventType
from relance.core.scenarios import InputRules
from relance.errors import InvalidEventError

MAGIC = b"\x00"
HEADER = 5
Body = Callable[[bytes, int], Any]
"""Reads the Avro body at ``raw[start:]`` written with one writer schema."""


class SchemaRegistry:
    """Our view of a Confluent Schema Registry: ids for our schemas, readers for ids."""

    def __init__(
        self, client: SchemaRegistryClient | str, conf: Mapping[str, Any] | None = None
    ) -> None:
        if isinstance(client, str):
            client = SchemaRegistryClient({"url": client, **(conf or {})})
        self.client = client
        self._ids: dict[tuple[str, str], int] = {}
        self._bodies: dict[tuple[int, str], Body] = {}

    def schema_id(self, subject: str, full_name: str) -> int:
        """Registers our schema ``full_name`` under ``subject`` (once) and gives its id."""
        key = (subject, full_name)
        found = self._ids.get(key)
        if found is None:
            schema = Schema(json.dumps(standalone(full_name)), "AVRO")
            found = self._ids[key] = self.client.register_schema(subject, schema)
        return found

    def frame(self, subject: str, full_name: str, body: bytes) -> bytes:
        return MAGIC + self.schema_id(subject, full_name).to_bytes(4, "big") + body

    def body_reader(
        self, raw: bytes, full_name: str, fast: Body, checked: Callable[[Any], Any]
    ) -> tuple[Body, int]:
        """The reader for the framed ``raw`` and where its body starts.

        ``fast`` reads a body written with our schema; a body written with another schema is
        resolved to ours by fastavro and handed to ``checked``.
        """
        if len(raw) < HEADER or raw[0] != 0:
            raise InvalidEventError(
                "not_avro", "not Confluent framing (magic byte 0 and a 4-byte schema id)"
            )
        schema_id = int.from_bytes(raw[1:HEADER], "big")
        body = self._bodies.get((schema_id, full_name))
        if body is None:
            body = self._bodies[(schema_id, full_name)] = self._body(
                schema_id, full_name, fast, checked
            )
        return body, HEADER

    def _body(
        self, schema_id: int, full_name: str, fast: Body, checked: Callable[[Any], Any]
    ) -> Body:
        try:
            found = self.client.get_schema(schema_id)
        except Exception as exc:  # unknown id, registry down, bad answer: all the same here
            raise InvalidEventError(
                "not_avro", f"schema id {schema_id}: {type(exc).__name__}: {exc}"
            ) from None
        if (found.schema_type or "AVRO") != "AVRO" or found.schema_str is None:
            raise InvalidEventError("not_avro", f"schema id {schema_id} is not an Avro schema")
        try:
            writer = fastavro.parse_schema(json.loads(found.schema_str))
        except Exception as exc:  # a schema we cannot parse
            raise InvalidEventError(
                "not_avro", f"schema id {schema_id} cannot be parsed: {exc}"
            ) from None
        if fastavro.schema.to_parsing_canonical_form(writer) == canonical(full_name):
            return fast
        return _resolving(schema_id, writer, full_name, checked)


def _resolving(schema_id: int, writer: Any, full_name: str, checked: Callable[[Any], Any]) -> Body:
    reader = avro.schemas()[full_name]
    written_as = writer.get("name", writer.get("type")) if isinstance(writer, dict) else writer

    def read(raw: bytes, start: int) -> Any:
        buffer = io.BytesIO(raw)
        buffer.seek(start)
        try:
            record = fastavro.schemaless_reader(buffer, writer, reader)
        except Exception as exc:  # fastavro raises many kinds on foreign bytes
            raise InvalidEventError(
                "not_avro",
                f"written as {written_as} (schema id {schema_id}), which cannot be "
                f"read as {full_name}: {type(exc).__name__}: {exc}",
            ) from None
        return checked(record)

    return read


class RegistryEventCodec:
    """Events of one topic in Confluent framing; the subject is ``<topic>-value``. ``rules``
    bound the sizes of what it decodes."""

    def __init__(self, registry: SchemaRegistry | str, topic: str, *, rules: InputRules) -> None:
        self.registry = (
            registry if isinstance(registry, SchemaRegistry) else SchemaRegistry(registry)
        )
        self.subject = f"{topic}-value"
        self.rules = rules

    def decode(self, raw: bytes, event_type: EventType) -> Event:
        full_name = avro.RECORD_SCHEMA[event_type]
        rules = self.rules
        if len(raw) > rules.max_event_bytes:  # before any registry look-up
            raise too_large_event(len(raw), rules, lambda: avro.read_record(full_name, raw, HEADER))
        # Both readers are kept per schema id: they take nothing of this message.
        body, start = self.registry.body_reader(
            raw,
            full_name,
            lambda data, at: read_avro_event(data, at, event_type, rules),
            lambda record: event_from_record(record, event_type, rules=rules),
        )
        event: Event = body(raw, start)
        return event

    def encode(self, event: Event) -> bytes:
        full_name = avro.RECORD_SCHEMA[event.type]
        return self.registry.frame(self.subject, full_name, avro.encode(event))


class RegistryOutputCodec:
    """Send commands and delivery results in Confluent framing, one subject per topic."""

    def __init__(
        self, registry: SchemaRegistry | str, command_topic: str, result_topic: str
    ) -> None:
        self.registry = (
            registry if isinstance(registry, SchemaRegistry) else SchemaRegistry(registry)
        )
        self.subjects = {
            avro.COMMAND_SCHEMA: f"{command_topic}-value",
            avro.RESULT_SCHEMA: f"{result_topic}-value",
        }

    def _encode(self, full_name: str, record: Mapping[str, Any]) -> bytes:
        to_avro, _ = AVRO_SHAPES[full_name]
        body = write_avro(full_name, to_avro(record))
        return self.registry.frame(self.subjects[full_name], full_name, body)

    def _decode(self, full_name: str, raw: bytes) -> Record:
        _, from_avro = AVRO_SHAPES[full_name]
        body, start = self.registry.body_reader(
            raw, full_name, lambda data, at: read_avro(full_name, data, at), lambda r: r
        )
        return from_avro(body(raw, start))

    def encode_command(self, record: Mapping[str, Any]) -> bytes:
        return self._encode(avro.COMMAND_SCHEMA, record)

    def encode_send(self, command: SendCommand) -> bytes:
        return self.registry.frame(
            self.subjects[avro.COMMAND_SCHEMA], avro.COMMAND_SCHEMA, write_command(command)
        )

    def decode_command(self, raw: bytes) -> Record:
        return checked_command(self._decode(avro.COMMAND_SCHEMA, raw))

    def encode_result(self, record: Mapping[str, Any]) -> bytes:
        return self._encode(avro.RESULT_SCHEMA, record)

    def decode_result(self, raw: bytes) -> Record:
        return self._decode(avro.RESULT_SCHEMA, raw)
