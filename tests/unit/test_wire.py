"""Wire formats: every event through every codec, auto-detection, and refusals with reasons."""

from __future__ import annotations

import io
import json
from typing import Any

import fastavro
import pytest

from relance.codec import avro
from relance.codec.deadletter import DETAIL_KEPT, KEY_KEPT, VALUE_KEPT, dead_letter
from relance.codec.outputs import AvroOutputCodec, JsonOutputCodec, OutputCodec
from relance.codec.standalone import standalone
from relance.codec.wire import (
    AutoEventCodec,
    AvroEventCodec,
    EventCodec,
    JsonEventCodec,
    event_codec,
)
from relance.core.commands import Recipient, SendCommand
from relance.core.events import CartChange, Event, PageView, Product
from relance.core.scenarios import InputRules
from relance.errors import InvalidEventError
from tests.unit.test_codec import EVENTS

RULES = InputRules()

CODECS: dict[str, EventCodec] = {
    "json": JsonEventCodec(rules=RULES),
    "avro": AvroEventCodec(rules=RULES),
    "auto": AutoEventCodec(rules=RULES),
}
COMMAND = SendCommand(
    "4f0abcfc-c65d-5759-b93e-b13a7fadd55f",
    "c1",
    "cart_abandonment",
    1,
    "email",
    "cart_abandonment",
    100,
    1714561200000,
    Recipient("ann@example.com", "de-DE", None),
    {"cart_id": None, "items": [{"product": {"id": "p1", "name": "Shoe"}, "quantity": 1}]},
).to_record()
RESULT = {
    "command_id": COMMAND["command_id"],
    "contact_id": "c1",
    "scenario": "cart_abandonment",
    "channel": "email",
    "attempt": 2,
    "outcome": "temporary_failure",
    "detail": "421 try later",
    "at": "2024-05-01T11:00:05.250Z",
    "language": "de",
}
OUTPUTS: dict[str, OutputCodec] = {"json": JsonOutputCodec(), "avro": AvroOutputCodec()}


def refusal(codec: EventCodec, raw: bytes, event_type: Any = "page_view") -> InvalidEventError:
    with pytest.raises(InvalidEventError) as caught:
        codec.decode(raw, event_type)
    return caught.value


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_id)
def test_round_trip(name: str, event: Event) -> None:
    codec = CODECS[name]
    assert codec.decode(codec.encode(event), event.type) == event


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_id)
def test_auto_detects_json_and_plain_avro(event: Event) -> None:
    auto = AutoEventCodec(rules=RULES)
    assert auto.decode(JsonEventCodec(rules=RULES).encode(event), event.type) == event
    assert auto.decode(AvroEventCodec(rules=RULES).encode(event), event.type) == event


def test_auto_refuses_framing_without_a_registry() -> None:
    error = refusal(AutoEventCodec(rules=RULES), b"\x00\x00\x00\x00\x01" + avro.encode(EVENTS[0]))
    assert error.reason == "not_avro"
    assert "no schema registry" in error.detail


def test_format_setting_chooses_the_codec() -> None:
    assert isinstance(event_codec("json", rules=RULES), JsonEventCodec)
    assert isinstance(event_codec("avro", rules=RULES), AvroEventCodec)
    assert isinstance(event_codec("auto", rules=RULES), AutoEventCodec)
    with pytest.raises(ValueError, match="format must be one of"):
        event_codec("xml", rules=RULES)


def written_with(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), record)
    return buffer.getvalue()


PAGE_VIEW = avro.encode(EVENTS[0])
CART = avro.encode(EVENTS[2])
NO_EVENT_ID = written_with(
    {
        "type": "record",
        "name": "Other",
        "fields": [
            {"name": "contact_id", "type": "string"},
            {"name": "occurred_at", "type": "long"},
            {"name": "page_type", "type": "int"},
        ],
    },
    {"contact_id": "c1", "occurred_at": 1714557600000, "page_type": 0},
)


