"""Event decoding: JSON and Avro records become the same validated events."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from relance.codec import avro
from relance.codec import json as json_codec
from relance.core.events import (
    CartChange,
    ContactProfile,
    Event,
    Order,
    OrderItem,
    PageView,
    Product,
)
from relance.core.scenarios import InputRules
from relance.errors import InvalidEventError

RULES = InputRules()
SHOE = Product(
    "p1", "Shoe", 59.9, "EUR", "c7", "https://s.example/p1", "https://i.example/1.jpg", True
)
EVENTS: list[Event] = [
    PageView("e1", "c1", 1714557600000, "product", SHOE, "c7", None, "https://s.example/p1"),
    PageView("e2", "c1", 1714557600000, "search", search_query="red shoes"),
    CartChange("e3", "c1", 1714557600000, "add", SHOE, 2, "cart-9"),
    CartChange("e4", "c1", 1714557600000, "clear"),
    Order("e5", "c1", 1714557600000, "o1", "placed", (OrderItem(SHOE, 2),), 119.8, "EUR", "cart-9"),
    ContactProfile(
        "e6",
        "c1",
        1714557600000,
        "ann@example.com",
        "+4915112345678",
        "de-DE",
        "Europe/Berlin",
        True,
        date(1990, 4, 21),
    ),
    ContactProfile("e7", "c1", 1714557600000),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_id)
def test_json_round_trip(event: Event) -> None:
    assert json_codec.decode(json_codec.encode(event), rules=RULES) == event


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_id)
def test_avro_round_trip(event: Event) -> None:
    assert avro.decode(avro.encode(event), event.type, rules=RULES) == event


def base(**extra: Any) -> dict[str, Any]:
    return {
        "type": "cart",
        "event_id": "e1",
        "contact_id": "c1",
        "action": "add",
        "occurred_at": 1714557600000,
        "product": {"id": "p1"},
        **extra,
    }


@pytest.mark.parametrize(
    "occurred_at",
    [
        1714557600000,
        "2024-05-01T10:00:00Z",
        "2024-05-01T10:00:00+00:00",
        "2024-05-01T12:00:00+02:00",
        "2024-05-01T10:00:00.000Z",
    ],
)
def test_occurred_at_as_epoch_ms_or_iso_with_offset(occurred_at: object) -> None:
    event = json_codec.decode(json.dumps(base(occurred_at=occurred_at)), rules=RULES)
    assert event.occurred_at == 1714557600000


@pytest.mark.parametrize(
    ("record", "reason", "detail"),
    [
        (base(occurred_at="2024-05-01T10:00:00"), "bad_value", "has no UTC offset"),
        (base(occurred_at="yesterday"), "bad_value", "occurred_at"),
        (base(occurred_at=True), "bad_type", "occurred_at must be epoch milliseconds or ISO-8601"),
        (base(contact_id=None), "missing_field", "contact_id is required"),
        (base(contact_id=42), "bad_type", "contact_id must be a string, not an integer"),
        (base(contact_id=""), "bad_value", "contact_id must not be empty"),
        (
            base(action="steal"),
            "bad_value",
            "action must be one of add, clear, other, remove, update",
        ),
        (base(product=None), "missing_field", "product is required for a cart add"),
        (base(product={"name": "x"}), "missing_field", "product.id is required"),
        (
            base(product={"id": "p1", "price": "cheap"}),
            "bad_type",
            "product.price must be a number",
        ),
        (base(quantity=-1), "bad_value", "quantity -1 is not valid for add"),
        (base(quantity=1.5), "bad_type", "quantity must be an integer"),
        (base(type="refund"), "unknown_type", "type must be one of"),
        (
            {
                "type": "contact",
                "event_id": "e",
                "contact_id": "c",
                "occurred_at": 1,
                "timezone": "Mars/Olympus",
            },
            "bad_value",
            "not an IANA time zone",
        ),
        (
            {
                "type": "contact",
                "event_id": "e",
                "contact_id": "c",
                "occurred_at": 1,
                "birthday": "21.04.1990",
            },
            "bad_value",
            "birthday must be a date",
        ),
        (
            {
                "type": "order",
                "event_id": "e",
                "contact_id": "c",
                "occurred_at": 1,
                "order_id": "o",
                "status": "placed",
                "items": [{"quantity": 1}],
                "total": 1,
                "currency": "EUR",
            },
            "missing_field",
            "items[0].product is required",
        ),
    ],
)
def test_invalid_records_say_why(record: dict[str, Any], reason: str, detail: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        json_codec.decode(json.dumps(record), rules=RULES)
    assert caught.value.reason == reason
    assert detail in caught.value.detail


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\x00\xffgarbage", "not_json"),
        (b"[1, 2]", "not_an_object"),
        (b'"x"', "not_an_object"),
    ],
)
def test_undecodable_json(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        json_codec.decode(raw, rules=RULES)
    assert caught.value.reason == reason


def test_a_type_pinned_by_the_topic_must_match_the_record() -> None:
    assert isinstance(
        json_codec.decode(json.dumps({**base(), "type": None}), "cart", rules=RULES), CartChange
    )
    with pytest.raises(InvalidEventError, match="does not belong here"):
        json_codec.decode(json.dumps(base()), "order", rules=RULES)


def test_garbage_is_not_avro() -> None:
    with pytest.raises(InvalidEventError) as caught:
        avro.decode(b"\x02garbage", "order", rules=RULES)
    assert caught.value.reason == "not_avro"


STRUCTS = {
    "relance.PageView": PageView,
    "relance.CartChange": CartChange,
    "relance.Order": Order,
    "relance.ContactProfile": ContactProfile,
    "relance.Product": Product,
    "relance.OrderItem": OrderItem,
}


@pytest.mark.parametrize("name", sorted(STRUCTS))
def test_schema_fields_match_the_struct(name: str) -> None:
    schema_path = avro.schema_dir() / next(
        f"{f}.avsc"
        for f in avro.SCHEMA_FILES
        if json.loads((avro.schema_dir() / f"{f}.avsc").read_text())["name"] == name.split(".")[1]
    )
    schema = json.loads(schema_path.read_text())
    assert schema["namespace"] == "relance"
    assert [f["name"] for f in schema["fields"]] == list(STRUCTS[name].__struct_fields__)


def untyped(**extra: Any) -> dict[str, Any]:
    return {k: v for k, v in base(**extra).items() if k != "type"}


@pytest.mark.parametrize(
    ("raw", "accepted"),
    [
        (b'{"type":"cart",' + json.dumps(untyped())[1:].encode(), True),
        (b'{"type": "cart", ' + json.dumps(untyped())[1:].encode(), True),
        (b'{"type":"order",' + json.dumps(untyped())[1:].encode(), False),
        (json.dumps(untyped()).encode(), True),
        # the expected tag nested, a different one at the top: the top one counts
        (json.dumps({**untyped(extra={"type": "cart"}), "type": "order"}).encode(), False),
        (json.dumps(untyped(extra={"type": "cart"})).encode(), True),
        (json.dumps(untyped(cart_id="type")).encode(), True),
    ],
)
def test_the_type_is_read_exactly_however_it_is_written(raw: bytes, accepted: bool) -> None:
    if accepted:
        assert isinstance(json_codec.decode(raw, "cart", rules=RULES), CartChange)
    else:
        with pytest.raises(InvalidEventError, match="does not belong here"):
            json_codec.decode(raw, "cart", rules=RULES)
