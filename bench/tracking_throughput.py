"""How fast ``relance simulate`` replays a Segment export, against the same events as
relance's own (events per second, one worker).

    python bench/tracking_throughput.py [--contacts 20000] [--repeat 3]

Generates shop traffic (``relance.demo.samples.traffic``), keeps the events a Segment
source says (carts' ``update`` and ``clear``, and orders paid, shipped or delivered, have no
Segment event; a Segment product has no stock), and writes them twice: as canonical JSON
lines and as the Segment calls a Kafka destination would deliver (``identify`` with traits,
``track`` with the E-commerce V2 events; ``messageId`` the event id). Then it replays each
with one worker, the best and the median of ``--repeat`` runs, checks that both decide the
same commands, and prints what the Segment adapter costs per event.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
from pathlib import Path
from typing import Any

import orjson
from msgspec.structs import replace

from relance.codec.json import encode
from relance.core.events import CartChange, ContactProfile, Event, Order, PageView, Product
from relance.core.scenarios import DEFAULT_CONFIG
from relance.core.timestamps import to_iso
from relance.demo.processes import interrupted_by_signals
from relance.demo.samples.traffic import generate
from relance.offline.simulate import simulate
from relance.tracking.sources import plain_source

PAGES = {"cart": "Cart Viewed", "checkout": "Checkout Started"}
ORDERS = {"placed": "Order Completed", "cancelled": "Order Cancelled", "refunded": "Order Refunded"}


def _product(product: Product) -> dict[str, Any]:
    return {
        "product_id": product.id,
        "name": product.name,
        "price": product.price,
        "currency": product.currency,
        "category": product.category_id,
        "url": product.url,
        "image_url": product.image_url,
    }


def _track(event: Event, name: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "track", "event": name, **_common(event), "properties": properties}


def _common(event: Event) -> dict[str, Any]:
    return {
        "messageId": event.event_id,
        "userId": event.contact_id,
        "anonymousId": f"a-{event.contact_id}",
        "timestamp": to_iso(event.occurred_at),
        "context": {"library": {"name": "analytics.js", "version": "2.11.1"}},
    }


def _view(event: PageView) -> dict[str, Any] | None:
    if event.page_type == "product" and event.product is not None:
        return _track(event, "Product Viewed", _product(event.product))
    if event.page_type == "category":
        return _track(event, "Product List Viewed", {"category": event.category_id})
    if event.page_type == "search":
        return _track(event, "Products Searched", {"query": event.search_query})
    if event.page_type in PAGES:
        return _track(event, PAGES[event.page_type], {})
    return None


def segment_call(event: Event) -> dict[str, Any] | None:
    """``event`` as its Segment call, or None when Segment has no such event."""
    if isinstance(event, PageView):
        return _view(event)
    if isinstance(event, CartChange) and event.action in ("add", "remove") and event.product:
        return _track(
            event,
            f"Product {'Added' if event.action == 'add' else 'Removed'}",
            {**_product(event.product), "quantity": event.quantity, "cart_id": event.cart_id},
        )
    if isinstance(event, Order) and event.status in ORDERS:
        return _track(
            event,
            ORDERS[event.status],
            {
                "order_id": event.order_id,
                "total": event.total,
                "currency": event.currency,
                "products": [{**_product(i.product), "quantity": i.quantity} for i in event.items],
            },
        )
    if isinstance(event, ContactProfile):
        traits = {
            "email": event.email,
            "phone": event.phone,
            "firstName": event.first_name,
            "marketing_opt_in": event.marketing_opt_in,
            "sms_opt_in": event.sms_opt_in,
            "birthday": event.birthday.isoformat() if event.birthday else None,
        }
        return {
            "type": "identify",
            **_common(event),
            "traits": {k: v for k, v in traits.items() if v is not None},
            "context": {"locale": event.locale, "timezone": event.timezone},
        }
    return None


def _unstocked(event: Event) -> Event:
    """``event`` without its products' stock: a Segment product has none."""
    if isinstance(event, PageView | CartChange) and event.product is not None:
        return replace(event, product=replace(event.product, in_stock=None))
    if isinstance(event, Order):
        return replace(
            event,
            items=tuple(replace(i, product=replace(i.product, in_stock=None)) for i in event.items),
        )
    return event


def _rates(path: Path, repeat: int, fmt: str | None) -> tuple[list[float], bytes]:
    rates, out = [], io.BytesIO()
    for _ in range(repeat):
        out = io.BytesIO()
        summary = simulate(
            str(path),
            DEFAULT_CONFIG,
            out,
            workers=1,
            tracking=None if fmt is None else plain_source(fmt),
        )
        rates.append(summary.events / summary.seconds)
    return rates, out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    pairs = [
        (event, call)
        for event in map(_unstocked, generate(args.contacts))
        if (call := segment_call(event)) is not None
    ]
    with interrupted_by_signals(), tempfile.TemporaryDirectory() as tmp:
        canonical, segment = Path(tmp) / "canonical.jsonl", Path(tmp) / "segment.jsonl"
        canonical.write_bytes(b"".join(encode(event) + b"\n" for event, _ in pairs))
        segment.write_bytes(b"".join(orjson.dumps(call) + b"\n" for _, call in pairs))
        sizes = [f"{path.stat().st_size / 1e6:.1f} MB" for path in (canonical, segment)]
        print(
            f"{len(pairs):,} events of {args.contacts:,} contacts: canonical {sizes[0]}, "
            f"Segment {sizes[1]}"
        )
        results = {}
        for label, path, fmt in (("canonical", canonical, None), ("segment", segment, "segment")):
            rates, out = _rates(path, args.repeat, fmt)
            results[label] = (max(rates), out)
            print(
                f"{label}: best of {args.repeat} {max(rates):,.0f} events/s (median "
                f"{statistics.median(rates):,.0f}), {len(out.splitlines()):,} commands"
            )
    same = results["canonical"][1] == results["segment"][1]
    print(
        f"same commands: {same}; the Segment adapter costs "
        f"{1e6 / results['segment'][0] - 1e6 / results['canonical'][0]:.1f} µs an event"
    )


if __name__ == "__main__":
    main()
