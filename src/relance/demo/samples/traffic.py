"""Generated shop traffic: shoppers who browse, add to cart, buy or walk away.

Product popularity is long-tailed (Zipf-like), sessions are short bursts of page views, and
a share of the contacts have an opted-in profile, so every scenario and suppression occurs.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import Final

from relance.core.events import (
    CartChange,
    ContactProfile,
    Event,
    Order,
    OrderItem,
    PageView,
    Product,
)
from relance.core.timestamps import HOUR_MS, SECOND_MS

CATEGORIES = ("shoes", "shirts", "jackets", "bags", "watches", "lamps", "chairs", "plants")


@dataclass(frozen=True, slots=True)
class Shop:
    products: tuple[Product, ...]
    cum_weights: tuple[float, ...]
    by_id: dict[str, Product]

    @classmethod
    def build(cls, size: int = 5000, seed: int = 7) -> Shop:
        rng = random.Random(seed)
        products = tuple(
            Product(
                f"sku-{i}",
                f"{CATEGORIES[i % len(CATEGORIES)].title()[:-1]} {i}",
                round(rng.uniform(5, 300), 2),
                "EUR",
                CATEGORIES[i % len(CATEGORIES)],
                f"https://shop.example/p/sku-{i}",
                f"https://shop.example/img/sku-{i}.jpg",
                True,
            )
            for i in range(size)
        )
        return cls(
            products,
            tuple(accumulate(1 / (rank + 1) ** 1.1 for rank in range(size))),
            {product.id: product for product in products},
        )

    def pick(self, rng: random.Random, k: int = 1) -> list[Product]:
        return rng.choices(self.products, cum_weights=self.cum_weights, k=k)


# (locale, time zone, first names): French, Canadian French (French templates), English
# twice, and German, which has no templates and falls back to English.
PERSONAS: Final = (
    ("fr-FR", "Europe/Paris", ("Marie", "Lucas", "Chloé")),
    ("fr-CA", "America/Montreal", ("Gabriel", "Léa")),
    ("en-GB", "Europe/London", ("Oliver", "Amelia", None)),
    ("en-IE", "Europe/Dublin", ("Aoife", "Conor")),
    ("de-DE", "Europe/Berlin", ("Jonas", None)),
)


def persona(contact: str) -> tuple[str, str, str | None]:
    """A contact's language, zone and first name (some have none), from its id alone, so
    the random draws of a visit stay what they were."""
    number = zlib.crc32(contact.encode())
    locale, zone, names = PERSONAS[number % len(PERSONAS)]
    return locale, zone, names[(number // len(PERSONAS)) % len(names)]


def session(
    shop: Shop, rng: random.Random, contact: str, start: int, with_profile: bool
) -> Iterator[Event]:
    """One visit: a profile maybe, some views, maybe a cart, maybe an order."""
    ids = iter(range(1_000_000))
    t = start

    def next_id() -> str:
        return f"{contact}-{start}-{next(ids)}"

    if with_profile:
        locale, zone, first_name = persona(contact)
        yield ContactProfile(
            next_id(),
            contact,
            t,
            email=f"{contact}@example.com",
            locale=locale,
            timezone=zone,
            marketing_opt_in=rng.random() < 0.8,
            first_name=first_name,
        )
    viewed = shop.pick(rng, rng.randint(1, 12))
    carted: list[Product] = []
    for product in viewed:
        t += rng.randint(5, 90) * SECOND_MS
        if rng.random() < 0.15:
            yield PageView(next_id(), contact, t, "category", category_id=product.category_id)
            t += rng.randint(5, 30) * SECOND_MS
        yield PageView(next_id(), contact, t, "product", product, url=product.url)
        if rng.random() < 0.12:
            t += rng.randint(5, 60) * SECOND_MS
            carted.append(product)
            yield CartChange(next_id(), contact, t, "add", product, rng.randint(1, 2))
    if carted and rng.random() < 0.4:
        t += rng.randint(60, 600) * SECOND_MS
        items = tuple(OrderItem(p, 1) for p in carted)
        total = round(sum(p.price or 0 for p in carted), 2)
        yield Order(
            next_id(), contact, t, f"order-{contact}-{start}", "placed", items, total, "EUR"
        )


def generate(
    contacts: int,
    *,
    sessions_per_contact: float = 2.0,
    hours: int = 48,
    start: int = 1_714_521_600_000,
    seed: int = 1,
) -> list[Event]:
    """Events of ``contacts`` shoppers over ``hours``, sorted by time."""
    rng = random.Random(seed)
    shop = Shop.build()
    events: list[Event] = []
    for n in range(contacts):
        contact = f"contact-{n}"
        visits = max(1, round(rng.expovariate(1 / sessions_per_contact)))
        starts = sorted(start + rng.randrange(hours * HOUR_MS) for _ in range(visits))
        for index, visit_start in enumerate(starts):
            events.extend(
                session(
                    shop, rng, contact, visit_start, with_profile=index == 0 and rng.random() < 0.7
                )
            )
    events.sort(key=lambda event: event.occurred_at)
    return events
