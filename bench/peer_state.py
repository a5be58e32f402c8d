"""The per-contact state machine the benchmark's peers run: what relance keeps of a contact
to decide on it, written plainly over JSON values.

A state is a dict that JSON keeps as it is (Quix Streams stores it as JSON in RocksDB, the
hand-written loop writes it to its changelog with orjson):

- ``events``: the input messages applied to it, so a changelog proves every one was;
- ``profile``: the fields of the profile upserts, a field left out keeping its value;
- ``cart``: the cart lines, product id -> [quantity, product]; an order takes its products
  out of the cart;
- ``viewed``: the most viewed products, product id -> [views, last viewed at, product],
  at most ``VIEWED_KEPT`` of them (relance keeps as many);
- ``orders`` and ``last_at``: orders placed, and the latest event time.

The products are kept as the events describe them (id, name, price, link, image), as a
message about them needs, and as relance keeps them. Plain Python, no import beyond the
standard library: it also runs in the Quix Streams environment, which is not relance's.
"""

from __future__ import annotations

from typing import Any

VIEWED_KEPT = 10
PRODUCT_FIELDS = ("id", "name", "price", "url", "image_url")
PROFILE_FIELDS = ("email", "phone", "locale", "timezone", "marketing_opt_in")

State = dict[str, Any]


def new_state() -> State:
    return {"events": 0, "profile": {}, "cart": {}, "viewed": {}, "orders": 0, "last_at": 0}


def apply(state: State | None, event: dict[str, Any]) -> State:
    """``state`` (a new one for ``None``) with the JSON ``event`` applied, changed in place."""
    if state is None:
        state = new_state()
    state["events"] += 1
    at = event["occurred_at"]
    if at > state["last_at"]:
        state["last_at"] = at
    kind = event["type"]
    if kind == "page_view":
        product = event.get("product")
        if product is not None:
            _view(state["viewed"], product, at)
    elif kind == "cart":
        _cart(state["cart"], event)
    elif kind == "order":
        cart = state["cart"]
        for item in event["items"]:
            cart.pop(item["product"]["id"], None)
        state["orders"] += 1
    elif kind == "contact":
        profile = state["profile"]
        for name in PROFILE_FIELDS:
            value = event.get(name)
            if value is not None:
                profile[name] = value
    return state


def _snapshot(product: dict[str, Any]) -> dict[str, Any]:
    return {name: product.get(name) for name in PRODUCT_FIELDS}


def _view(viewed: dict[str, list[Any]], product: dict[str, Any], at: int) -> None:
    key = product["id"]
    seen = viewed.pop(key, None)
    if len(viewed) >= VIEWED_KEPT:
        # The least viewed of the others, the longest ago among equals, goes: as relance
        # ranks them.
        del viewed[min(viewed, key=lambda k: (viewed[k][0], viewed[k][1]))]
    viewed[key] = [1 if seen is None else seen[0] + 1, at, _snapshot(product)]


def _cart(cart: dict[str, list[Any]], event: dict[str, Any]) -> None:
    action, product = event["action"], event.get("product")
    if action == "clear" or product is None:
        if action == "clear":
            cart.clear()
        return
    key, quantity = product["id"], event.get("quantity", 1)
    held = cart[key][0] if key in cart else 0
    held = quantity if action == "update" else held + (quantity if action == "add" else -quantity)
    if held > 0:
        cart[key] = [held, _snapshot(product)]
    else:
        cart.pop(key, None)
