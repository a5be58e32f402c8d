"""What a stream of shop events looks like, in the measures its generated traffic is
calibrated by: the benchmarks print them beside their figures, for the traffic they ran,
the OTTO sample and the target.

A visit is a contact's events with less than 30 minutes between two (web analytics'
session); profile upserts belong to no visit. Shares are of all events.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise

from relance.core.events import CartChange, ContactProfile, Event, Order, PageView
from relance.core.timestamps import MINUTE_MS

VISIT_GAP_MS = 30 * MINUTE_MS
WINDOW = 5000

# The replayed clickstream of a large online store (10 copies of its contacts: 219,380
# events, 45,040 contacts) whose run gave the figures: what "realistic" aims at.
TARGET: Mapping[str, float] = {
    "events_per_contact": 219_380 / 45_040,
    "views": 0.78,
    "profiles": 0.20,
    "distinct_per_window": 0.59,
}
LABELS: Mapping[str, str] = {
    "events": "events",
    "contacts": "contacts",
    "events_per_contact": "events per contact",
    "views": "product views",
    "profiles": "profile upserts",
    "carts": "cart changes",
    "orders": "orders",
    "events_per_visit": "events per visit, mean",
    "median_events_per_visit": "events per visit, median",
    "median_gap_s": "seconds between events of a visit, median",
    "repeat_views": "views of a product viewed before",
    "views_per_cart": "views per cart change (contacts who cart)",
    "carts_per_order": "cart changes per order (contacts who order)",
    "distinct_per_window": f"distinct contacts in {WINDOW:,} events",
}
SHARES = frozenset({"views", "profiles", "carts", "orders", "repeat_views", "distinct_per_window"})


@dataclass(frozen=True, slots=True)
class Measures:
    events: int
    contacts: int
    events_per_contact: float
    views: float
    profiles: float
    carts: float
    orders: float
    events_per_visit: float
    median_events_per_visit: float
    median_gap_s: float
    repeat_views: float
    views_per_cart: float
    carts_per_order: float
    # None for a stream shorter than one window
    distinct_per_window: float | None


def measure(events: Sequence[Event]) -> Measures:
    """The measures of ``events``, in stream order (the order they are produced in)."""
    kinds: Counter[str] = Counter()
    times: defaultdict[str, list[int]] = defaultdict(list)
    per_contact: defaultdict[str, Counter[str]] = defaultdict(Counter)
    seen: defaultdict[str, set[str]] = defaultdict(set)
    repeats = 0
    for event in events:
        kind = _kind(event)
        kinds[kind] += 1
        contact = event.contact_id
        per_contact[contact][kind] += 1
        if kind == "profile":
            continue
        times[contact].append(event.occurred_at)
        if kind == "view" and isinstance(event, PageView) and event.product is not None:
            repeats += event.product.id in seen[contact]
            seen[contact].add(event.product.id)
    total = max(1, len(events))
    visits, gaps = _visits(times)
    carting = [c for c in per_contact.values() if c["cart"]]
    ordering = [c for c in per_contact.values() if c["order"]]
    return Measures(
        events=len(events),
        contacts=len(per_contact),
        events_per_contact=len(events) / max(1, len(per_contact)),
        views=kinds["view"] / total,
        profiles=kinds["profile"] / total,
        carts=kinds["cart"] / total,
        orders=kinds["order"] / total,
        events_per_visit=statistics.fmean(visits) if visits else 0.0,
        median_events_per_visit=statistics.median(visits) if visits else 0.0,
        median_gap_s=statistics.median(gaps) / 1000 if gaps else 0.0,
        repeat_views=repeats / max(1, kinds["view"]),
        views_per_cart=_ratio(carting, "view", "cart"),
        carts_per_order=_ratio(ordering, "cart", "order"),
        distinct_per_window=distinct_per_window(events),
    )


def distinct_per_window(events: Sequence[Event], window: int = WINDOW) -> float | None:
    """The mean share of distinct contacts in consecutive windows of ``window`` events."""
    if len(events) < window:
        return None
    shares = [
        len({e.contact_id for e in events[i : i + window]}) / window
        for i in range(0, len(events) - window + 1, window)
    ]
    return statistics.fmean(shares)


def side_by_side(columns: Mapping[str, Measures | Mapping[str, float]]) -> list[str]:
    """A plain-text table: one line per measure, one column per stream."""
    rows = [dict(asdict(c)) if isinstance(c, Measures) else dict(c) for c in columns.values()]
    width = max(len(label) for label in LABELS.values())
    lines = [f"{'':{width}}  " + "  ".join(f"{name:>14}" for name in columns)]
    for field, label in LABELS.items():
        cells = [_cell(field, row.get(field)) for row in rows]
        lines.append(f"{label:{width}}  " + "  ".join(f"{cell:>14}" for cell in cells))
    return lines


def _cell(field: str, value: float | None) -> str:
    if value is None:
        return "-"
    if field in SHARES:
        return f"{value:.1%}"
    if field in ("events", "contacts"):
        return f"{value:,.0f}"
    return f"{value:.1f}"


def _kind(event: Event) -> str:
    if isinstance(event, PageView):
        return "view" if event.page_type == "product" else "other_view"
    if isinstance(event, ContactProfile):
        return "profile"
    if isinstance(event, CartChange):
        return "cart"
    if isinstance(event, Order):
        return "order"
    return "other"


def _visits(times: Mapping[str, list[int]]) -> tuple[list[int], list[int]]:
    """Events per visit, and the gaps between two events of a visit (ms)."""
    visits: list[int] = []
    gaps: list[int] = []
    for moments in times.values():
        moments.sort()
        length = 1
        for before, after in pairwise(moments):
            if after - before > VISIT_GAP_MS:
                visits.append(length)
                length = 1
            else:
                gaps.append(after - before)
                length += 1
        visits.append(length)
    return visits, gaps


def _ratio(contacts: list[Counter[str]], top: str, bottom: str) -> float:
    below = sum(c[bottom] for c in contacts)
    return sum(c[top] for c in contacts) / below if below else 0.0
