"""The shop's catalog as relance last read it: product id -> the product's current record,
and (``related``) what is bought together.

Messages show the catalog's current name, price, image and stock rather than what an event
carried days ago, and leave out what the catalog says is out of stock.

Related products are learnt from the stream: products often bought together in one order,
with the catalog's category as fallback; no external service. Every placed order adds one
to each pair of distinct products in it. Each product keeps its ``KEPT`` most frequent
companions, so memory stays bounded by the catalogue's size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from relance.core.events import CatalogUpdate, Order, Product

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

    def suggest(self, bought: Iterable[Product], catalog: Catalog, count: int = 3) -> list[Product]:
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
            if found is not None and product_id not in exclude and not catalog.sold_out(product_id):
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


class Catalog:
    def __init__(self) -> None:
        self._products: dict[str, Product] = {}
        self._updated_at: dict[str, int] = {}
        self._categories: dict[str, dict[str, None]] = {}  # category -> product ids, ordered
        self.related = Related()

    def __len__(self) -> int:
        return len(self._products)

    def get(self, product_id: str) -> Product | None:
        return self._products.get(product_id)

    def update(self, update: CatalogUpdate) -> bool:
        """Keep the update unless a later one is already known; whether it was kept."""
        product = update.product
        if update.occurred_at < self._updated_at.get(product.id, update.occurred_at):
            return False
        known = self._products.get(product.id)
        if known is not None and known.category_id and known.category_id != product.category_id:
            self._categories.get(known.category_id, {}).pop(product.id, None)
        self._products[product.id] = product
        self._updated_at[product.id] = update.occurred_at
        if product.category_id:
            self._categories.setdefault(product.category_id, {})[product.id] = None
        return True

    def in_category(self, category_id: str | None) -> list[Product]:
        """The catalog's products of a category, in the order they were first listed."""
        if not category_id:
            return []
        return [self._products[pid] for pid in self._categories.get(category_id, {})]

    def basket(self, order: Order, *, related: bool) -> None:
        """Learn its products from any contact's order and, unless no message offers
        ``related`` products, what is bought together."""
        if related:
            self.related.record(order)
        for item in order.items:
            self._learn(item.product)

    def _learn(self, product: Product) -> None:
        """A product seen in an order, for a catalog that has not listed it (yet)."""
        if product.id not in self._products:
            self._products[product.id] = product
            self._updated_at[product.id] = -1
            if product.category_id:
                self._categories.setdefault(product.category_id, {})[product.id] = None

    def current(self, product: Product) -> Product:
        """The catalog's record of ``product`` when it has one, else the event's."""
        return self._products.get(product.id, product)

    def sold_out(self, product_id: str) -> bool:
        known = self._products.get(product_id)
        return known is not None and known.in_stock is False
