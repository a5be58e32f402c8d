"""Per-contact state: what the contact has in the cart, what they looked at, what was sent.

Every value is immutable; a change builds a new value, so a store that persists on
assignment (a changelogged table) never misses a write.

They are frozen msgspec structs, not NamedTuples or frozen dataclasses, because several are
built per event: a struct is built (or copied with a change) in C, three to eight times
faster than a NamedTuple and more than a dataclass. ``array_like`` keeps their stored form
what it was as NamedTuples (an array of the fields in order), so stored states still read.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Self

import msgspec

from relance.core.events import ContactProfile, Engagement, Product


class _Value(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """Immutable, compared by value, stored as an array; never part of a reference cycle."""

    def _replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` (the NamedTuple spelling, which the core uses)."""
        return msgspec.structs.replace(self, **changes)


class Profile(_Value, frozen=True):
    email: str | None = None
    phone: str | None = None
    locale: str | None = None
    timezone: str | None = None
    marketing_opt_in: bool | None = None
    birthday: date | None = None
    subscription_ends_on: date | None = None
    sms_opt_in: bool | None = None
    # (channel, reason, time): unsubscribed, bounced or complained; no marketing there. An
    # unsubscribe from one family is ``unsubscribed:<family>``: the stored form is unchanged.
    blocked: tuple[tuple[str, str, int], ...] = ()
    engaged_at: int | None = None  # the last open or click
    # Last, and left out of the stored form while unset (``worker.store``), so the bytes of
    # a state written before they existed do not change.
    first_name: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()  # (key, value), as the profile gave them

    def updated(self, event: ContactProfile) -> Profile:
        """Upsert: fields the event leaves empty keep their known value. A newer consent
        lifts an older unsubscribe (not a bounce or a complaint); one from a single family
        only when the consent is given again after it was withdrawn (false): a shop that
        repeats a standing consent with every profile update does not undo the choice."""
        blocked = self.blocked
        if blocked:
            blocked = self._lifted(event)
        return Profile(
            email=event.email if event.email is not None else self.email,
            phone=event.phone if event.phone is not None else self.phone,
            locale=event.locale if event.locale is not None else self.locale,
            timezone=event.timezone if event.timezone is not None else self.timezone,
            marketing_opt_in=(
                event.marketing_opt_in
                if event.marketing_opt_in is not None
                else self.marketing_opt_in
            ),
            birthday=event.birthday if event.birthday is not None else self.birthday,
            subscription_ends_on=(
                event.subscription_ends_on
                if event.subscription_ends_on is not None
                else self.subscription_ends_on
            ),
            sms_opt_in=event.sms_opt_in if event.sms_opt_in is not None else self.sms_opt_in,
            blocked=blocked,
            engaged_at=self.engaged_at,
            first_name=event.first_name if event.first_name is not None else self.first_name,
            attributes=(
                self.attributes if event.attributes is None else tuple(event.attributes.items())
            ),
        )

    def engaged(self, event: Engagement) -> Profile:
        """Opens and clicks are remembered; unsubscribes, hard bounces and complaints block
        marketing on their channel."""
        if event.kind in ("open", "click"):
            latest = max(event.occurred_at, self.engaged_at or event.occurred_at)
            return self._replace(engaged_at=latest)
        reason = _BLOCKS.get(event.kind)
        if reason is None:  # ``other``: a kind this release does not know
            return self
        if event.kind == "unsubscribe" and event.scope != "all":
            reason = SCOPED + event.scope
        if any(c == event.channel and r == reason for c, r, _ in self.blocked):
            return self
        return self._replace(blocked=(*self.blocked, (event.channel, reason, event.occurred_at)))

    def _lifted(self, event: ContactProfile) -> tuple[tuple[str, str, int], ...]:
        """``blocked`` without the unsubscribes the consent in ``event`` lifts."""
        consented = {
            c
            for c, given in (("email", event.marketing_opt_in), ("sms", event.sms_opt_in))
            if given is True
        }
        anew = {
            c
            for c in consented
            if (self.sms_opt_in if c == "sms" else self.marketing_opt_in) is False
        }
        return tuple(
            b
            for b in self.blocked
            if not (
                b[0] in consented
                and b[2] < event.occurred_at
                and (b[1] == "unsubscribed" or (b[0] in anew and b[1].startswith(SCOPED)))
            )
        )

    def consents(self, channel: str) -> bool:
        """Marketing consent on ``channel``: ``sms_opt_in`` for SMS, else the email one."""
        return (self.sms_opt_in if channel == "sms" else self.marketing_opt_in) is True

    def blocked_on(self, channel: str, family: str | None = None) -> str | None:
        """Why marketing of ``family`` may not reach the contact on ``channel``, if it may
        not: an unsubscribe from that family is ``unsubscribed`` too."""
        for blocked_channel, reason, _ in self.blocked:
            if blocked_channel == channel:
                if not reason.startswith(SCOPED):
                    return reason
                if family is not None and reason[len(SCOPED) :] == family:
                    return "unsubscribed"
        return None


