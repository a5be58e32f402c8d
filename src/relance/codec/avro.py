"""Plain (schemaless) Avro for the canonical events, with the schemas from ``schemas/``."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Final

import fastavro
import msgspec

from relance.codec import event_reader
from relance.codec.limits import too_large_event
from relance.codec.records import FAST_TYPES, check_sizes, event_from_record, fits_rules
from relance.core.events import Event, EventType, event_to_record
from relance.core.scenarios import InputRules
from relance.errors import InvalidEventError

# Files in dependency order: a named type must be parsed before a record refers to it.
SCHEMA_FILES: Final = (
    "product",
    "order_item",
    "page_view",
    "cart_change",
    "order",
    "contact_profile",
    "send_command",
    "delivery_result",
    "catalog_update",
    "engagement",
)
RECORD_SCHEMA: Final[dict[EventType, str]] = {
    "page_view": "relance.PageView",
    "cart": "relance.CartChange",
    "order": "relance.Order",
    "contact": "relance.ContactProfile",
    "engagement": "relance.Engagement",
}
# Per event type, how many of its last fields a producer's older schema may lack (only
# these: each shape tried is one more way for foreign bytes to pass as a record).
# contact: first_name, attributes; engagement: scope.
ADDED_SINCE: Final[dict[EventType, int]] = {"contact": 2, "engagement": 1}
COMMAND_SCHEMA: Final = "relance.SendCommand"
RESULT_SCHEMA: Final = "relance.DeliveryResult"


def schema_dir() -> Path:
    """``relance/schemas`` inside a wheel, ``schemas/`` at the root of a source checkout."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "schemas"
    return packaged if packaged.is_dir() else here.parent.parent / "schemas"


@cache
def schemas() -> dict[str, Any]:
    """Every schema by full name (``relance.PageView`` ...), named types expanded inline.

    Expanded schemas stand alone, as a schema registry and the reference ``avro`` package
    need them.
    """
    named: dict[str, Any] = {}
    raw = [
        json.loads((schema_dir() / f"{name}.avsc").read_text(encoding="utf-8"))
        for name in SCHEMA_FILES
    ]
    for schema in raw:
        fastavro.parse_schema(schema, named_schemas=named)
    return {
        f"{s['namespace']}.{s['name']}": fastavro.parse_schema(
            s, named_schemas=dict(named), expand=True
        )
        for s in raw
    }


def schema_for(event_type: EventType) -> Any:
    return schemas()[RECORD_SCHEMA[event_type]]


def read_record(full_name: str, raw: bytes, start: int = 0) -> Any:
    """The record in the Avro body ``raw[start:]``, which must end exactly at its last byte
    (fastavro alone would ignore trailing bytes, the sign of a foreign schema)."""
    body = io.BytesIO(raw)
    body.seek(start)
    try:
        record = fastavro.schemaless_reader(body, schemas()[full_name], None)
    except Exception as exc:  # fastavro raises many kinds on truncated or foreign bytes
        kind = "truncated" if isinstance(exc, EOFError) else f"{type(exc).__name__}: {exc}"
        raise InvalidEventError("not_avro", f"not a {full_name} record: {kind}") from None
    if body.tell() != len(raw):
        raise InvalidEventError(
            "not_avro", f"not a {full_name} record: {len(raw) - body.tell()} bytes left over"
        )
    return record


@cache
def _fast_reader(event_type: EventType) -> Callable[[bytes, int], Any] | None:
    try:
        return event_reader.reader(schema_for(event_type))
    except event_reader.UnreadError:
        return None


def _fast(raw: bytes, start: int, event_type: EventType) -> Event | None:
    """The event if the fast reader reads the body and msgspec the record, and it keeps the
    rules types cannot express (sizes apart: the caller checks those); else ``None``, and
    the checking path reads it again to say what is wrong."""
    kind = FAST_TYPES.get(event_type)
    read = None if kind is None else _fast_reader(event_type)
    if read is None:
        return None
    try:
        event: Event = msgspec.convert(read(raw, start), kind)
    except (event_reader.UnreadError, msgspec.ValidationError):
        return None
    return event if fits_rules(event, typed_attributes=True) else None


def decode(raw: bytes, event_type: EventType, start: int = 0, *, rules: InputRules) -> Event:
    """The event in the Avro body ``raw[start:]``; ``rules`` bound the message's size (all of
    ``raw``, framing included) and its fields'."""
    full_name = RECORD_SCHEMA[event_type]
    size = len(raw)
    if size > rules.max_event_bytes:
        raise too_large_event(size, rules, lambda: read_record(full_name, raw, start))
    event = _fast(raw, start, event_type)
    if event is not None:
        check_sizes(event, rules, size)  # as the checking path does
        return event
    return _checked(raw, event_type, start, size, rules)


def _checked(raw: bytes, event_type: EventType, start: int, size: int, rules: InputRules) -> Event:
    """``decode`` through fastavro and the checking path of ``records``, which explains
    what is wrong with a body."""
    full_name = RECORD_SCHEMA[event_type]
    try:
        record = read_record(full_name, raw, start)
    except InvalidEventError:
        if start or event_type not in ADDED_SINCE:
            raise
        # Written by a producer whose schema predates the last fields (a profile before
        # first_name, an engagement before scope): read as it was written, those fields
        # taking their defaults.
        from relance.codec.outputs import read_evolved  # it imports this module

        record = read_evolved(full_name, raw, newest=ADDED_SINCE[event_type])
    return event_from_record(record, event_type, rules=rules, size=size)


def encode(event: Event) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema_for(event.type), event_to_record(event))
    return buffer.getvalue()
