"""Confluent-framed Avro through a real HTTP schema registry (``registry_server``)."""

from __future__ import annotations

import copy
import io
import json
import socket
from collections.abc import Iterator
from typing import Any

import fastavro
import pytest

from relance.codec import avro
from relance.codec.registry import RegistryEventCodec, RegistryOutputCodec, SchemaRegistry
from relance.codec.standalone import standalone
from relance.codec.wire import AutoEventCodec, AvroEventCodec, JsonEventCodec, event_codec
from relance.core.events import Event, PageView, Product
from relance.core.scenarios import InputRules
from relance.errors import InvalidEventError
from tests.integration.registry_server import Store, running_registry
from tests.unit.test_codec import EVENTS
from tests.unit.test_wire import COMMAND, RESULT, RULES

pytestmark = pytest.mark.integration
TOPICS = {"page_view": "page-views", "cart": "carts", "order": "orders", "contact": "contacts"}


@pytest.fixture
def registry() -> Iterator[tuple[str, Store]]:
    with running_registry() as running:
        yield running


def codec(url: str, event: Event) -> RegistryEventCodec:
    return RegistryEventCodec(url, TOPICS[event.type], rules=RULES)


def refusal(codec: RegistryEventCodec | AutoEventCodec, raw: bytes) -> InvalidEventError:
    with pytest.raises(InvalidEventError) as caught:
        codec.decode(raw, "page_view")
    assert caught.value.reason == "not_avro"
    return caught.value


def framed(schema_id: int, schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), record)
    return b"\x00" + schema_id.to_bytes(4, "big") + buffer.getvalue()


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_id)
def test_round_trip_in_confluent_framing(registry: tuple[str, Store], event: Event) -> None:
    url, store = registry
    raw = codec(url, event).encode(event)
    schema_id = int.from_bytes(raw[1:5], "big")
    assert raw[0] == 0
    assert raw[5:] == AvroEventCodec(rules=RULES).encode(event)
    assert store.subjects[f"{TOPICS[event.type]}-value"] == [schema_id]
    assert json.loads(store.schemas[schema_id]["schema"]) == standalone(
        avro.RECORD_SCHEMA[event.type]
    )
    # A reader that never registered anything fetches the writer schema by id.
    assert codec(url, event).decode(raw, event.type) == event


def test_registers_once_and_fetches_each_id_once(registry: tuple[str, Store]) -> None:
    url, store = registry
    writer = RegistryEventCodec(url, "page-views", rules=RULES)
    reader = RegistryEventCodec(url, "page-views", rules=RULES)
    raws = [writer.encode(EVENTS[0]) for _ in range(3)]
    for raw in raws:
        assert reader.decode(raw, "page_view") == EVENTS[0]
    assert store.requests.count(("POST", "/subjects/page-views-value/versions")) == 1
    assert store.requests.count(("GET", f"/schemas/ids/{int.from_bytes(raws[0][1:5])}")) == 1


def test_unknown_schema_id_is_refused(registry: tuple[str, Store]) -> None:
    url, _ = registry
    raw = b"\x00\x00\x00\x03\xe7" + AvroEventCodec(rules=RULES).encode(EVENTS[0])
    error = refusal(RegistryEventCodec(url, "page-views", rules=RULES), raw)
    assert "schema id 999" in error.detail
    assert "not found" in error.detail


def test_an_older_compatible_writer_schema_is_resolved(registry: tuple[str, Store]) -> None:
    url, store = registry
    schema = standalone("relance.PageView")
    older = {**schema, "fields": [f for f in schema["fields"] if f["name"] != "url"]}
    older_id = store.register("page-views-value", {"schema": json.dumps(older)})
    raw = framed(
        older_id,
        older,
        {
            "event_id": "e1",
            "contact_id": "c1",
            "occurred_at": 1714557600000,
            "page_type": "home",
            "product": None,
            "category_id": None,
            "search_query": None,
        },
    )
    event = RegistryEventCodec(url, "page-views", rules=RULES).decode(raw, "page_view")
    assert event == PageView("e1", "c1", 1714557600000, "home")


def newer_page_view() -> dict[str, Any]:
    """PageView as a shop evolves it: a page type and a field relance does not know."""
    schema = copy.deepcopy(standalone("relance.PageView"))
    (page_type,) = (f for f in schema["fields"] if f["name"] == "page_type")
    page_type["type"]["symbols"].append("wishlist")
    schema["fields"].append({"name": "referrer", "type": "string"})
    return schema


