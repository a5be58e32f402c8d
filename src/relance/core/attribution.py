"""Attribution: which marketing message an order is credited to, decided in the stream.

An order counts when it is ``placed``, for at most one message, once: the message is one of
the contact's last few (``engagement``) sent at or before the order, within its scenario's
windows: ``after_send`` from the send (5 days unless the scenario says) or ``after_click``
from a click on it (1 day). Both ends are inclusive. A click within its window takes
precedence over any send: among clicked messages, and else among sent ones, ``last_touch``
(the policy's default) takes the latest, ``first_touch`` the earliest. A contact in an
experiment's holdout was not sent the message, but the held-out decision is a touch like a
send (never clicked): an order within its window is a holdout conversion, so treated and
held-out contacts are counted alike.

The order ids attributed lately are remembered (``ORDERS_KEPT`` fingerprints): the same
order read twice, or placed twice under two event ids, counts once.
"""

from __future__ import annotations

import math
from typing import Final, Literal

from relance.core.commands import Attribution
from relance.core.duplicates import fingerprint
from relance.core.engagement import command_text
from relance.core.events import Order
from relance.core.scenarios import Config
from relance.core.state import ContactState, Touch

ORDERS_KEPT: Final = 8
_MARK: Final = 8  # bytes of one order's fingerprint


def on_order(
    state: ContactState, order: Order, config: Config
) -> tuple[ContactState, Attribution | None]:
    """The state, with the order remembered if it is attributed, and its attribution."""
    reach = state.reach
    if (
        reach is None
        or not reach.touches
        or order.status != "placed"
        or config.policy.attribution == "none"
    ):
        return state, None
    mark = fingerprint(order.order_id)
    if _attributed(reach.orders, mark):
        return state, None
    chosen = credited(reach.touches, order.occurred_at, config)
    if chosen is None:
        return state, None
    touch, how = chosen
    orders = (reach.orders + mark)[-ORDERS_KEPT * _MARK :]
    revenue = order.total if math.isfinite(order.total) and order.total > 0 else 0.0
    return state._replace(reach=reach._replace(orders=orders)), Attribution(
        command_text(touch.command),
        state.contact_id,
        touch.scenario,
        touch.step,
        touch.variant,
        touch.holdout,
        how,
        order.order_id,
        revenue,
        order.currency,
        order.occurred_at,
    )


def credited(
    touches: tuple[Touch, ...], at: int, config: Config
) -> tuple[Touch, Literal["sent", "clicked"]] | None:
    """The touch an order placed at ``at`` is credited to, and through which window."""
    clicked: list[tuple[int, int, Touch]] = []
    sent: list[tuple[int, int, Touch]] = []
    for index, touch in enumerate(touches):
        scenario = config.get(touch.scenario)
        if scenario is None or touch.at > at:
            continue
        if (
            touch.clicked_at
            and touch.clicked_at <= at <= touch.clicked_at + scenario.after_click_ms
        ):
            clicked.append((touch.clicked_at, index, touch))
        elif at - touch.at <= scenario.after_send_ms:
            sent.append((touch.at, index, touch))
    pool = clicked or sent
    if not pool:
        return None
    pick = min if config.policy.attribution == "first_touch" else max
    return pick(pool, key=lambda item: (item[0], item[1]))[2], "clicked" if clicked else "sent"


def _attributed(orders: bytes, mark: bytes) -> bool:
    return any(orders[n : n + _MARK] == mark for n in range(0, len(orders), _MARK))
