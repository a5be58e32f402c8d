"""Browse abandonment: product views with no cart and no order raise one reminder."""

from __future__ import annotations

from relance.commands import Candidate
from relance.events import CartChange, Order, PageView
from relance.scenarios import Scenario
from relance.state import Browse, ViewedProduct

SCENARIO = "browse_abandonment"
PRODUCTS_SHOWN = 3
# Bounds state per contact; the reminder shows only the top few anyway.
PRODUCTS_KEPT = 10


def _rank(viewed: ViewedProduct) -> tuple[int, int]:
    return viewed.views, viewed.last_viewed_at


def _record_view(viewed: tuple[ViewedProduct, ...], view: PageView) -> tuple[ViewedProduct, ...]:
    product = view.product
    assert product is not None
    product_id = product.id
    views = 1
    kept = []
    for seen in viewed:
        if seen.product.id == product_id:
            views = seen.views + 1
        else:
            kept.append(seen)
    if len(kept) >= PRODUCTS_KEPT:
        kept.remove(min(kept, key=_rank))
    kept.append(ViewedProduct(product, views, view.occurred_at))
    return tuple(kept)


def on_view(browse: Browse, view: PageView, *, cart_open: bool,
            scenario: Scenario | None) -> Browse:
    """A product view with no open cart arms the reminder or moves its deadline."""
    if (scenario is None or cart_open or view.page_type != "product" or view.product is None
            or view.occurred_at <= browse.disarmed_at):
        return browse
    return Browse(_record_view(browse.viewed, view), view.occurred_at + scenario.delay_ms,
                  view.event_id, browse.disarmed_at)


def on_cart(browse: Browse, change: CartChange) -> Browse:
    return _disarmed(browse, change.occurred_at) if change.action == "add" else browse


def on_order(browse: Browse, order: Order) -> Browse:
    return _disarmed(browse, order.occurred_at) if order.status == "placed" else browse


def _disarmed(browse: Browse, at: int) -> Browse:
    # A disarming event older than the last one changes nothing: the views kept since then
    # came after both.
    return browse if at <= browse.disarmed_at else Browse(disarmed_at=at)


def on_due(browse: Browse, now: int) -> tuple[Browse, Candidate | None]:
    if browse.due_at is None or browse.due_at > now:
        return browse, None
    if browse.armed_by is None or not browse.viewed:
        return Browse(disarmed_at=browse.disarmed_at), None
    top = sorted(browse.viewed, key=_rank, reverse=True)[:PRODUCTS_SHOWN]
    payload = {"products": [{"product": v.product.to_record(), "views": v.views} for v in top]}
    return Browse(disarmed_at=browse.disarmed_at), Candidate(
        SCENARIO, browse.armed_by, 1, browse.due_at, payload)
