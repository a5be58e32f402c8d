"""A shop's schema moves on ahead of relance: the live worker, reading Confluent framing
through a real HTTP schema registry, decides an event written with a newer schema (a page
type and a field it does not know) instead of dead-lettering it (schemas/README.md)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import fastavro
import orjson
import pytest

from relance.codec.registry import RegistryEventCodec, RegistryOutputCodec
from relance.core.events import ContactProfile, Event, PageView, Product
from tests.integration.registry_server import Store, running_registry
from tests.integration.test_schema_registry import newer_page_view
from tests.unit.test_wire import RULES

from .conftest import Stack, wait_for

pytestmark = pytest.mark.integration

SHOE = Product("sku-1", "Trail shoe", 89.9, "EUR", "shoes", "https://shop.example/p/sku-1")
TOPIC_OF = {"page_view": "page-views", "contact": "contacts"}


@pytest.fixture
def registry() -> Iterator[tuple[str, Store]]:
    with running_registry() as running:
        yield running


def newer_view(stack: Stack, store: Store, contact: str, at: int) -> bytes:
    """A wishlist page view of the shoe, framed with the newer schema's id."""
    schema = newer_page_view()
    schema_id = store.register(
        f"{stack.topic('page-views')}-value", {"schema": orjson.dumps(schema).decode()}
    )
    body = io.BytesIO()
    fastavro.schemaless_writer(
        body,
        fastavro.parse_schema(schema),
        {
            "event_id": f"{contact}-wish",
            "contact_id": contact,
            "occurred_at": at,
            "page_type": "wishlist",
            "product": SHOE.to_record(),
            "category_id": None,
            "search_query": None,
            "url": None,
            "referrer": "newsletter",
        },
    )
    return b"\x00" + schema_id.to_bytes(4, "big") + body.getvalue()


def ours(url: str, stack: Stack, event: Event) -> bytes:
    return RegistryEventCodec(url, stack.topic(TOPIC_OF[event.type]), rules=RULES).encode(event)


def commands(stack: Stack, url: str, quiet: float) -> list[dict[str, Any]]:
    """Every command on the delivery topic once none has come for ``quiet`` seconds."""
    codec = RegistryOutputCodec(
        url, stack.topic("relance-deliveries"), stack.topic("relance-delivery-results")
    )
    consumer = stack.consumer("relance-deliveries")
    found: list[dict[str, Any]] = []
    try:
        last = deadline = time.monotonic()
        deadline += 90
        while time.monotonic() < deadline and (not found or time.monotonic() - last < quiet):
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                found.append(codec.decode_command(message.value()))
                last = time.monotonic()
    finally:
        consumer.close()
    return found


def test_a_page_view_of_a_newer_schema_is_decided_as_other_not_dead_lettered(
    stack: Stack, registry: tuple[str, Store]
) -> None:
    url, store = registry
    stack.start("worker", SCHEMA_REGISTRY_URL=url, RELANCE_INPUT_FORMAT="avro")
    t = time.time_ns() // 1_000_000
    producer = stack.producer()
    # fay views the shoe on its product page too: browse abandonment answers that view.
    # gus only put it on his wishlist: as a product view it would start browse abandonment.
    messages = [
        (
            "contacts",
            "fay",
            ours(
                url,
                stack,
                ContactProfile("fay-p", "fay", t, email="fay@example.com", marketing_opt_in=True),
            ),
        ),
        (
            "contacts",
            "gus",
            ours(
                url,
                stack,
                ContactProfile("gus-p", "gus", t, email="gus@example.com", marketing_opt_in=True),
            ),
        ),
        ("page-views", "fay", newer_view(stack, store, "fay", t + 10)),
        ("page-views", "gus", newer_view(stack, store, "gus", t + 10)),
        ("page-views", "fay", ours(url, stack, PageView("fay-1", "fay", t + 20, "product", SHOE))),
    ]
    for topic, key, value in messages:
        producer.produce(stack.topic(topic), key=key.encode(), value=value)
    assert producer.flush(10) == 0

    views = f'relance_events_consumed_total{{topic="{stack.topic("page-views")}"}}'
    wait_for(lambda: stack.metrics("worker").get(views) == 3.0, timeout=90)
    decided = commands(stack, url, quiet=6)
    assert [(c["contact_id"], c["scenario"]) for c in decided] == [("fay", "browse_abandonment")]
    # One product view: the wishlist one was not taken for another.
    assert [
        (item["product"]["id"], item["views"]) for item in decided[0]["payload"]["products"]
    ] == [("sku-1", 1)]
    rejected = {
        k: v
        for k, v in stack.metrics("worker").items()
        if k.startswith("relance_events_rejected_total{")
    }
    assert not any(rejected.values()), rejected