@pytest.mark.parametrize(
    ("name", "raw", "event_type", "reason", "detail"),
    [
        ("garbage", b"\xff\xfe\xfd\xfc", "page_view", "not_avro", "not a relance.PageView record"),
        ("empty", b"", "page_view", "not_avro", "truncated"),
        ("truncated", PAGE_VIEW[:-3], "page_view", "not_avro", "truncated"),
        ("trailing bytes", PAGE_VIEW + b"\x00\x00", "page_view", "not_avro", "left over"),
        ("a cart change read as a page view", CART, "page_view", "not_avro", "relance.PageView"),
        ("a page view read as an order", PAGE_VIEW, "order", "not_avro", "relance.Order"),
        ("another schema, no event_id", NO_EVENT_ID, "page_view", "not_avro", "relance.PageView"),
        (
            "empty contact id",
            avro.encode(PageView("e1", "", 1, "home")),
            "page_view",
            "bad_value",
            "contact_id must not be empty",
        ),
        (
            "empty product id",
            avro.encode(PageView("e1", "c1", 1, "product", Product(""))),
            "page_view",
            "bad_value",
            "product.id must not be empty",
        ),
        (
            "cart add without product",
            avro.encode(CartChange("e1", "c1", 1, "clear")).replace(b"\x06\x00", b"\x00\x00", 1),
            "cart",
            "missing_field",
            "product is required",
        ),
    ],
)
def test_avro_refusals_have_a_reason(
    name: str, raw: bytes, event_type: Any, reason: str, detail: str
) -> None:
    for codec in (CODECS["avro"], CODECS["auto"]):
        error = refusal(codec, raw, event_type)
        assert (error.reason, name) == (reason, name)
        assert detail in error.detail


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not_json"),
        (b'{"type": "page_view", "event_id": "e1"}', "missing_field"),
        (
            b'{"type": "page_view", "event_id": "e1", "contact_id": "c1", "occurred_at": 1, '
            b'"page_type": "shop"}',
            "bad_value",
        ),
        (b"{\xff\xfe}", "not_json"),
    ],
)
def test_json_refusals_have_a_reason(raw: bytes, reason: str) -> None:
    for codec in (CODECS["json"], CODECS["auto"]):
        assert refusal(codec, raw).reason == reason


def test_missing_required_field_in_avro_is_not_avro() -> None:
    schema = standalone("relance.PageView")
    without_page_type = {
        **schema,
        "name": "relance.Partial",
        "fields": [f for f in schema["fields"] if f["name"] != "page_type"],
    }
    raw = written_with(
        json.loads(json.dumps(without_page_type)),
        {"event_id": "e1", "contact_id": "c1", "occurred_at": 1},
    )
    error = refusal(AvroEventCodec(rules=RULES), raw)
    assert error.reason == "not_avro"


@pytest.mark.parametrize("name", OUTPUTS)
def test_command_and_result_round_trip(name: str) -> None:
    codec = OUTPUTS[name]
    assert codec.decode_command(codec.encode_command(COMMAND)) == COMMAND
    assert codec.decode_result(codec.encode_result(RESULT)) == RESULT
    assert codec.decode_result(codec.encode_result({**RESULT, "detail": None}))["detail"] is None


@pytest.mark.parametrize("name", OUTPUTS)
def test_a_command_that_expires_round_trips(name: str) -> None:
    codec = OUTPUTS[name]
    expiring = {**COMMAND, "expires_at": "2024-05-04T11:00:00.000Z"}
    assert codec.decode_command(codec.encode_command(expiring)) == expiring


@pytest.mark.parametrize("name", OUTPUTS)
def test_an_expired_command_has_a_result(name: str) -> None:
    codec = OUTPUTS[name]
    expired = {**RESULT, "outcome": "expired", "detail": "not delivered by ..."}
    assert codec.decode_result(codec.encode_result(expired)) == expired


RECIPIENT_ADDED = ("first_name", "attributes")  # with marketing, in one change


@pytest.mark.parametrize(
    "dropped", [("marketing",), ("expires_at", "marketing"), ("variant", "expires_at", "marketing")]
)
def test_plain_avro_written_before_the_last_fields_reads_with_their_defaults(
    dropped: tuple[str, ...],
) -> None:
    # What a worker not yet upgraded writes: the schema without its newest fields (and
    # the recipient without those added with marketing).
    schema = standalone(avro.COMMAND_SCHEMA)
    fields = []
    for field in schema["fields"]:
        if field["name"] == "recipient":
            record = field["type"]
            field = {
                **field,
                "type": {
                    **record,
                    "fields": [f for f in record["fields"] if f["name"] not in RECIPIENT_ADDED],
                },
            }
        if field["name"] not in dropped:
            fields.append(field)
    old = {key: value for key, value in COMMAND.items() if key not in dropped}
    recipient = {k: v for k, v in COMMAND["recipient"].items() if k not in RECIPIENT_ADDED}
    buffer = io.BytesIO()
    fastavro.schemaless_writer(
        buffer,
        fastavro.parse_schema({**schema, "fields": fields}),
        {
            **old,
            "recipient": recipient,
            "decided_at": 1714561200000,
            "payload": json.dumps(old["payload"]),
        },
    )
    decoded = AvroOutputCodec().decode_command(buffer.getvalue())
    assert decoded == {
        **COMMAND,
        "variant": None,
        "expires_at": None,
        "marketing": True,
        "recipient": {**recipient, "first_name": None, "attributes": {}},
    }


def test_a_result_written_before_its_language_reads_with_none() -> None:
    schema = standalone(avro.RESULT_SCHEMA)
    earlier = {**schema, "fields": [f for f in schema["fields"] if f["name"] != "language"]}
    buffer = io.BytesIO()
    old = {k: v for k, v in RESULT.items() if k != "language"}
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(earlier), {**old, "at": 1714561205250})
    assert AvroOutputCodec().decode_result(buffer.getvalue()) == {**RESULT, "language": None}


