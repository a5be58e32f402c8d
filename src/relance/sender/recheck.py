"""The catalog checked again when a message goes out, not only when it was decided.

Between the decision and the send (seconds, or hours when the sender was behind) a product
may sell out or change. Lines about products the catalog now says are sold out are left out
and the others show the catalog's current data; a message about products with none left is
withdrawn. What a contact bought (an order's lines) is never touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from relance.core.catalog import Catalog
from relance.core.events import Product


def recheck(command: Mapping[str, Any], catalog: Catalog) -> Mapping[str, Any] | None:
    payload = command.get("payload")
    if not isinstance(payload, Mapping) or not len(catalog):
        return command
    checked = dict(payload)
    for key in ("items", "products"):
        lines = payload.get(key)
        if (key == "items" and "order" in payload) or not isinstance(lines, list) or not lines:
            continue
        kept = [line for line in (_line(line, catalog) for line in lines) if line is not None]
        if not kept:
            return None
        checked[key] = kept
    single = payload.get("product")
    if isinstance(single, Mapping):
        current = _product(single, catalog)
        if current is None:
            return None
        checked["product"] = current
    return {**command, "payload": checked}


def _line(line: Any, catalog: Catalog) -> Any:
    if not isinstance(line, Mapping) or not isinstance(line.get("product"), Mapping):
        return line
    product = _product(line["product"], catalog)
    return None if product is None else {**line, "product": product}


def _product(record: Mapping[str, Any], catalog: Catalog) -> dict[str, Any] | None:
    product_id = record.get("id")
    if not isinstance(product_id, str):
        return dict(record)
    if catalog.sold_out(product_id):
        return None
    current: Product | None = catalog.get(product_id)
    return dict(record) if current is None else current.to_record()
