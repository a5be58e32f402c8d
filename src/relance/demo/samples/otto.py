"""The OTTO recsys clickstream (CC-BY 4.0, otto.de) as canonical events.

Each session becomes a contact with an opted-in profile; clicks become product views, carts
become cart additions, and the ``orders`` rows sharing a timestamp become one placed order.
The result is sorted by time, as a live stream interleaves its contacts.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from itertools import groupby
from pathlib import Path
from typing import Any

from relance.core.events import (
    CartChange,
    ContactProfile,
    Event,
    Order,
    OrderItem,
    PageView,
    Product,
)

PROFILE_LEAD_MS = 1000


def product(aid: int) -> Product:
    return Product(
        str(aid),
        name=f"OTTO article {aid}",
        price=None,
        currency="EUR",
        url=f"https://www.otto.de/p/{aid}",
        image_url=None,
    )


def session_events(session: dict[str, Any]) -> Iterator[Event]:
    contact = f"otto-{session['session']}"
    rows = session["events"]
    yield ContactProfile(
        f"{contact}-profile",
        contact,
        rows[0]["ts"] - PROFILE_LEAD_MS,
        email=f"{contact}@example.com",
        locale="de-DE",
        timezone="Europe/Berlin",
        marketing_opt_in=True,
    )
    for index, row in enumerate(rows):
        if row["type"] == "clicks":
            yield PageView(f"{contact}-{index}", contact, row["ts"], "product", product(row["aid"]))
        elif row["type"] == "carts":
            yield CartChange(f"{contact}-{index}", contact, row["ts"], "add", product(row["aid"]))
    orders = [(i, r) for i, r in enumerate(rows) if r["type"] == "orders"]
    for ts, group in groupby(orders, key=lambda pair: pair[1]["ts"]):
        lines = list(group)
        items = tuple(OrderItem(product(r["aid"]), 1) for _, r in lines)
        first = lines[0][0]
        yield Order(
            f"{contact}-{first}",
            contact,
            ts,
            f"{contact}-order-{first}",
            "placed",
            items,
            0.0,
            "EUR",
        )


def events(sessions: Iterable[dict[str, Any]]) -> list[Event]:
    """All sessions' events, ordered by time (ties keep session order)."""
    merged = [event for session in sessions for event in session_events(session)]
    merged.sort(key=lambda event: event.occurred_at)
    return merged


def load(path: str | Path) -> list[Event]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return events(json.loads(line) for line in lines if line.strip())
