"""The JSON fast path accepts nothing the checking path refuses, and decodes it identically."""

from __future__ import annotations

import json
from itertools import product as pairs
from typing import Any

import pytest

from relance.codec.json import _UNREAD, _fast, _tag, envelope
from relance.codec.records import event_from_record
from relance.core.scenarios import InputRules
from relance.errors import InvalidEventError

PRODUCT = {
    "id": "p1",
    "name": "Shoe",
    "price": 59.9,
    "currency": "EUR",
    "category_id": "c",
    "url": "u",
    "image_url": "i",
    "in_stock": True,
}
BASES: list[dict[str, Any]] = [
    {
        "type": "page_view",
        "event_id": "e",
        "contact_id": "c",
        "occurred_at": 1,
        "page_type": "product",
        "product": PRODUCT,
        "url": "u",
    },
    {
        "type": "cart",
        "event_id": "e",
        "contact_id": "c",
        "occurred_at": 1,
        "action": "add",
        "product": PRODUCT,
        "quantity": 2,
        "cart_id": "k",
    },
    {
        "type": "order",
        "event_id": "e",
        "contact_id": "c",
        "occurred_at": 1,
        "order_id": "o",
        "status": "placed",
        "items": [{"product": PRODUCT, "quantity": 1}],
        "total": 10,
        "currency": "EUR",
    },
    {
        "type": "contact",
        "event_id": "e",
        "contact_id": "c",
        "occurred_at": 1,
        "email": "a@example.com",
        "phone": "+33600000000",
        "locale": "fr-FR",
        "timezone": "Europe/Paris",
        "marketing_opt_in": True,
        "birthday": "1990-04-21",
        "subscription_ends_on": "2025-01-31",
        "sms_opt_in": False,
    },
]
VALUES: list[Any] = [
    None,
    "",
    "x",
    0,
    -1,
    3,
    1.5,
    True,
    [],
    {},
    "2024-05-01T10:00:00Z",
    "clear",
    "update",
    "product",
    2**70,
    2**31 - 1,
    2**31,
    "2024-02-30",
    "20240501",
    "2024-05-01",
    "Mars/Olympus",
    "UTC",
]


def mutations(record: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, value in pairs(list(record), VALUES):
        out.append({**record, key: value})
        out.append({k: v for k, v in record.items() if k != key})
    for key, value in pairs(list(PRODUCT), VALUES):
        if "product" in record:
            out.append({**record, "product": {**PRODUCT, key: value}})
    return out


def slow(record: dict[str, Any]) -> Any:
    try:
        return event_from_record(record, rules=InputRules())
    except InvalidEventError:
        return None


@pytest.mark.parametrize("separators", [(", ", ": "), (",", ":")], ids=["spaced", "compact"])
@pytest.mark.parametrize("base", BASES, ids=lambda b: b["type"])
def test_fast_path_agrees_with_the_checking_path(
    base: dict[str, Any], separators: tuple[str, str]
) -> None:
    accepted = 0
    for record in [base, *mutations(base)]:
        raw = json.dumps(record, separators=separators).encode()
        fast = _fast(raw, None, _UNREAD)
        found = envelope(raw)
        if found is not None:  # simulate passes the type it read with the envelope
            assert _fast(raw, None, found.type) == fast
        if fast is None:
            continue
        accepted += 1
        checked = slow(record)
        assert checked == fast, record
        assert repr(checked) == repr(fast), record  # same types too (1.0 vs 1)
    assert accepted > 10


@pytest.mark.parametrize(
    ("raw", "expected", "found"),
    [
        (b'{"type":"page_view","contact_id":"c"}', None, "page_view"),
        (b'{"type":"orders","contact_id":"c"}', None, "orders"),  # not a kind: parsed
        (b'{"type": "cart"}', None, "cart"),
        # A type further in may be a nested object's: parsed, the record has none.
        (b'{"product":{"type":"order"},"contact_id":"c"}', None, None),
        (b'{"product":{"type":"order"},"contact_id":"c"}', "page_view", None),
        (b'{"type":"order","product":{"type":"cart"}}', None, "order"),
        (b'{"contact_id":"c","type":"cart"}', None, "cart"),
        (b'{"type":"cart"}', "cart", "cart"),
        (b'{"type":"cart"}', "order", "cart"),
        (b'{"contact_id":"c"}', None, None),
    ],
)
def test_the_type_read_is_the_records_own_not_a_nested_objects(
    raw: bytes, expected: Any, found: str | None
) -> None:
    assert _tag(raw, expected) == found
