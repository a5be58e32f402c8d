"""The Segment adapter, call by call, on the specification's own examples (Spec: Common
Fields, Identify, Track, Page; E-commerce Events V2; Email Events)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from relance.tracking.values import stable_id

from .tracking import product, records, refusal, skipped

MONOPOLY = {
    "product_id": "507f1f77bcf86cd799439011",
    "sku": "G-32",
    "category": "Games",
    "name": "Monopoly: 3rd Edition",
    "brand": "Hasbro",
    "variant": "200 pieces",
    "price": 18.99,
    "quantity": 1,
    "coupon": "MAYDEALS",
    "position": 3,
    "url": "https://www.example.com/product/path",
    "image_url": "https://www.example.com/product/path.jpg",
}
AS_PRODUCT = product(
    id="507f1f77bcf86cd799439011",
    name="Monopoly: 3rd Edition",
    price=18.99,
    currency="USD",
    category_id="Games",
    url="https://www.example.com/product/path",
    image_url="https://www.example.com/product/path.jpg",
)
T = 1449720511905  # 2015-12-10T04:08:31.905Z, the common fields' example


def track(event: str, properties: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": event,
        "messageId": "022bb90c",
        "userId": "97980cfea0067",
        "timestamp": "2015-12-10T04:08:31.905Z",
        "properties": properties,
        **fields,
    }


def head(event_type: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": event_type,
        "event_id": "022bb90c",
        "contact_id": "97980cfea0067",
        "occurred_at": T,
        **fields,
    }


@pytest.mark.parametrize(
    ("event", "properties", "expected"),
    [
        (
            "Product Viewed",
            {**MONOPOLY, "currency": "usd"},
            [head("page_view", page_type="product", product=AS_PRODUCT, url=MONOPOLY["url"])],
        ),
        (
            "Product Added",
            {**MONOPOLY, "currency": "USD", "cart_id": "skdjsidjsdkdj29j"},
            [
                head(
                    "cart", action="add", product=AS_PRODUCT, quantity=1, cart_id="skdjsidjsdkdj29j"
                )
            ],
        ),
        (
            "Product Removed",
            {**MONOPOLY, "currency": "USD", "quantity": 2},
            [head("cart", action="remove", product=AS_PRODUCT, quantity=2)],
        ),
        (
            "Products Searched",
            {"query": "blue roses"},
            [head("page_view", page_type="search", search_query="blue roses")],
        ),
        (
            "Products Searched",
            {"query": {"color": "blue", "kind": "roses"}},
            [head("page_view", page_type="search", search_query='{"color":"blue","kind":"roses"}')],
        ),
        (
            "Product List Viewed",
            {"list_id": "hot_deals_1", "category": "Deals"},
            [head("page_view", page_type="category", category_id="Deals")],
        ),
        (
            "Product List Viewed",
            {"list_id": "hot_deals_1"},
            [head("page_view", page_type="category", category_id="hot_deals_1")],
        ),
        (
            "Cart Viewed",
            {"cart_id": "d92jd29jd92jd29j92d92jd"},
            [head("page_view", page_type="cart")],
        ),
        (
            "Checkout Started",
            {"order_id": "50314b8e9bcf000000000000"},
            [head("page_view", page_type="checkout")],
        ),
        (
            "Viewed Product",
            {**MONOPOLY, "currency": "usd"},  # the V1 name
            [head("page_view", page_type="product", product=AS_PRODUCT, url=MONOPOLY["url"])],
        ),
        (
            "Unsubscribed",
            {"email_id": "18vzF7u3z", "list_id": "1425"},
            [head("engagement", kind="unsubscribe", channel="email", scope="all")],
        ),
        (
            "Email Marked as Spam",
            {"email_id": "18vzF7u3z"},
            [head("engagement", kind="spam_complaint", channel="email", scope="all")],
        ),
    ],
)
def test_each_ecommerce_event_becomes_its_canonical_event(
    event: str, properties: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    assert records("segment", track(event, properties)) == expected


def test_an_order_keeps_its_products_total_and_currency_exactly() -> None:
    order = track(
        "Order Completed",
        {
            "order_id": "50314b8e9bcf000000000000",
            "total": "27.50",
            "revenue": 25.00,
            "currency": "usd",
            "products": [
                {
                    "product_id": "507f1f77bcf86cd799439011",
                    "name": "Monopoly: 3rd Edition",
                    "price": "19.00",
                    "quantity": 1,
                },
                {"sku": "46493-32", "name": "Uno Card Game", "price": 3, "quantity": 2},
            ],
        },
    )
    assert records("segment", order) == [
        head(
            "order",
            order_id="50314b8e9bcf000000000000",
            status="placed",
            total=27.5,
            currency="USD",
            items=[
                {
                    "product": product(
                        id="507f1f77bcf86cd799439011",
                        name="Monopoly: 3rd Edition",
                        price=19.0,
                        currency="USD",
                    ),
                    "quantity": 1,
                },
                {
                    "product": product(
                        id="46493-32", name="Uno Card Game", price=3.0, currency="USD"
                    ),
                    "quantity": 2,
                },
            ],
        )
    ]


@pytest.mark.parametrize(
    ("properties", "total"),
    [
        ({"revenue": 25.0}, 25.0),
        ({"value": 30}, 30.0),
        (
            {
                "products": [
                    {"sku": "a", "price": 19.99, "quantity": 3},
                    {"sku": "b", "price": "0.01", "quantity": 1},
                ]
            },
            19.99 * 3 + 0.01,
        ),
    ],
)
def test_a_refund_without_a_total_takes_revenue_value_or_its_products(
    properties: dict[str, Any], total: float
) -> None:
    (refund,) = records(
        "segment", track("Order Refunded", {"order_id": "o-1", "currency": "EUR", **properties})
    )
    assert (refund["status"], refund["total"]) == ("refunded", total)


def test_the_source_currency_option_is_for_events_that_name_none() -> None:
    (order,) = records(
        "segment", track("Order Cancelled", {"order_id": "o-1", "total": 5}), currency="EUR"
    )
    assert (order["status"], order["currency"]) == ("cancelled", "EUR")
    error = refusal("segment", track("Order Cancelled", {"order_id": "o-1", "total": 5}))
    assert (error.reason, error.detail) == (
        "missing_field",
        "Segment track 'Order "
        "Cancelled': properties.currency (or the source's "
        "currency option) is required",
    )


def test_identify_keeps_the_reserved_traits_and_the_consent() -> None:
    call = {
        "type": "identify",
        "messageId": "m-1",
        "userId": "97980cfea0067",
        "timestamp": "2015-02-23T22:28:55.111Z",
        "context": {"locale": "en-US", "timezone": "Europe/Amsterdam"},
        "traits": {
            "name": "Peter Gibbons",
            "email": "peter@example.com",
            "phone": "+1 (212) 555-0123",
            "birthday": "1990-04-21T00:00:00.000Z",
            "marketingOptIn": True,
            "sms_opt_in": "false",
            "plan": "premium",
        },
    }
    assert records("segment", call) == [
        {
            "type": "contact",
            "event_id": "m-1",
            "contact_id": "97980cfea0067",
            "occurred_at": 1424730535111,
            "email": "peter@example.com",
            "phone": "+12125550123",
            "locale": "en-US",
            "timezone": "Europe/Amsterdam",
            "birthday": date(1990, 4, 21),
            "marketing_opt_in": True,
            "sms_opt_in": False,
        }
    ]
    rudderstack = {**call, "traits": None, "context": {"traits": {"email": "p@example.com"}}}
    assert records("segment", rudderstack)[0]["email"] == "p@example.com"


@pytest.mark.parametrize(
    ("traits", "reason", "detail"),
    [
        (
            {"birthday": "1990-04-20T22:00:00.000Z"},
            "bad_value",
            "traits.birthday must be a date like 1990-04-21, not '1990-04-20T22:00:00.000Z'",
        ),
        (
            {"phone": "0612345678"},
            "bad_value",
            "as an event of type contact, phone is not an "
            "E.164 number: '+' and up to 15 digits, without spaces or punctuation",
        ),
        (
            {"email": "not-an-address"},
            "bad_value",
            "as an event of type contact, email is not an "
            "email address: An email address must have an @-sign.",
        ),
        (
            {"marketing_opt_in": "perhaps"},
            "bad_value",
            "traits.marketing_opt_in must be true or false, not 'perhaps'",
        ),
    ],
)
def test_a_profile_relance_would_refuse_is_refused_naming_the_trait(
    traits: dict[str, Any], reason: str, detail: str
) -> None:
    error = refusal(
        "segment",
        {
            "type": "identify",
            "userId": "u",
            "messageId": "m",
            "timestamp": "2015-02-23T22:28:55.111Z",
            "traits": traits,
        },
    )
    assert (error.reason, error.detail) == (reason, f"Segment identify: {detail}")


def test_a_page_or_screen_is_a_page_view() -> None:
    page = {
        "type": "page",
        "messageId": "p-1",
        "userId": "u",
        "timestamp": "2015-12-10T04:08:31.905+01:00",
        "properties": {"path": "/", "url": "https://example.com/"},
    }
    assert records("segment", page) == [
        {
            "type": "page_view",
            "event_id": "p-1",
            "contact_id": "u",
            "occurred_at": T - 3600_000,
            "page_type": "home",
            "url": "https://example.com/",
        }
    ]
    screen = {
        **page,
        "type": "screen",
        "properties": {},
        "context": {"page": {"url": "https://example.com/app"}},
    }
    (view,) = records("segment", screen)
    assert (view["page_type"], view["url"]) == ("other", "https://example.com/app")


@pytest.mark.parametrize(
    "call",
    [
        track("Product Shared", {"share_via": "email"}),
        track("Coupon Applied", {}),
        track("Email Bounced", {"email_id": "18vzF7u3z"}),
        track("Order Updated", {}),
        {"type": "group", "userId": "u", "groupId": "g"},
        {"type": "alias", "userId": "u"},
    ],
)
def test_spec_events_relance_does_not_use_are_skipped_not_refused(call: dict[str, Any]) -> None:
    assert skipped("segment", call) == ["not_used"]


def test_a_custom_event_is_refused_unless_the_source_skips_unknown_events() -> None:
    call = track("Newsletter Signup", {})
    error = refusal("segment", call)
    assert (error.reason, error.detail) == (
        "unknown_type",
        "Segment track 'Newsletter Signup': not an event relance maps (the "
        "source's unknown_events: skip counts such events instead)",
    )
    assert skipped("segment", call, unknown_events="skip") == ["unknown"]


def test_an_anonymous_visitor_is_mapped_with_a_marker_and_skipped() -> None:
    call = track(
        "Product Viewed",
        {**MONOPOLY, "currency": "USD"},
        userId=None,
        anonymousId="507f191e810c19729de860ea",
    )
    assert skipped("segment", call) == ["anonymous"]
    assert records("segment", call)[0]["contact_id"] == "anon:507f191e810c19729de860ea"


def test_a_call_without_a_message_id_gets_the_same_hash_however_its_keys_are_ordered() -> None:
    call = track("Product Viewed", {"product_id": "p", "price": 1}, messageId=None)
    reordered = dict(reversed(list(call.items())))
    (first,), (second,) = records("segment", call), records("segment", reordered)
    assert first["event_id"] == second["event_id"] == stable_id("segment", call)
    assert first["event_id"].startswith("segment:") and len(first["event_id"]) == 32


def test_the_original_timestamp_stands_in_for_a_missing_timestamp() -> None:
    call = track("Cart Viewed", {}, timestamp=None, originalTimestamp="2015-12-10T04:08:31.905Z")
    assert records("segment", call)[0]["occurred_at"] == T


@pytest.mark.parametrize(
    ("call", "reason", "detail"),
    [
        (
            track("Product Added", {"name": "x"}),
            "missing_field",
            "Segment track 'Product Added': properties.product_id (or properties.sku) is required",
        ),
        (
            track("Product Added", {"product_id": "p", "price": "12,50"}),
            "bad_value",
            "Segment track 'Product Added': properties.price must be a decimal number, not '12,50'",
        ),
        (
            track("Product Added", {"product_id": "p", "quantity": 1.5}),
            "bad_value",
            "Segment track 'Product Added': properties.quantity must be a whole number from 1 to "
            "2147483647, not 1.5",
        ),
        (
            track("Cart Viewed", {}, timestamp="2015-12-10T04:08:31"),
            "bad_value",
            "Segment track 'Cart Viewed': timestamp: '2015-12-10T04:08:31' has no "
            "UTC offset (write "
            "e.g. 2024-05-01T10:00:00Z)",
        ),
        (
            track("Cart Viewed", {}, timestamp=None),
            "missing_field",
            "Segment track 'Cart Viewed': timestamp is required (ISO-8601 with an offset)",
        ),
        (
            track("Cart Viewed", {}, userId=None),
            "missing_field",
            "Segment track 'Cart Viewed': userId (or anonymousId) is required",
        ),
        (
            track("Order Completed", {"currency": "USD"}),
            "missing_field",
            "Segment track 'Order Completed': properties.order_id is required",
        ),
        (
            {"type": "batch", "batch": []},
            "unknown_type",
            "Segment batch: the call type must be "
            "track, identify, page, screen, group or alias, not 'batch'",
        ),
    ],
)
def test_what_cannot_be_mapped_is_refused_naming_the_call_and_the_field(
    call: dict[str, Any], reason: str, detail: str
) -> None:
    error = refusal("segment", call)
    assert (error.reason, error.detail) == (reason, detail)


def test_not_json_and_too_large_are_refused_like_canonical_events() -> None:
    assert refusal("segment", b"{oops").reason == "not_json"
    assert refusal("segment", b"[1]").reason == "not_an_object"
    huge = track("Product Viewed", {"product_id": "p", "name": "x" * 70_000})
    error = refusal("segment", huge)
    assert error.reason == "too_large"
    assert "its largest field is properties.name (70,000 bytes)" in error.detail
