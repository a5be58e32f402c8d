"""Generated traffic that looks like a large shop's: the benchmarks' default ("realistic").

Most contacts come once, view two or three products and leave; a few come back, view dozens,
add to cart, and fewer still order. Each contact has one profile upsert, 1 s before its first
event (as the OTTO sample's replay gives each session one). Many contacts are about at once,
so consecutive events are mostly of different contacts, as a big shop's stream interleaves
them. The numbers are calibrated (``measures.TARGET``, docs/performance.md) against:

- a replayed clickstream of a large online store: 78 % product views, 20 % profile upserts,
  about 5 events per contact, 59 % distinct contacts in any window of 5,000 events;
- the OTTO sample (tests/data) for the shape of a visit: the gaps between its events
  (median 30 s, quartiles 13 s and 65 s), a third of the views going back to a product the
  contact viewed before, about 10 views per cart add among the contacts who add to cart.

Time is a loop of ``contacts / CONTACTS_PER_SECOND`` seconds: first visits fall uniformly
on it and a return visit that would pass its end comes round to its start, so the stream is
alike from end to end whatever the number of contacts, and its statistics do not depend on
it. The classic traffic (``traffic.generate``) is the other profile.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from relance.core.events import CartChange, ContactProfile, Event, Order, OrderItem, PageView
from relance.core.timestamps import HOUR_MS, MINUTE_MS, SECOND_MS
from relance.demo.samples.traffic import Shop

START = 1_714_521_600_000  # 2024-05-01T00:00:00Z
# First visits per second of shop time: how many contacts are about at once, and so how
# many distinct contacts a window of events holds (59 % of 5,000 at this rate).
CONTACTS_PER_SECOND = 7.0
CATALOGUE = 20_000  # products, their popularity long-tailed (Zipf, ``traffic.Shop``)
# Between two events of a visit, seconds: log-normal with the OTTO sample's median and
# quartiles, at most 25 minutes so that a visit stays one (30 minutes without an event end it).
GAP_MEDIAN_S, GAP_SIGMA, MAX_GAP_S = 30.0, 1.2, 25 * 60
REPEAT_VIEW = 0.34  # a view of a product the contact viewed before (OTTO: 34 %)
RETURN_AFTER_MS = 4 * HOUR_MS  # mean wait before a return visit, past the 30 minutes
MAX_VIEWS = 300
VISIT_GAP_MS = 30 * MINUTE_MS + SECOND_MS  # more than the 30 minutes that end a visit
# The profile upsert comes from the shop's CRM (a sign-up, a login, a sync) at most this long
# before the first visit, not with it.
PROFILE_LEAD_MS = 10 * MINUTE_MS


@dataclass(frozen=True, slots=True)
class Visitor:
    """A kind of contact. Product views per visit are log-normal (``views_median``,
    ``VIEWS_SIGMA``), rounded: most visits short, a few very long."""

    share: float  # of the contacts
    views_median: float
    returns: float  # after each visit, the chance of another
    cart_per_view: float  # a view followed by a cart add of the product
    order: float  # a visit that ends with lines in the cart ends with an order of them


VIEWS_SIGMA = 1.0
# Most contacts browse and never add to cart; the few who do (2 %) are the engaged ones, who
# view more and come back, as the OTTO sample's do (about 10 views per cart add among them).
BROWSER = Visitor(share=0.98, views_median=1.7, returns=0.1, cart_per_view=0.0, order=0.0)
SHOPPER = Visitor(share=0.02, views_median=8.0, returns=0.6, cart_per_view=0.1, order=0.1)
OPT_IN = 0.8


def generate(contacts: int, *, seed: int = 1, start: int = START) -> list[Event]:
    """Events of ``contacts`` contacts, sorted by time (ties keep contact order)."""
    rng = random.Random(seed)
    shop = Shop.build(CATALOGUE)
    loop = max(1, round(contacts / CONTACTS_PER_SECOND * SECOND_MS))
    events: list[Event] = []
    for n in range(contacts):
        events.extend(_contact(shop, rng, f"shopper-{n}", start, loop))
    events.sort(key=lambda event: event.occurred_at)
    return events


def _contact(
    shop: Shop, rng: random.Random, contact: str, start: int, loop: int
) -> Iterator[Event]:
    kind = SHOPPER if rng.random() < SHOPPER.share else BROWSER
    visits = [rng.randrange(loop)]
    while rng.random() < kind.returns:
        wait = VISIT_GAP_MS + round(rng.expovariate(1 / RETURN_AFTER_MS))
        visits.append(visits[-1] + wait)
    # Come round to the loop's start; the earliest visit then is the first.
    visits = sorted(start + at % loop for at in visits)
    lead = rng.randint(SECOND_MS, PROFILE_LEAD_MS)
    yield ContactProfile(
        f"{contact}-profile",
        contact,
        visits[0] - lead,
        email=f"{contact}@example.com",
        locale="en-GB",
        timezone="Europe/London",
        marketing_opt_in=rng.random() < OPT_IN,
    )
    viewed: list[str] = []
    cart: dict[str, int] = {}
    after = 0  # a visit starts at least 30 minutes after the last one ended
    for index, at in enumerate(visits):
        visit = list(
            _visit(shop, rng, kind, f"{contact}-{index}", contact, max(at, after), viewed, cart)
        )
        after = visit[-1].occurred_at + VISIT_GAP_MS
        yield from visit


def _visit(
    shop: Shop,
    rng: random.Random,
    kind: Visitor,
    prefix: str,
    contact: str,
    at: int,
    viewed: list[str],
    cart: dict[str, int],
) -> Iterator[Event]:
    """One visit: product views in a burst, a cart add after some, maybe an order at the
    end. ``viewed`` and ``cart`` carry over to the contact's next visit."""
    count = min(
        MAX_VIEWS, max(1, round(rng.lognormvariate(math.log(kind.views_median), VIEWS_SIGMA)))
    )
    by_id = shop.by_id
    t, number = at, 0
    for view in range(count):
        if view:
            t += _gap(rng)
        if viewed and rng.random() < REPEAT_VIEW:
            product = by_id[rng.choice(viewed)]
        else:
            product = shop.pick(rng)[0]
            viewed.append(product.id)
        yield PageView(f"{prefix}-{number}", contact, t, "product", product, url=product.url)
        number += 1
        if kind.cart_per_view and rng.random() < kind.cart_per_view:
            t += _gap(rng)
            quantity = 1 if rng.random() < 0.9 else 2
            cart[product.id] = cart.get(product.id, 0) + quantity
            yield CartChange(f"{prefix}-{number}", contact, t, "add", product, quantity)
            number += 1
    if cart and rng.random() < kind.order:
        t += _gap(rng)
        items = tuple(OrderItem(by_id[key], quantity) for key, quantity in cart.items())
        total = round(sum((item.product.price or 0) * item.quantity for item in items), 2)
        yield Order(
            f"{prefix}-{number}", contact, t, f"order-{prefix}", "placed", items, total, "EUR"
        )
        cart.clear()


def _gap(rng: random.Random) -> int:
    seconds = min(MAX_GAP_S, rng.lognormvariate(math.log(GAP_MEDIAN_S), GAP_SIGMA))
    return max(SECOND_MS, round(seconds * SECOND_MS))