def test_avro_command_carries_the_payload_as_json_text() -> None:
    raw = AvroOutputCodec().encode_command(COMMAND)
    record = fastavro.schemaless_reader(io.BytesIO(raw), avro.schemas()[avro.COMMAND_SCHEMA], None)
    assert isinstance(record, dict)
    assert json.loads(record["payload"]) == COMMAND["payload"]


@pytest.mark.parametrize(
    ("name", "raw", "reason"),
    [
        ("avro", b"\x01\x02", "not_avro"),
        ("json", b"[1]", "not_an_object"),
        ("json", b"nope", "not_json"),
    ],
)
def test_garbage_commands_are_refused(name: str, raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        OUTPUTS[name].decode_command(raw)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("change", "reason", "detail"),
    [
        ({"command_id": None}, "missing_field", "command_id is required"),
        ({"decided_at": None}, "missing_field", "decided_at is required"),
        ({"contact_id": 7}, "bad_type", "contact_id must be a string, not an integer"),
        ({"scenario": ""}, "bad_value", "scenario must not be empty"),
        ({"decided_at": "yesterday"}, "bad_value", "decided_at is not an ISO-8601 time"),
        ({"expires_at": "2024-05-04T11:00:00"}, "bad_value", "expires_at is not an ISO-8601"),
        ({"payload": [1, 2]}, "bad_type", "payload must be an object, not a list"),
        ({"recipient": "ann@example.com"}, "bad_type", "recipient must be an object"),
    ],
)
def test_a_json_command_without_what_the_sender_reads_is_refused(
    change: dict[str, Any], reason: str, detail: str
) -> None:
    # Dropped (None) or changed: the sender would raise reading it, and stop.
    record = {key: value for key, value in {**COMMAND, **change}.items() if value is not None}
    with pytest.raises(InvalidEventError) as caught:
        JsonOutputCodec().decode_command(json.dumps(record).encode())
    assert caught.value.reason == reason and caught.value.detail.startswith(detail)


def test_an_avro_command_whose_payload_is_not_an_object_is_refused() -> None:
    record = {**COMMAND, "decided_at": 1714561200000, "payload": "[1, 2]"}
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, avro.schemas()[avro.COMMAND_SCHEMA], record)
    with pytest.raises(InvalidEventError) as caught:
        AvroOutputCodec().decode_command(buffer.getvalue())
    assert caught.value.reason == "bad_type"


def test_dead_letter_keeps_the_bytes_and_says_why() -> None:
    error = InvalidEventError("not_avro", "not a relance.PageView record: truncated")
    key, value, headers = dead_letter(
        b"c1", b"\xff\x00", error, topic="page-views", partition=3, offset=42, now_ms=1714557600000
    )
    assert (key, value) == (b"c1", b"\xff\x00")
    assert dict(headers) == {
        "relance.reason": b"not_avro",
        "relance.detail": b"not a relance.PageView record: truncated",
        "relance.source.topic": b"page-views",
        "relance.source.partition": b"3",
        "relance.source.offset": b"42",
        "relance.rejected_at": b"2024-05-01T10:00:00.000Z",
    }


def test_a_dead_letter_of_an_oversized_message_is_cut_to_stay_writable() -> None:
    error = InvalidEventError("too_large", "x" * 5000)
    value, key = b"v" * 5_000_000, b"k" * 20_000
    cut_key, cut_value, headers = dead_letter(
        key, value, error, topic="carts", partition=0, offset=7, now_ms=0
    )
    found = dict(headers)
    assert cut_value == value[:VALUE_KEPT] and cut_key == key[:KEY_KEPT]
    assert found["relance.truncated"] == b"key,value"
    assert found["relance.original_bytes"] == b"5000000"
    assert found["relance.original_key_bytes"] == b"20000"
    assert found["relance.detail"] == b"x" * DETAIL_KEPT + " …".encode()
    record = len(cut_key) + len(cut_value) + sum(len(k) + len(v) for k, v in headers)
    assert record < 1_000_000 - 1024  # the producer's default, with room for the framing


def test_a_dead_letter_up_to_the_limit_keeps_its_bytes_whole() -> None:
    error = InvalidEventError("too_large", "the event is large")
    value = b"v" * VALUE_KEPT
    key, kept, headers = dead_letter(
        b"c1", value, error, topic="carts", partition=0, offset=7, now_ms=0
    )
    assert (key, kept) == (b"c1", value)
    assert "relance.truncated" not in dict(headers)


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_id)
def test_damaged_avro_is_refused_or_read_never_raised(event: Event) -> None:
    raw = avro.encode(event)
    damaged = [raw[:cut] for cut in range(len(raw))]
    damaged += [
        raw[:i] + bytes([raw[i] ^ flip]) + raw[i + 1 :]
        for i in range(len(raw))
        for flip in (0x01, 0x80, 0xFF)
    ]
    for codec in (CODECS["avro"], CODECS["auto"]):
        for bad in damaged:
            try:
                codec.decode(bad, event.type)
            except InvalidEventError as error:
                assert error.reason in InvalidEventError.REASONS