def test_a_newer_writer_schema_with_a_new_symbol_reads_it_as_other(
    registry: tuple[str, Store],
) -> None:
    url, store = registry
    newer = newer_page_view()
    newer_id = store.register("page-views-value", {"schema": json.dumps(newer)})
    raw = framed(
        newer_id,
        newer,
        {
            "event_id": "e1",
            "contact_id": "c1",
            "occurred_at": 1714557600000,
            "page_type": "wishlist",
            "product": {"id": "p1"},
            "category_id": None,
            "search_query": None,
            "url": None,
            "referrer": "mail",
        },
    )
    event = RegistryEventCodec(url, "page-views", rules=RULES).decode(raw, "page_view")
    assert event == PageView("e1", "c1", 1714557600000, "other", Product("p1"))


def test_a_record_of_another_schema_is_refused(registry: tuple[str, Store]) -> None:
    url, _ = registry
    cart = RegistryEventCodec(url, "carts", rules=RULES).encode(EVENTS[2])
    error = refusal(RegistryEventCodec(url, "page-views", rules=RULES), cart)
    assert "relance.CartChange" in error.detail
    assert "relance.PageView" in error.detail


@pytest.mark.parametrize("raw", [b"\x00\x00", b"\x00\x00\x00\x00\x01\xff\xff"])
def test_short_or_garbage_bodies_are_refused(registry: tuple[str, Store], raw: bytes) -> None:
    url, _ = registry
    RegistryEventCodec(url, "page-views", rules=RULES).encode(EVENTS[0])  # schema id 1 exists
    refusal(RegistryEventCodec(url, "page-views", rules=RULES), raw)


def test_unreachable_registry_is_refused_not_raised() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    registry = SchemaRegistry(f"http://127.0.0.1:{port}", {"max.retries": 0, "timeout": 2})
    error = refusal(
        RegistryEventCodec(registry, "page-views", rules=RULES), b"\x00\x00\x00\x00\x01\x02"
    )
    assert "schema id 1" in error.detail


def test_auto_reads_framed_json_and_plain_avro(registry: tuple[str, Store]) -> None:
    url, _ = registry
    framing = RegistryEventCodec(url, "page-views", rules=RULES)
    auto = event_codec("auto", framing, rules=RULES)
    assert isinstance(auto, AutoEventCodec)
    for raw in (
        framing.encode(EVENTS[0]),
        JsonEventCodec(rules=RULES).encode(EVENTS[0]),
        AvroEventCodec(rules=RULES).encode(EVENTS[0]),
    ):
        assert auto.decode(raw, "page_view") == EVENTS[0]
    assert auto.encode(EVENTS[0])[0] == 0


def test_commands_and_results_through_the_registry(registry: tuple[str, Store]) -> None:
    url, store = registry
    shared = SchemaRegistry(url)
    writer = RegistryOutputCodec(shared, "send-commands", "delivery-results")
    reader = RegistryOutputCodec(url, "send-commands", "delivery-results")
    assert reader.decode_command(writer.encode_command(COMMAND)) == COMMAND
    assert reader.decode_result(writer.encode_result(RESULT)) == RESULT
    assert set(store.subjects) == {"send-commands-value", "delivery-results-value"}


def test_framed_events_keep_the_input_limits(registry: tuple[str, Store]) -> None:
    url, _ = registry
    framing = RegistryEventCodec(url, "page-views", rules=RULES)

    def refused(raw: bytes) -> InvalidEventError:
        with pytest.raises(InvalidEventError) as caught:
            framing.decode(raw, "page_view")
        assert caught.value.reason == "too_large"
        return caught.value

    long_url = PageView("e1", "c1", 1, "home", url="u" * (RULES.max_url_bytes + 1))
    assert refused(framing.encode(long_url)).detail == (
        f"url is {RULES.max_url_bytes + 1:,} bytes, more than inputs.max_url_bytes "
        f"({RULES.max_url_bytes:,})"
    )
    huge = PageView("e1", "c1", 1, "search", search_query="q" * 100_000)
    raw = RegistryEventCodec(url, "page-views", rules=InputRules(max_query_bytes=200_000)).encode(
        huge
    )
    assert refused(raw).detail.endswith("its largest field is search_query (100,000 bytes)")