_BLOCKS = {"unsubscribe": "unsubscribed", "hard_bounce": "bounced", "spam_complaint": "complained"}
SCOPED = "unsubscribed:"  # then the family


class CartLine(_Value, frozen=True):
    product: Product
    quantity: int


class Cart(_Value, frozen=True):
    """The contact's cart; it is open while it holds a line.

    ``changed_by`` is the event id of the last change: it names the abandonment instance a
    reminder answers. ``closed_at`` is the time of the last placed order: a change older
    than that was settled by the order, even when the order is read first (orders and cart
    changes come from different topics).
    """

    lines: tuple[CartLine, ...] = ()
    cart_id: str | None = None
    changed_by: str | None = None
    closed_at: int = 0

    @property
    def is_open(self) -> bool:
        return bool(self.lines)


class ViewedProduct(_Value, frozen=True):
    product: Product
    views: int
    last_viewed_at: int


class Browse(_Value, frozen=True):
    """Product views since browse abandonment was last armed, answered or disarmed.

    ``disarmed_at`` is the time of the last cart add or placed order: a view older than that
    arms nothing, whichever was read first.
    """

    viewed: tuple[ViewedProduct, ...] = ()
    disarmed_at: int = 0


class Journey(_Value, frozen=True):
    """One scenario under way for the contact: its next step and when it is due.

    ``instance`` is the id of the event that started it (the command ids derive from it) and
    ``started_at`` the trigger's time, from which every step's delay counts. ``data`` is what
    the messages need that the contact's state does not keep (an order's items).
    """

    scenario: str
    instance: str
    step: int
    started_at: int
    due_at: int
    data: dict[str, Any] | None = None


class Touch(_Value, frozen=True):
    """A marketing message the contact was sent (or, in an experiment's holdout, would have
    been), kept for attribution and for the steps that depend on engagement: ``command`` is
    its command id's 16 bytes, ``opened_at`` and ``clicked_at`` its latest open and click
    (0: none)."""

    scenario: str
    step: int
    command: bytes
    at: int
    variant: str | None = None
    holdout: bool = False
    opened_at: int = 0
    clicked_at: int = 0


class Reach(_Value, frozen=True):
    """What marketing did with the contact lately (``core.engagement``): the last few
    messages (``Touch``), the fingerprints of the orders attributed lately (8 bytes each),
    and for the sunset rule, the marketing messages sent since the last open or click and
    the time of the first of them."""

    touches: tuple[Touch, ...] = ()
    orders: bytes = b""
    unanswered: int = 0
    unanswered_since: int = 0


class ContactState(_Value, frozen=True):
    contact_id: str
    profile: Profile = Profile()
    cart: Cart = Cart()
    browse: Browse = Browse()
    last_sent: tuple[tuple[str, int], ...] = ()
    journeys: tuple[Journey, ...] = ()
    # (product id, time) of products seen out of stock, for back-in-stock.
    watching: tuple[tuple[str, int], ...] = ()
    # (category id, product views, last view time) since the last cart add or order.
    categories: tuple[tuple[str, int, int], ...] = ()
    # (product id, price seen, time) of recent product views and cart adds, for price drop.
    interests: tuple[tuple[str, float, int], ...] = ()
    # (digest scenario, period, message) of messages held for a digest.
    pending: tuple[tuple[str, str, dict[str, Any]], ...] = ()
    # (channel, time) of the marketing messages of the last week, for frequency caps.
    sends: tuple[tuple[str, int], ...] = ()
    # The ids of the events applied lately, packed (see ``duplicates``): a duplicate is
    # skipped. Last, and left out of the stored form while empty, so the bytes of a state
    # written before it existed do not change.
    seen: bytes = b""
    # After ``seen``, and left out of the stored form while None, for the same reason.
    reach: Reach | None = None

    @property
    def next_due(self) -> int | None:
        """The earliest pending deadline, which the due-index keys this contact by."""
        journeys = self.journeys
        if not journeys:
            return None
        if len(journeys) == 1:
            return journeys[0].due_at
        return min(journey.due_at for journey in journeys)

    def sent_at(self, scenario: str) -> int | None:
        for name, at in self.last_sent:
            if name == scenario:
                return at
        return None

    def with_sent(self, scenario: str, at: int) -> tuple[tuple[str, int], ...]:
        return (*((n, t) for n, t in self.last_sent if n != scenario), (scenario, at))
