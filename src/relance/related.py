"""Related products, learnt from the stream: products often bought together in one order,
with the catalog's category as fallback. No external service.

Every placed order adds one to each pair of distinct products in it. Each product keeps its
``KEPT`` most frequent companions, so memory stays bounded by the catalogue's size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from relance.events import Order, Product

if TYPE_CHECKING:
    from relance.catalog import Catalog

KEPT = 20
REMEMBERED_ORDERS = 100_000  # recent order ids, so an order read twice counts once


class Related:
    def __init__(self) -> None:
        self._pairs: dict[str, Counter[str]] = {}
        self._seen: dict[str, None] = {}

    def record(self, order: Order) -> None:
        """Count an order's basket once (an order read again changes nothing)."""
        if order.status != "placed" or order.order_id in self._seen:
            return
        self._seen[order.order_id] = None
        if len(self._seen) > REMEMBERED_ORDERS:
            del self._seen[next(iter(self._seen))]
        ids = sorted({item.product.id for item in order.items})
        for product_id in ids:
            companions = self._pairs.setdefault(product_id, Counter())
            for other in ids:
                if other != product_id:
                    companions[other] += 1
            if len(companions) > 2 * KEPT:
                self._pairs[product_id] = Counter(dict(companions.most_common(KEPT)))

    def suggest(self, bought: Iterable[Product], catalog: Catalog, count: int = 3
                ) -> list[Product]:
        """Products to offer with ``bought``: most often bought together first, then others
        of the same categories; never what was bought, nothing the catalog says is sold
        out. Products come as the catalog describes them."""
        basket = list(bought)
        exclude = {p.id for p in basket}
        scores: Counter[str] = Counter()
        for product in basket:
            scores.update(self._pairs.get(product.id, {}))
        chosen: list[Product] = []
        for product_id, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])):
            found = catalog.get(product_id)
            if found is not None and product_id not in exclude and not catalog.sold_out(
                    product_id):
                chosen.append(found)
                exclude.add(product_id)
            if len(chosen) == count:
                return chosen
        for product in basket:
            for other in catalog.in_category(product.category_id):
                if other.id not in exclude and other.in_stock is not False:
                    chosen.append(other)
                    exclude.add(other.id)
                if len(chosen) == count:
                    return chosen
        return chosen
