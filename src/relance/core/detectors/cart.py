"""Cart abandonment: an open cart left alone raises its reminders, until the cart closes.

A cart keeps at most ``cart_lines`` lines (the scenario file's ``inputs``): a new product in
a full cart pushes out the line added first. The latest changes are what the contact is
after now, and what the reminder, timed from the latest change, should show; the shop's
own cart still holds every line.
"""

from __future__ import annotations

from relance.core.catalog import Catalog
from relance.core.commands import Candidate
from relance.core.detectors.base import Detector, Fold, Scenarios
from relance.core.events import MAX_QUANTITY, CartChange, Order
from relance.core.journeys import cancel, start
from relance.core.scenario import Scenario
from relance.core.state import Cart, CartLine, ContactState, Journey


def _apply_change(
    lines: tuple[CartLine, ...], change: CartChange, max_lines: int
) -> tuple[CartLine, ...]:
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
        return tuple(
            CartLine(product, quantity) if line.product.id == product.id else line for line in lines
        )
    return (*others, CartLine(product, quantity))[-max_lines:]


class CartAbandonment(Detector):
    kinds = ("cart_abandonment",)
    family = "reminders"
    triggers = frozenset({"cart"})
    # The cart's contents are kept whatever is configured: browse and category abandonment
    # arm only while no cart is open.
    always = True
    undigested = "reminder is about one visit"

    def on_cart(self, fold: Fold, change: CartChange, scenarios: Scenarios) -> None:
        """Track contents always; every change restarts the reminders."""
        cart = fold.cart
        if change.occurred_at <= cart.closed_at:
            return
        lines = _apply_change(cart.lines, change, fold.config.inputs.cart_lines)
        cart_id = change.cart_id or cart.cart_id
        if not lines:
            fold.cart = Cart(cart_id=cart_id, closed_at=cart.closed_at)
            fold.journeys = cancel(fold.journeys, scenarios)
        else:
            fold.cart = Cart(lines, cart_id, change.event_id, cart.closed_at)
            fold.journeys = start(fold.journeys, scenarios, change.event_id, change.occurred_at)

    def on_order(self, fold: Fold, order: Order, scenarios: Scenarios) -> None:
        """A placed order converts: the cart is closed and its reminders stop. When both
        carry a cart id, only the order of that cart closes it (a contact may have two)."""
        cart = fold.cart
        if order.status != "placed":
            return
        if order.cart_id and cart.cart_id and order.cart_id != cart.cart_id:
            return
        fold.cart = Cart(closed_at=max(cart.closed_at, order.occurred_at))
        fold.journeys = cancel(fold.journeys, scenarios)

    def candidate(
        self, state: ContactState, journey: Journey, scenario: Scenario, catalog: Catalog
    ) -> Candidate | None:
        """The cart as the catalog now describes it; what is sold out is not advertised."""
        items = [
            {"product": catalog.current(line.product).to_record(), "quantity": line.quantity}
            for line in state.cart.lines
            if not catalog.sold_out(line.product.id)
        ]
        if not items:
            return None
        payload = {"cart_id": state.cart.cart_id, "items": items}
        return Candidate(journey.scenario, journey.instance, journey.step, journey.due_at, payload)


DETECTOR = CartAbandonment()
