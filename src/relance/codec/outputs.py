"""What relance writes: send commands and delivery results, as JSON or plain Avro.

The records are the dicts of ``SendCommand.to_record()`` and its delivery-result sibling
(times as ISO-8601 text, ``payload`` a dict). In Avro the times are ``timestamp-millis`` and
the payload is JSON text, since its shape is free-form per scenario.

A command read back is checked for what the sender needs of it (``checked_command``), in
every format: one without an id or a decision time is refused like a bad event, and
dead-lettered, rather than stopping the sender.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, Protocol

import fastavro
import orjson

from relance.codec import avro
from relance.codec.command_writer import write_command
from relance.codec.records import kind_of
from relance.core.commands import SendCommand
from relance.core.timestamps import parse_iso, to_iso
from relance.errors import InvalidEventError

Record = dict[str, Any]


class OutputCodec(Protocol):
    """How send commands and delivery results become bytes and back."""

    def encode_command(self, record: Mapping[str, Any]) -> bytes: ...
    def encode_send(self, command: SendCommand) -> bytes: ...  # = encode_command(to_record())
    def decode_command(self, raw: bytes) -> Record: ...
    def encode_result(self, record: Mapping[str, Any]) -> bytes: ...
    def decode_result(self, raw: bytes) -> Record: ...


class JsonOutputCodec:
    """One JSON object per message, exactly the record."""

    def encode_command(self, record: Mapping[str, Any]) -> bytes:
        return orjson.dumps(record)

    def encode_send(self, command: SendCommand) -> bytes:
        return orjson.dumps(command.to_record())

    def decode_command(self, raw: bytes) -> Record:
        return checked_command(_json_object(raw))

    def encode_result(self, record: Mapping[str, Any]) -> bytes:
        return orjson.dumps(record)

    def decode_result(self, raw: bytes) -> Record:
        return _json_object(raw)


def _json_object(raw: bytes) -> Record:
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEventError("not_json", f"not valid JSON: {exc}") from None
    if not isinstance(record, dict):
        raise InvalidEventError("not_an_object", "a record must be a JSON object")
    return record


def checked_command(record: Record) -> Record:
    """``record`` if it carries what the sender reads: ids, scenario and times it can parse,
    and a recipient and a payload that are objects when present; else ``InvalidEventError``."""
    for name in ("command_id", "contact_id", "scenario", "decided_at"):
        value = record.get(name)
        if value is None:
            raise InvalidEventError("missing_field", f"{name} is required")
        if not isinstance(value, str):
            raise InvalidEventError("bad_type", f"{name} must be a string, not {kind_of(value)}")
        if not value:
            raise InvalidEventError("bad_value", f"{name} must not be empty")
    for name in ("decided_at", "expires_at"):
        value = record.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidEventError("bad_type", f"{name} must be a string, not {kind_of(value)}")
        try:
            parse_iso(value)
        except ValueError as exc:
            raise InvalidEventError(
                "bad_value", f"{name} is not an ISO-8601 time with an offset: {exc}"
            ) from None
    for name, kind in (("channel", str), ("recipient", dict), ("payload", dict)):
        value = record.get(name)
        if value is not None and not isinstance(value, kind):
            raise InvalidEventError(
                "bad_type",
                f"{name} must be "
                f"{'a string' if kind is str else 'an object'}, "
                f"not {kind_of(value)}",
            )
    return record


# The Avro shape of each record: which fields are times, and which is JSON text.
def command_to_avro(record: Mapping[str, Any]) -> Record:
    expires = record.get("expires_at")
    return {
        **record,
        "decided_at": parse_iso(record["decided_at"]),
        "payload": orjson.dumps(record["payload"]).decode(),
        "expires_at": None if expires is None else parse_iso(expires),
    }


def command_from_avro(record: Record) -> Record:
    try:
        payload = orjson.loads(record["payload"])
    except orjson.JSONDecodeError as exc:
        raise InvalidEventError("bad_value", f"payload is not JSON text: {exc}") from None
    expires = record.get("expires_at")
    return {
        **record,
        "decided_at": to_iso(_epoch_ms(record["decided_at"])),
        "payload": payload,
        "expires_at": None if expires is None else to_iso(_epoch_ms(expires)),
    }


def result_to_avro(record: Mapping[str, Any]) -> Record:
    return {**record, "at": parse_iso(record["at"])}


def result_from_avro(record: Record) -> Record:
    return {**record, "at": to_iso(_epoch_ms(record["at"]))}


def _epoch_ms(value: Any) -> int:
    """fastavro reads timestamp-millis as datetimes; a record built here holds epoch ms."""
    if isinstance(value, int):
        return value
    return int(value.timestamp() * 1000)


def write_avro(full_name: str, record: Mapping[str, Any]) -> bytes:
    buffer = io.BytesIO()
    try:
        fastavro.schemaless_writer(buffer, avro.schemas()[full_name], record)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"not a {full_name} record: {exc}") from exc
    return buffer.getvalue()


def read_avro(full_name: str, raw: bytes, start: int = 0) -> Record:
    record: Record = avro.read_record(full_name, raw, start)
    return record


# Fields added to a nested record in the same change as a trailing field: a writer from
# before that field lacks them too. (Trailing field -> {nested record field: its fields}.)
ADDED_WITH: dict[str, dict[str, tuple[str, ...]]] = {
    "marketing": {"recipient": ("first_name", "attributes")}
}


def _without(fields: list[Any], nested: dict[str, tuple[str, ...]]) -> list[Any]:
    """``fields`` with the named fields of their nested records left out."""
    kept = []
    for field in fields:
        gone = nested.get(field["name"])
        if gone and isinstance(field["type"], dict) and "fields" in field["type"]:
            record = field["type"]
            field = {
                **field,
                "type": {
                    **record,
                    "fields": [f for f in record["fields"] if f["name"] not in gone],
                },
            }
        kept.append(field)
    return kept


@cache
def earlier_writers(full_name: str) -> tuple[Any, ...]:
    """The record as written before each of its trailing fields with a default was added,
    latest first (a send command before ``marketing`` and the recipient's ``first_name``,
    before ``expires_at``, before ``variant`` ...)."""
    from relance.codec.standalone import standalone  # it imports avro's schemas too

    schema = standalone(full_name)
    fields = list(schema["fields"])
    writers = []
    while fields and "default" in fields[-1]:
        fields = _without(fields[:-1], ADDED_WITH.get(fields[-1]["name"], {}))
        writers.append(fastavro.parse_schema({**schema, "fields": list(fields)}))
    return tuple(writers)


def read_evolved(full_name: str, raw: bytes, newest: int | None = None) -> Record:
    """A plain Avro body written with our schema or an earlier one of ``earlier_writers``
    (a rolling upgrade: a sender reads what a worker not yet upgraded wrote); the fields the
    writer lacked take their defaults. Plain Avro carries no writer schema, so the earlier
    shapes are tried in turn when ours does not read the body to its last byte; ``newest``:
    only that many of them, the latest."""
    try:
        return read_avro(full_name, raw)
    except InvalidEventError as error:
        first = error
    reader = avro.schemas()[full_name]
    for writer in earlier_writers(full_name)[:newest]:
        body = io.BytesIO(raw)
        try:
            record = fastavro.schemaless_reader(body, writer, reader)
        except Exception:  # fastavro raises many kinds on bytes of another shape
            continue
        if body.tell() == len(raw) and isinstance(record, dict):
            return record
    raise first


class AvroOutputCodec:
    """Plain schemaless Avro with ``schemas/send_command.avsc`` and ``delivery_result.avsc``."""

    def encode_command(self, record: Mapping[str, Any]) -> bytes:
        return write_avro(avro.COMMAND_SCHEMA, command_to_avro(record))

    def encode_send(self, command: SendCommand) -> bytes:
        return write_command(command)

    def decode_command(self, raw: bytes) -> Record:
        return checked_command(command_from_avro(read_evolved(avro.COMMAND_SCHEMA, raw)))

    def encode_result(self, record: Mapping[str, Any]) -> bytes:
        return write_avro(avro.RESULT_SCHEMA, result_to_avro(record))

    def decode_result(self, raw: bytes) -> Record:
        return result_from_avro(read_evolved(avro.RESULT_SCHEMA, raw))


AVRO_SHAPES: dict[str, tuple[Callable[[Mapping[str, Any]], Record], Callable[[Record], Record]]]
AVRO_SHAPES = {
    avro.COMMAND_SCHEMA: (command_to_avro, command_from_avro),
    avro.RESULT_SCHEMA: (result_to_avro, result_from_avro),
}
