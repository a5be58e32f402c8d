"""The Avro fast path (``codec.event_reader``) reads every body as fastavro and the checking
path read it: the same event, or the same refusal, for valid bodies and for the same bodies
cut short, altered at every byte and extended."""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

import fastavro
import pytest

from relance.codec import avro
from relance.codec.event_reader import UnreadError, reader
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

SHOE = Product("p1", "Chaussure été", 59.9, "EUR", "c", "https://s/p1", "https://s/i.jpg", True)
BARE = Product("p2")
EVENTS: list[Event] = [
    PageView("e1", "c1", 1_714_521_600_261, "product", SHOE, url="https://s/p1"),
    PageView("e2", "c1", -1, "search", None, "c", "chaussures d'été", None),
    PageView("e3", "c" * 300, 1, "other", BARE),  # an id over max_id_bytes
    CartChange("e4", "c2", 1, "add", SHOE, 2, "k"),
    CartChange("e5", "c2", 2, "clear", None, 0),
    CartChange("e6", "c2", 3, "add", SHOE, 0),  # quantity 0 to add: refused
    Order(
        "e7",
        "c3",
        4,
        "o1",
        "placed",
        (OrderItem(SHOE, 1), OrderItem(BARE, 3)),
        62.5,
        "EUR",
        "k",
    ),
    Order("e8", "c3", 5, "", "paid", (), 0.0, "EUR"),  # no order id: refused
    ContactProfile(
        "e9",
        "c4",
        6,
        email="a@example.com",
        phone="+33600000000",
        locale="fr-FR",
        timezone="Europe/Paris",
        marketing_opt_in=True,
        birthday=date(1990, 4, 21),
        subscription_ends_on=date(2025, 1, 31),
        sms_opt_in=False,
        first_name="Zoé",
    ),
    ContactProfile("e10", "c4", 7, timezone="Mars/Olympus"),  # refused
    ContactProfile("e11", "c4", 8, email="not an address"),  # refused
    ContactProfile("e12", "c4", 9, attributes={"tier": "gold"}),  # the checking path's
    ContactProfile("e17", "c4", 10, email="A@Example.COM", locale="", attributes={}),
    ContactProfile("e18", "c4", 11, attributes={"": "v"}),  # refused
    # The first and last times a datetime holds, and one past each: fastavro refuses those.
    PageView("e13", "c5", 253_402_300_799_999, "home"),
    PageView("e14", "c5", 253_402_300_800_000, "home"),
    PageView("e15", "c5", -62_135_596_800_000, "home"),
    PageView("e16", "c5", -62_135_596_800_001, "home"),
]
RULES = InputRules()


def outcome(read: Any) -> Any:
    try:
        event = read()
    except InvalidEventError as error:
        return ("refused", error.reason, str(error))
    return ("read", event, repr(event))  # same types too (1.0 against 1)


def both(raw: bytes, event: Event, start: int = 0) -> tuple[Any, Any]:
    size = len(raw)
    return (
        outcome(lambda: avro.decode(raw, event.type, start, rules=RULES)),
        outcome(lambda: avro._checked(raw, event.type, start, size, RULES)),
    )


def variants(raw: bytes) -> list[bytes]:
    """``raw`` cut at every byte, each byte set to a few values, and extended."""
    found = [raw[:cut] for cut in range(len(raw))]
    for at in range(len(raw)):
        for byte in {0x00, 0x01, 0x02, 0x03, 0x7F, 0x80, 0xFF, raw[at] ^ 0x01, raw[at] ^ 0x80}:
            found.append(raw[:at] + bytes([byte]) + raw[at + 1 :])
    found += [raw + b"\x00", raw + b"\x02a", raw[:-1] + b"\x80\x00"]
    return found


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_id)
def test_fast_path_reads_as_fastavro_and_the_checking_path(event: Event) -> None:
    raw = avro.encode(event)
    fast, checked = both(raw, event)
    assert fast == checked
    agreed = 0
    for changed in variants(raw):
        fast, checked = both(changed, event)
        assert fast == checked, changed
        agreed += fast[0] == "read"
    assert agreed > 0 or fast[0] == "refused"


