"""The shop's catalog as relance last read it: product id -> the product's current record,
and (``related``) what is bought together.

Messages show the catalog's current name, price, image and stock rather than what an event
carried days ago, and leave out what the catalog says is out of stock.
"""

from __future__ import annotations

from relance.events import CatalogUpdate, Order, Product
from relance.related import Related


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
