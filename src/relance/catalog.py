"""The shop's catalog as relance last read it: product id -> the product's current record.

Messages show the catalog's current name, price, image and stock rather than what an event
carried days ago, and leave out what the catalog says is out of stock.
"""

from __future__ import annotations

from relance.events import CatalogUpdate, Product


class Catalog:
    def __init__(self) -> None:
        self._products: dict[str, Product] = {}
        self._updated_at: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._products)

    def get(self, product_id: str) -> Product | None:
        return self._products.get(product_id)

    def update(self, update: CatalogUpdate) -> bool:
        """Keep the update unless a later one is already known; whether it was kept."""
        product = update.product
        if update.occurred_at < self._updated_at.get(product.id, update.occurred_at):
            return False
        self._products[product.id] = product
        self._updated_at[product.id] = update.occurred_at
        return True

    def current(self, product: Product) -> Product:
        """The catalog's record of ``product`` when it has one, else the event's."""
        return self._products.get(product.id, product)

    def sold_out(self, product_id: str) -> bool:
        known = self._products.get(product_id)
        return known is not None and known.in_stock is False
