"""A month of generated shop traffic for the whole catalogue, as JSON lines on stdout.

    python -m relance.demo.samples.month [--contacts 2000] [--days 30] [--seed 1]

The shoppers of ``traffic.generate``, plus what the other scenarios answer: birthdays and
time zones in the profiles, searches that lead nowhere, a few products sold out for the
first half of the period (views show ``in_stock: false``) and back in the catalog then, a
few 20% cheaper from the middle on, and orders that are shipped and delivered days later.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import date

from msgspec.structs import replace

from relance.codec import catalog as catalog_codec
from relance.codec.json import encode
from relance.core.events import CatalogUpdate, ContactProfile, Event, Order, PageView, Product
from relance.core.timestamps import DAY_MS, HOUR_MS, MINUTE_MS
from relance.demo.samples.traffic import generate

ZONES = ("Europe/London", "Europe/Paris", "America/New_York", "Asia/Tokyo")
SOLD_OUT_EVERY = 40  # one product in 40 is sold out for the first half
PRICE_CUT_EVERY = 25  # one in 25 is 20% cheaper from the middle on


def month(contacts: int, days: int, seed: int) -> list[Event | CatalogUpdate]:
    rng = random.Random(seed)
    start = 1_714_521_600_000
    events = generate(
        contacts, sessions_per_contact=days / 7, hours=24 * days, start=start, seed=seed
    )
    middle = start + days * DAY_MS // 2
    sold_out: dict[str, PageView] = {}
    cut: dict[str, Product] = {}
    extra: list[Event | CatalogUpdate] = []
    out: list[Event | CatalogUpdate] = []
    for event in events:
        if isinstance(event, ContactProfile):
            event = replace(
                event,
                timezone=rng.choice(ZONES),
                birthday=date(1970 + rng.randrange(35), 5, 1 + rng.randrange(min(days, 28))),
            )
        elif isinstance(event, PageView) and event.product is not None:
            event = _viewed(event, event.product, rng, middle, cut, sold_out, extra)
        elif isinstance(event, Order):
            extra.append(
                replace(
                    event,
                    event_id=f"{event.event_id}-shipped",
                    status="shipped",
                    occurred_at=event.occurred_at + DAY_MS,
                )
            )
            extra.append(
                replace(
                    event,
                    event_id=f"{event.event_id}-delivered",
                    status="delivered",
                    occurred_at=event.occurred_at + 3 * DAY_MS,
                )
            )
        out.append(event)
    out.extend(extra)
    out.extend(_catalog_updates(sold_out, cut, middle))
    out.sort(key=lambda e: e.occurred_at)
    return out


def _viewed(
    event: PageView,
    product: Product,
    rng: random.Random,
    middle: int,
    cut: dict[str, Product],
    sold_out: dict[str, PageView],
    extra: list[Event | CatalogUpdate],
) -> PageView:
    """A product view, sold out before the middle of the month for some products (which
    are restocked then), noted for a price cut for others, followed by a search for some."""
    number = int(product.id.rsplit("-", 1)[-1])
    if number % PRICE_CUT_EVERY == 5:
        cut.setdefault(product.id, product)
    if number % SOLD_OUT_EVERY == 0 and event.occurred_at < middle:
        event = replace(event, product=replace(product, in_stock=False))
        sold_out.setdefault(product.id, event)
    if rng.random() < 0.02:
        extra.append(
            PageView(
                f"{event.event_id}-s",
                event.contact_id,
                event.occurred_at + MINUTE_MS,
                "search",
                search_query=product.category_id,
            )
        )
    return event


def _catalog_updates(
    sold_out: dict[str, PageView], cut: dict[str, Product], middle: int
) -> list[CatalogUpdate]:
    """The restocks and the price cuts of the middle of the month."""
    updates = []
    for product_id, view in sorted(sold_out.items()):
        assert view.product is not None
        updates.append(
            CatalogUpdate(
                f"restock-{product_id}", middle + HOUR_MS, replace(view.product, in_stock=True)
            )
        )
    for product_id, product in sorted(cut.items()):
        updates.append(
            CatalogUpdate(
                f"price-cut-{product_id}",
                middle + 2 * HOUR_MS,
                replace(product, price=round((product.price or 0) * 0.8, 2)),
            )
        )
    return updates


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    write = sys.stdout.buffer.write
    for event in month(args.contacts, args.days, args.seed):
        write(
            (
                catalog_codec.encode_json(event)
                if isinstance(event, CatalogUpdate)
                else encode(event)
            )
            + b"\n"
        )


if __name__ == "__main__":
    main()
