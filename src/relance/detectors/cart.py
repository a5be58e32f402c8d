"""Cart abandonment: an open cart left alone for ``delay`` raises one reminder."""

from __future__ import annotations

from relance.commands import Candidate
from relance.events import CartChange, Order
from relance.scenarios import Scenario
from relance.state import Cart, CartLine

SCENARIO = "cart_abandonment"


def _apply_change(lines: tuple[CartLine, ...], change: CartChange) -> tuple[CartLine, ...]:
    if change.action == "clear" or change.product is None:
        return ()
    product = change.product
    current = next((line.quantity for line in lines if line.product.id == product.id), 0)
    if change.action == "add":
        quantity = current + change.quantity
    elif change.action == "remove":
        quantity = current - change.quantity
    else:
        quantity = change.quantity
    others = tuple(line for line in lines if line.product.id != product.id)
    if quantity <= 0:
        return others
    if current:
        # Keep the line where it was so the reminder lists items in the order they were added.
        return tuple(CartLine(product, quantity) if line.product.id == product.id else line
                     for line in lines)
    return (*others, CartLine(product, quantity))


def on_change(cart: Cart, change: CartChange, scenario: Scenario | None) -> Cart:
    """Track contents always (browse needs them); arm a deadline only if the scenario is on."""
    if change.occurred_at <= cart.closed_at:
        return cart
    lines = _apply_change(cart.lines, change)
    cart_id = change.cart_id or cart.cart_id
    if not lines:
        return Cart(cart_id=cart_id, closed_at=cart.closed_at)
    if scenario is None:
        return Cart(lines, cart_id, closed_at=cart.closed_at)
    return Cart(lines, cart_id, change.occurred_at + scenario.delay_ms, change.event_id,
                cart.closed_at)


def on_order(cart: Cart, order: Order) -> Cart:
    if order.status != "placed":
        return cart
    return Cart(closed_at=max(cart.closed_at, order.occurred_at))


def on_due(cart: Cart, now: int) -> tuple[Cart, Candidate | None]:
    if cart.due_at is None or cart.due_at > now:
        return cart, None
    if not cart.lines or cart.armed_by is None:
        return Cart(cart.lines, cart.cart_id, closed_at=cart.closed_at), None
    payload = {
        "cart_id": cart.cart_id,
        "items": [{"product": line.product.to_record(), "quantity": line.quantity}
                  for line in cart.lines],
    }
    candidate = Candidate(SCENARIO, cart.armed_by, 1, cart.due_at, payload)
    return Cart(cart.lines, cart.cart_id, closed_at=cart.closed_at), candidate
