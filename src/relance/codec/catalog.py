"""Catalog updates on the wire: a JSON object (``"type": "product"`` optional) or Avro.

Avro is the schema in ``schemas/catalog_update.avsc``, plain or behind Confluent framing
(magic byte and schema id, read with our own schema: the catalog is the shop's, relance
only reads the fields it names).
"""

from __future__ import annotations

import io
from typing import Any

import fastavro
import orjson

from relance.codec import avro
from relance.codec.limits import too_large_event
from relance.codec.records import catalog_update
from relance.core.events import CatalogUpdate
from relance.core.scenarios import InputRules
from relance.errors import InvalidEventError

SCHEMA = "relance.CatalogUpdate"


def decode(raw: bytes, *, rules: InputRules) -> CatalogUpdate:
    """The update in ``raw``; ``rules`` bound its size and its fields' (as an event's)."""
    size = len(raw)
    if raw[:1] == b"{":
        if size > rules.max_event_bytes:
            raise too_large_event(size, rules, lambda: orjson.loads(raw))
        try:
            record: Any = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidEventError("not_json", f"not valid JSON: {exc}") from None
        if isinstance(record, dict) and record.get("type", "product") != "product":
            raise InvalidEventError(
                "unknown_type", f"type {record['type']!r} does not belong here (expected 'product')"
            )
        return catalog_update(record, rules=rules, size=size)
    start = 5 if raw[:1] == b"\x00" and size > 5 else 0
    if size > rules.max_event_bytes:
        raise too_large_event(size, rules, lambda: avro.read_record(SCHEMA, raw, start))
    try:
        record = avro.read_record(SCHEMA, raw, start)
    except InvalidEventError:
        raise
    except Exception as exc:
        raise InvalidEventError("not_avro", f"not a catalog update in Avro: {exc}") from None
    return catalog_update(record, rules=rules, size=size)


def encode_json(update: CatalogUpdate) -> bytes:
    return orjson.dumps(
        {
            "type": "product",
            "event_id": update.event_id,
            "occurred_at": update.occurred_at,
            "product": update.product.to_record(),
        }
    )


def encode_avro(update: CatalogUpdate) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(
        buffer,
        avro.schemas()[SCHEMA],
        {
            "event_id": update.event_id,
            "occurred_at": update.occurred_at,
            "product": update.product.to_record(),
        },
    )
    return buffer.getvalue()
