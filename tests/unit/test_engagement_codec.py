"""Engagement events on the wire: an unsubscribe's scope through every codec, its default for
records written before it, and a scope that is no family refused."""

from __future__ import annotations

import io
import json

import fastavro
import pytest

from relance.codec import avro
from relance.codec.wire import AutoEventCodec, AvroEventCodec, EventCodec, JsonEventCodec
from relance.core.events import Engagement
from relance.core.scenarios import InputRules
from relance.errors import InvalidEventError

RULES = InputRules()
CODECS: dict[str, EventCodec] = {
    "json": JsonEventCodec(rules=RULES),
    "avro": AvroEventCodec(rules=RULES),
    "auto": AutoEventCodec(rules=RULES),
}
LEFT = Engagement("e1", "c1", 1_714_561_200_000, "unsubscribe", "email", "m1", "reminders")


@pytest.mark.parametrize("name", sorted(CODECS))
def test_an_unsubscribe_keeps_its_scope_through_every_codec(name: str) -> None:
    codec = CODECS[name]
    assert codec.decode(codec.encode(LEFT), "engagement") == LEFT


def test_a_json_engagement_without_a_scope_is_about_all_marketing() -> None:
    raw = b'{"event_id": "e1", "contact_id": "c1", "occurred_at": 5, "kind": "unsubscribe"}'
    assert CODECS["json"].decode(raw, "engagement").scope == "all"  # type: ignore[union-attr]


def test_a_plain_avro_engagement_written_before_scope_reads_as_all() -> None:
    schema = json.loads((avro.schema_dir() / "engagement.avsc").read_text())
    schema["fields"] = [f for f in schema["fields"] if f["name"] != "scope"]
    body = io.BytesIO()
    record = {
        "event_id": "e1",
        "contact_id": "c1",
        "occurred_at": 5,
        "kind": "unsubscribe",
        "channel": "sms",
        "command_id": None,
    }
    fastavro.schemaless_writer(body, fastavro.parse_schema(schema), record)
    for name in ("avro", "auto"):
        assert CODECS[name].decode(body.getvalue(), "engagement") == Engagement(
            "e1", "c1", 5, "unsubscribe", "sms"
        )


@pytest.mark.parametrize("scope", ["promotions", "", 3])
def test_a_scope_that_is_no_family_is_refused_as_a_bad_value(scope: object) -> None:
    raw = json.dumps(
        {
            "event_id": "e1",
            "contact_id": "c1",
            "occurred_at": 5,
            "kind": "unsubscribe",
            "scope": scope,
        }
    ).encode()
    with pytest.raises(InvalidEventError) as refused:
        CODECS["json"].decode(raw, "engagement")
    assert refused.value.reason == "bad_value" and "scope must be one of all" in str(refused.value)
