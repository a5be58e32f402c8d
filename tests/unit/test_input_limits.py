"""The size limits of inbound events (``inputs`` in the scenario file), on every decode path:
a field over its kind's limit, or a message over ``max_event_bytes``, is refused as
``too_large`` with the field named; what is within the limits decodes as before."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from msgspec.structs import replace

from relance.codec import avro
from relance.codec import catalog as catalog_codec
from relance.codec import json as json_codec
from relance.codec.limits import _fields, check_fields
from relance.codec.wire import AutoEventCodec, AvroEventCodec, JsonEventCodec
from relance.core.events import (
    CartChange,
    CatalogUpdate,
    ContactProfile,
    Engagement,
    Event,
    Order,
    OrderItem,
    PageView,
    Product,
)
from relance.core.scenarios import InputRules
from relance.errors import InvalidEventError
from relance.scenario_file import load_config

RULES = InputRules()
LIMIT = {
    "id": RULES.max_id_bytes,
    "name": RULES.max_name_bytes,
    "url": RULES.max_url_bytes,
    "query": RULES.max_query_bytes,
}
SHOE = Product(
    "sku-1",
    "Shoe",
    59.9,
    "EUR",
    "shoes",
    "https://s.example/p/1",
    "https://s.example/i/1.jpg",
    True,
)

# (path of the field, its kind, an event with that field set to ``text``)
FIELDS: list[tuple[str, str, Callable[[str], Event]]] = [
    ("event_id", "id", lambda t: PageView(t, "c1", 1, "home")),
    ("contact_id", "id", lambda t: PageView("e1", t, 1, "home")),
    ("category_id", "id", lambda t: PageView("e1", "c1", 1, "category", category_id=t)),
    ("search_query", "query", lambda t: PageView("e1", "c1", 1, "search", search_query=t)),
    ("url", "url", lambda t: PageView("e1", "c1", 1, "home", url=t)),
    ("product.id", "id", lambda t: PageView("e1", "c1", 1, "product", replace(SHOE, id=t))),
    ("product.name", "name", lambda t: CartChange("e1", "c1", 1, "add", replace(SHOE, name=t))),
    (
        "product.currency",
        "id",
        lambda t: PageView("e1", "c1", 1, "product", replace(SHOE, currency=t)),
    ),
    (
        "product.category_id",
        "id",
        lambda t: PageView("e1", "c1", 1, "product", replace(SHOE, category_id=t)),
    ),
    ("product.url", "url", lambda t: PageView("e1", "c1", 1, "product", replace(SHOE, url=t))),
    (
        "product.image_url",
        "url",
        lambda t: CartChange("e1", "c1", 1, "add", replace(SHOE, image_url=t)),
    ),
    ("cart_id", "id", lambda t: CartChange("e1", "c1", 1, "add", SHOE, 1, t)),
    ("order_id", "id", lambda t: Order("e1", "c1", 1, t, "placed", (), 1.0, "EUR")),
    ("currency", "id", lambda t: Order("e1", "c1", 1, "o1", "placed", (), 1.0, t)),
    (
        "items[1].product.name",
        "name",
        lambda t: Order(
            "e1",
            "c1",
            1,
            "o1",
            "placed",
            (OrderItem(SHOE, 1), OrderItem(replace(SHOE, name=t), 1)),
            1.0,
            "EUR",
        ),
    ),
    ("locale", "id", lambda t: ContactProfile("e1", "c1", 1, locale=t)),
    ("first_name", "name", lambda t: ContactProfile("e1", "c1", 1, first_name=t)),
    ("command_id", "id", lambda t: Engagement("e1", "c1", 1, "open", command_id=t)),
]
CATALOG: list[tuple[str, str, Callable[[str], CatalogUpdate]]] = [
    ("event_id", "id", lambda t: CatalogUpdate(t, 1, SHOE)),
    ("product.url", "url", lambda t: CatalogUpdate("e1", 1, replace(SHOE, url=t))),
]


def refused(decode: Callable[[], object]) -> InvalidEventError:
    with pytest.raises(InvalidEventError) as caught:
        decode()
    return caught.value


def with_iso_time(event: Event) -> bytes:
    """The event as JSON with an ISO time, which the fast path leaves to the checking path."""
    record = json.loads(json_codec.encode(event))
    record["occurred_at"] = "1970-01-01T00:00:00.001Z"
    return json.dumps(record).encode()


def encodings(event: Event) -> dict[str, Callable[[], object]]:
    return {
        "json fast path": lambda: json_codec.decode(json_codec.encode(event), rules=RULES),
        "json checking path": lambda: json_codec.decode(with_iso_time(event), rules=RULES),
        "avro": lambda: avro.decode(avro.encode(event), event.type, rules=RULES),
    }


@pytest.mark.parametrize(("path", "kind", "make"), FIELDS, ids=[f[0] for f in FIELDS])
def test_a_field_over_its_limit_is_refused_too_large_naming_it(
    path: str, kind: str, make: Callable[[str], Event]
) -> None:
    limit = LIMIT[kind]
    at_limit, over = make("x" * limit), make("x" * (limit + 1))
    for name, decode in encodings(at_limit).items():
        assert decode() == at_limit, name
    for name, decode in encodings(over).items():
        error = refused(decode)
        assert (name, error.reason) == (name, "too_large")
        assert error.detail.startswith(f"{path} is {limit + 1:,} bytes"), (name, error.detail)
        assert f"inputs.max_{kind}_bytes ({limit:,})" in error.detail


@pytest.mark.parametrize(("path", "kind", "make"), CATALOG, ids=[f[0] for f in CATALOG])
def test_a_catalog_update_has_the_same_limits(
    path: str, kind: str, make: Callable[[str], CatalogUpdate]
) -> None:
    limit = LIMIT[kind]
    fine, over = make("x" * limit), make("x" * (limit + 1))
    for encode in (catalog_codec.encode_json, catalog_codec.encode_avro):
        assert catalog_codec.decode(encode(fine), rules=RULES) == fine
        error = refused(partial(catalog_codec.decode, encode(over), rules=RULES))
        assert error.reason == "too_large" and error.detail.startswith(f"{path} is ")


def test_sizes_are_utf8_bytes_not_characters() -> None:
    name = "\U0001f45f" * (RULES.max_name_bytes // 4)  # a shoe, four bytes
    fine = CartChange("e1", "c1", 1, "add", replace(SHOE, name=name))
    assert json_codec.decode(json_codec.encode(fine), rules=RULES) == fine
    over = CartChange("e1", "c1", 1, "add", replace(SHOE, name=name + "e"))
    error = refused(lambda: json_codec.decode(json_codec.encode(over), rules=RULES))
    assert error.detail.startswith(f"product.name is {RULES.max_name_bytes + 1:,} bytes")
    # Escaped in the JSON text, the same characters count as what they decode to.
    escaped = json.dumps(json.loads(json_codec.encode(over)), ensure_ascii=True).encode()
    assert b"\\ud83d" in escaped
    assert refused(lambda: json_codec.decode(escaped, rules=RULES)).reason == "too_large"


def big_event(size: int) -> Event:
    return PageView("e1", "c1", 1, "search", search_query="q" * size)


@pytest.mark.parametrize(
    ("codec", "encoding"),
    [
        (JsonEventCodec, "json"),
        (AvroEventCodec, "avro"),
        (AutoEventCodec, "json"),
        (AutoEventCodec, "avro"),
    ],
)
def test_a_message_over_max_event_bytes_is_refused_naming_its_largest_field(
    codec: type[JsonEventCodec | AvroEventCodec | AutoEventCodec], encoding: str
) -> None:
    rules = InputRules(max_query_bytes=10_000_000)  # the message's size is the limit hit
    event = big_event(5_000_000)
    raw = avro.encode(event) if encoding == "avro" else json_codec.encode(event)
    error = refused(lambda: codec(rules=rules).decode(raw, "page_view"))
    assert error.reason == "too_large"
    assert error.detail == (
        f"the event is {len(raw):,} bytes, more than inputs.max_event_bytes (65,536); its "
        "largest field is search_query (5,000,000 bytes)"
    )


def test_a_message_of_exactly_max_event_bytes_is_accepted() -> None:
    rules = InputRules(max_event_bytes=2000, max_query_bytes=2000)
    base = json_codec.encode(big_event(0))
    event = big_event(2000 - len(base))
    raw = json_codec.encode(event)
    assert len(raw) == 2000
    assert json_codec.decode(raw, rules=rules) == event
    error = refused(lambda: json_codec.decode(raw + b" ", rules=rules))
    assert error.reason == "too_large" and "2,001 bytes" in error.detail


def test_an_oversized_message_that_is_not_even_readable_says_its_size() -> None:
    raw = b"{" + b"x" * 70_000
    error = refused(lambda: json_codec.decode(raw, rules=RULES))
    assert error.reason == "too_large"
    assert error.detail == "the event is 70,001 bytes, more than inputs.max_event_bytes (65,536)"
    assert (
        refused(lambda: avro.decode(b"\x02" * 70_000, "order", rules=RULES)).reason == "too_large"
    )
    assert refused(lambda: catalog_codec.decode(raw, rules=RULES)).reason == "too_large"


def test_the_scenario_file_sets_the_limits() -> None:
    config = load_config(
        "scenarios: {cart_abandonment: {}}\ninputs:\n  max_event_bytes: 1000\n"
        "  max_id_bytes: 8\n  max_name_bytes: 9\n  max_url_bytes: 10\n"
        "  max_query_bytes: 11\n  cart_lines: 3\n"
    )
    assert config.inputs == InputRules(
        max_event_bytes=1000,
        max_id_bytes=8,
        max_name_bytes=9,
        max_url_bytes=10,
        max_query_bytes=11,
        cart_lines=3,
    )
    assert config.inputs.smallest_field_bytes == 8 and config.inputs.screen == (2, 2, 2, 2)
    event = PageView("e1", "c123456789", 1, "home")
    error = refused(lambda: json_codec.decode(json_codec.encode(event), rules=config.inputs))
    assert error.detail == "contact_id is 10 bytes, more than inputs.max_id_bytes (8)"


def random_text(rng: random.Random, limit: int) -> str | None:
    if rng.random() < 0.2:
        return None
    alphabet = rng.choice(["x", "é", "\u20ac", "\U0001f45f"])  # 1 to 4 bytes a character
    target = rng.choice([limit, limit + 1, limit // 4, limit // 4 + 1, rng.randrange(limit * 2)])
    return alphabet * max(1, target // len(alphabet.encode()))


def test_the_quick_screen_never_misses_a_field_over_its_limit() -> None:
    rng = random.Random(7)
    rules = InputRules(max_id_bytes=16, max_name_bytes=24, max_url_bytes=32, max_query_bytes=40)
    limits = {"id": 16, "name": 24, "url": 32, "query": 40}
    for _ in range(3000):
        makers: list[Callable[[str], Any]] = [m for _, _, m in FIELDS] + [m for _, _, m in CATALOG]
        event: Any = rng.choice(makers)("x")
        product = Product(
            rng.choice(["p", "p" * 17]),
            random_text(rng, 24),
            1.0,
            random_text(rng, 16),
            random_text(rng, 16),
            random_text(rng, 32),
            random_text(rng, 32),
        )
        if getattr(event, "product", None) is not None:
            event = replace(event, product=product)
        if isinstance(event, Order):
            event = replace(event, items=(OrderItem(product, 1),))
        over = [path for path, text, kind in _fields(event) if len(text.encode()) > limits[kind]]
        # Without the message's size, or with it (no field is longer than its message).
        for size in (
            None,
            len(
                json_codec.encode(event)
                if not isinstance(event, CatalogUpdate)
                else catalog_codec.encode_json(event)
            ),
        ):
            try:
                check_fields(event, rules, size)
            except InvalidEventError as error:
                assert over and error.detail.startswith(over[0]), (event, error)
            else:
                assert not over, event


@pytest.mark.parametrize(
    "record",
    [
        {"type": "cart", "action": "add", "quantity": 2**31, "product": {"id": "p1"}},
        {
            "type": "order",
            "order_id": "o1",
            "status": "placed",
            "total": 1,
            "currency": "EUR",
            "items": [{"product": {"id": "p1"}, "quantity": 2**31}],
        },
    ],
)
def test_a_quantity_is_at_most_an_avro_int_on_every_path(record: dict[str, Any]) -> None:
    base = {"event_id": "e1", "contact_id": "c1", "occurred_at": 1}
    for time in (1, "1970-01-01T00:00:00.001Z"):  # the fast path, the checking path
        raw = json.dumps({**base, **record, "occurred_at": time}).encode()
        error = refused(lambda raw=raw: json_codec.decode(raw, rules=RULES))
        assert error.reason == "bad_value" and "2147483647" in error.detail