@pytest.mark.parametrize("event", EVENTS[:1] + EVENTS[3:4], ids=lambda e: e.event_id)
def test_fast_path_reads_a_framed_body_from_its_start(event: Event) -> None:
    raw = b"\x00\x00\x00\x00\x07" + avro.encode(event)
    for changed in [raw, *variants(raw)[len(raw) :]]:
        fast, checked = both(changed, event, start=5)
        assert fast == checked, changed


@pytest.mark.parametrize("event", [EVENTS[0], EVENTS[3], EVENTS[6], EVENTS[8], EVENTS[11]])
def test_the_fast_path_is_taken_for_valid_events(event: Event) -> None:
    # Else the comparisons above would pass with the fast path never taken.
    assert avro._fast(avro.encode(event), 0, event.type) == event


@pytest.mark.parametrize(
    ("rules", "detail"),
    [
        (InputRules(max_attributes=2), "3 entries, more than inputs.max_attributes (2)"),
        (InputRules(max_attribute_bytes=4), "attributes value 'tier' is 6 bytes"),
    ],
)
def test_a_small_profile_s_attributes_are_counted_and_measured_on_both_paths(
    rules: InputRules, detail: str
) -> None:
    # 80 bytes: below the size under which no other field is measured.
    event = ContactProfile("e", "c", 1, attributes={"tier": "argent", "a": "b", "c": "d"})
    raw = avro.encode(event)
    assert len(raw) <= rules.smallest_field_bytes
    for read in (
        lambda: avro.decode(raw, "contact", rules=rules),
        lambda: avro._checked(raw, "contact", 0, len(raw), rules),
    ):
        with pytest.raises(InvalidEventError, match=re.escape(detail)):
            read()


def test_small_field_limits_refuse_on_both_paths() -> None:
    rules = InputRules(max_url_bytes=8)
    raw = avro.encode(EVENTS[0])
    with pytest.raises(InvalidEventError, match="url"):
        avro.decode(raw, "page_view", rules=rules)
    with pytest.raises(InvalidEventError, match="url"):
        avro._checked(raw, "page_view", 0, len(raw), rules)


@pytest.mark.parametrize(
    ("value", "body"),
    [
        (0, b"\x00"),
        (-1, b"\x01"),
        (63, b"\x7e"),
        (-65, b"\x81\x01"),
        (2**62, b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"),
        (-(2**63), b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
    ],
)
def test_longs_read_as_zigzag_varints(value: int, body: bytes) -> None:
    read = reader({"type": "record", "name": "L", "fields": [{"name": "n", "type": "long"}]})
    assert read(body, 0) == {"n": value}


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x03",  # beyond 64 bits
        b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",  # eleven bytes
        b"\x80",  # cut short
        b"\x00\x00",  # a byte left over
    ],
)
def test_longs_fastavro_reads_otherwise_are_left_to_it(body: bytes) -> None:
    read = reader({"type": "record", "name": "L", "fields": [{"name": "n", "type": "long"}]})
    with pytest.raises(UnreadError):
        read(body, 0)


def test_a_schema_with_a_type_it_does_not_read_is_left_to_fastavro() -> None:
    with pytest.raises(UnreadError):
        reader({"type": "record", "name": "F", "fields": [{"name": "x", "type": "float"}]})


def test_blocks_with_a_negative_count_read_as_fastavro_reads_them() -> None:
    # A writer may lead a block with -count and the block's size in bytes (Java's
    # BlockingBinaryEncoder does); fastavro writes positive counts only.
    schema = {
        "type": "record",
        "name": "Blocks",
        "fields": [
            {"name": "m", "type": {"type": "map", "values": "string"}},
            {"name": "a", "type": {"type": "array", "items": "long"}},
        ],
    }
    body = (
        b"\x01\x08\x02k\x02v"  # map: a block of -1 entry in 4 bytes,
        b"\x02\x02j\x02w\x00"  # one of 1 entry, and the empty block
        b"\x03\x04\x02\x04\x00"  # array: -2 items in 2 bytes (1 and 2), the empty block
    )
    expected = fastavro.schemaless_reader(io.BytesIO(body), fastavro.parse_schema(schema), None)
    assert expected == {"m": {"k": "v", "j": "w"}, "a": [1, 2]}
    assert reader(fastavro.parse_schema(schema))(body, 0) == expected
