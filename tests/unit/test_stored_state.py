"""A contact state's stored form (msgpack, in the changelog) does not change with its class."""

from __future__ import annotations

from datetime import date

import msgspec

from relance.core.events import Product
from relance.core.state import Browse, Cart, CartLine, ContactState, Journey, Profile, ViewedProduct
from relance.worker.store import Stored, decode_stored, encode_stored

# Written by relance when the state values were NamedTuples (before 2026-11-23).
WRITTEN_BEFORE = bytes.fromhex(
    "93009205ff9ba263319aad61406578616d706c652e636f6dc0a566722d4652c0c3aa313939302d30342d3231"
    "c0c09193a5656d61696cac756e7375627363726962656405c094919288a26964a5736b752d31a46e616d65a4"
    "53686f65a57072696365cb404df33333333333a863757272656e6379a3455552ab63617465676f72795f6964"
    "a573686f6573a375726ca175a9696d6167655f75726ca169a8696e5f73746f636bc302a26b31a26531039291"
    "9388a26964a5736b752d31a46e616d65a453686f65a57072696365cb404df33333333333a863757272656e63"
    "79a3455552ab63617465676f72795f6964a573686f6573a375726ca175a9696d6167655f75726ca169a8696e"
    "5f73746f636bc30307029192b0636172745f6162616e646f6e6d656e74099196b0636172745f6162616e646f"
    "6e6d656e74a265310104ce0036ee8481a86f726465725f6964a26f319192a5736b752d31089193a573686f65"
    "7302079193a5736b752d31cb404df33333333333079193a6646967657374a8323032342d57313881a1610191"
    "92a5656d61696c09"
)


def a_full_state() -> ContactState:
    shoe = Product("sku-1", "Shoe", 59.9, "EUR", "shoes", "u", "i", True)
    return ContactState(
        "c1",
        Profile(
            email="a@example.com",
            locale="fr-FR",
            marketing_opt_in=True,
            birthday=date(1990, 4, 21),
            blocked=(("email", "unsubscribed", 5),),
        ),
        Cart((CartLine(shoe, 2),), "k1", "e1", 3),
        Browse((ViewedProduct(shoe, 3, 7),), 2),
        (("cart_abandonment", 9),),
        (Journey("cart_abandonment", "e1", 1, 4, 3_600_004, {"order_id": "o1"}),),
        (("sku-1", 8),),
        (("shoes", 2, 7),),
        (("sku-1", 59.9, 7),),
        (("digest", "2024-W18", {"a": 1}),),
        (("email", 9),),
    )


def test_a_state_stored_before_reads_back_and_is_written_the_same() -> None:
    stored = Stored(0, (5, -1), a_full_state())
    assert decode_stored(WRITTEN_BEFORE) == stored
    assert encode_stored(stored) == WRITTEN_BEFORE


def test_state_values_are_immutable() -> None:
    state = a_full_state()
    try:
        state.journeys = ()  # type: ignore[misc]
    except AttributeError:
        pass
    else:
        raise AssertionError("a state value was changed in place")
    assert state._replace(journeys=()).journeys == () and state.journeys != ()


def test_a_state_stored_with_fewer_fields_reads_with_the_defaults() -> None:
    older = msgspec.msgpack.encode([0, [5], ["c1"]])
    assert decode_stored(older).state == ContactState("c1")


def test_a_state_with_what_marketing_reached_reads_back_whatever_else_it_uses() -> None:
    from relance.core.state import Reach, Touch

    reach = Reach(
        (
            Touch("cart_abandonment", 1, bytes(range(16)), 9, "soon", False, 10, 11),
            Touch("cart_abandonment", 2, bytes(16), 12, None, True),
        ),
        b"8bytes!!",
        2,
        9,
    )
    plain = a_full_state()._replace(reach=reach)
    for state in (
        plain,
        plain._replace(seen=b"x" * 12),
        plain._replace(profile=plain.profile._replace(first_name="Ann")),
        plain._replace(seen=b"x" * 12, profile=plain.profile._replace(attributes=(("k", "v"),))),
    ):
        stored = Stored(0, (5, -1), state)
        assert decode_stored(encode_stored(stored)) == stored
    # Without it, a state is written as before it existed.
    assert encode_stored(Stored(0, (5, -1), plain._replace(reach=None))) == WRITTEN_BEFORE


def test_the_index_view_of_a_stored_state_reads_what_indexing_it_needs() -> None:
    from relance.worker.store import index_decoder

    full = a_full_state()
    two = full._replace(journeys=(*full.journeys, full.journeys[0]._replace(due_at=17)))
    for raw, state in (
        (WRITTEN_BEFORE, full),
        (encode_stored(Stored(1, (2,), two)), two),
        (msgspec.msgpack.encode([0, [5], ["c1"]]), ContactState("c1")),
    ):
        view = index_decoder(["watching", "interests"])(raw)
        assert (view.next_due, view.watching, view.interests) == (
            state.next_due,
            state.watching,
            state.interests,
        )
        assert view.journeys == state.journeys
    assert index_decoder([])(encode_stored(Stored(1, (2,), two))).next_due == 17
