"""Cart abandonment: an open cart left alone raises its reminders, until the cart closes.

A cart keeps at most ``cart_lines`` lines (the scenario file's ``inputs``): a new product in
a full cart pushes out the line added first. The latest changes are what the contact is
after now, and what the reminder, timed from the latest change, should show; the shop's
own cart still holds every line.
"""

from __future__ import annotations

from relance.core.catalog import Catalog
from relance.core.commands import Candidate
from relance.core.events import MAX_QUANTITY, CartChange, Order
from relance.core.journeys import cancel, start
from relance.core.scenarios import Scenario
from relance.core.state import Cart, CartLine, Journey

Journeys = tuple[Journey, ...]


def _apply_change(lines: tuple[CartLine, ...], change: CartChange,
                  max_lines: int) -> tuple[CartLine, ...]:
    if change.action == "clear" or change.product is None:
        return ()
    product = change.product
    current = next((line.quantity for line in lines if line.product.id == product.id), 0)
    if change.action == "add":  # never past what an event may say, however many add up
        quantity = min(current + change.quantity, MAX_QUANTITY)
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
    return (*others, CartLine(product, quantity))[-max_lines:]


def on_change(cart: Cart, journeys: Journeys, change: CartChange,
              scenarios: tuple[Scenario, ...], *, max_lines: int) -> tuple[Cart, Journeys]:
    """Track contents always (browse needs them); every change restarts the reminders."""
    if change.occurred_at <= cart.closed_at:
        return cart, journeys
    lines = _apply_change(cart.lines, change, max_lines)
    cart_id = change.cart_id or cart.cart_id
    if not lines:
        return Cart(cart_id=cart_id, closed_at=cart.closed_at), cancel(journeys, scenarios)
    return (Cart(lines, cart_id, change.event_id, cart.closed_at),
            start(journeys, scenarios, change.event_id, change.occurred_at))


def on_order(cart: Cart, journeys: Journeys, order: Order,
             scenarios: tuple[Scenario, ...]) -> tuple[Cart, Journeys]:
    """A placed order converts: the cart is closed and its reminders stop. When both carry a
    cart id, only the order of that cart closes it (a contact may have two carts)."""
    if order.status != "placed":
        return cart, journeys
    if order.cart_id and cart.cart_id and order.cart_id != cart.cart_id:
        return cart, journeys
    return Cart(closed_at=max(cart.closed_at, order.occurred_at)), cancel(journeys, scenarios)


def candidate(cart: Cart, journey: Journey, catalog: Catalog) -> Candidate | None:
    """The cart as the catalog now describes it; what is sold out is not advertised."""
    items = [{"product": catalog.current(line.product).to_record(), "quantity": line.quantity}
             for line in cart.lines if not catalog.sold_out(line.product.id)]
    if not items:
        return None
    payload = {"cart_id": cart.cart_id, "items": items}
    return Candidate(journey.scenario, journey.instance, journey.step, journey.due_at, payload)
