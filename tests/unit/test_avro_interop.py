"""Our Avro bytes are the reference implementation's: Apache ``avro`` reads ours, we read its."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import avro.io
import avro.schema
import pytest

from relance.codec import avro as relance_avro
from relance.codec.outputs import AvroOutputCodec
from relance.codec.records import event_from_record
from relance.codec.standalone import standalone
from relance.codec.wire import AvroEventCodec
from relance.core.events import Event, event_to_record
from tests.unit.test_codec import EVENTS
from tests.unit.test_wire import COMMAND, RESULT, RULES


def reference_schema(full_name: str) -> avro.schema.Schema:
    return avro.schema.parse(json.dumps(standalone(full_name)))


def reference_write(full_name: str, record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    avro.io.DatumWriter(reference_schema(full_name)).write(record, avro.io.BinaryEncoder(buffer))
    return buffer.getvalue()


def reference_read(full_name: str, raw: bytes) -> Any:
    reader = avro.io.DatumReader(reference_schema(full_name))
    return reader.read(avro.io.BinaryDecoder(io.BytesIO(raw)))


def moment(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)


@pytest.mark.parametrize("full_name", sorted(relance_avro.schemas()))
def test_every_schema_is_valid_for_the_reference_parser(full_name: str) -> None:
    parsed = reference_schema(full_name)
    assert isinstance(parsed, avro.schema.RecordSchema)
    assert parsed.fullname == full_name


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_id)
def test_reference_reads_what_we_write(event: Event) -> None:
    full_name = relance_avro.RECORD_SCHEMA[event.type]
    record = reference_read(full_name, AvroEventCodec(rules=RULES).encode(event))
    assert event_from_record(record, event.type, rules=RULES) == event


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_id)
def test_we_read_what_reference_writes(event: Event) -> None:
    full_name = relance_avro.RECORD_SCHEMA[event.type]
    record = event_to_record(event)
    del record["type"]
    record["occurred_at"] = moment(event.occurred_at)
    raw = reference_write(full_name, record)
    assert raw == AvroEventCodec(rules=RULES).encode(event)
    assert AvroEventCodec(rules=RULES).decode(raw, event.type) == event


def test_send_command_both_ways() -> None:
    codec = AvroOutputCodec()
    record = reference_read(relance_avro.COMMAND_SCHEMA, codec.encode_command(COMMAND))
    assert record["decided_at"] == moment(1714561200000)
    assert json.loads(record["payload"]) == COMMAND["payload"]
    assert record["recipient"] == COMMAND["recipient"]

    written = {
        **COMMAND,
        "decided_at": moment(1714561200000),
        "payload": json.dumps(COMMAND["payload"]),
    }
    assert codec.decode_command(reference_write(relance_avro.COMMAND_SCHEMA, written)) == COMMAND


def test_delivery_result_both_ways() -> None:
    codec = AvroOutputCodec()
    record = reference_read(relance_avro.RESULT_SCHEMA, codec.encode_result(RESULT))
    assert record == {**RESULT, "at": moment(1714561205250)}
    written = reference_write(relance_avro.RESULT_SCHEMA, {**RESULT, "at": moment(1714561205250)})
    assert codec.decode_result(written) == RESULT
