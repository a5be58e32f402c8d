"""The Shopify adapter: webhooks of checkouts, orders and customers (the webhook reference's
example payloads) in each envelope they reach Kafka in."""

from __future__ import annotations

from typing import Any

import pytest

from .tracking import product, records, refusal, skipped

IPOD = {
    "id": 866550311766439020,
    "product_id": 632910392,
    "variant_id": 808950810,
    "sku": "IPOD2008PINK",
    "title": "IPod Nano - 8GB",
    "quantity": 1,
    "price": "199.00",
}
AS_IPOD = product(id="632910392", name="IPod Nano - 8GB", price=199.0, currency="USD")
CUSTOMER = {"id": 706405506930370084, "email": "bob@biller.com"}
CHECKOUT = {
    "id": 981820079255243537,
    "token": "123123123",
    "cart_token": "eeafa272",
    "email": "bob@biller.com",
    "currency": "USD",
    "completed_at": None,
    "created_at": "2024-05-01T06:02:00-04:00",
    "updated_at": "2024-05-01T06:04:00-04:00",
    "line_items": [
        IPOD,
        {
            **IPOD,
            "product_id": 921728736,
            "title": "IPod Touch 8GB",
            "price": "199.99",
            "quantity": 2,
        },
    ],
    "customer": CUSTOMER,
}
ORDER = {
    "id": 820982911946154508,
    "email": "bob@biller.com",
    "checkout_token": "123123123",
    "created_at": "2024-05-01T06:06:00-04:00",
    "updated_at": "2024-05-01T07:00:00-04:00",
    "cancelled_at": "2024-05-01T08:00:00-04:00",
    "currency": "USD",
    "total_price": "598.98",
    "line_items": [IPOD],
    "customer": CUSTOMER,
}
AT = 1714557840000  # 2024-05-01T10:04:00Z


def bridge(topic: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The Amazon EventBridge event Shopify delivers."""
    return {
        "version": "0",
        "detail-type": "shopifyWebhook",
        "source": "aws.partner/shopify.com",
        "detail": {
            "metadata": {"X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": "jsmith.myshopify.com"},
            "payload": payload,
        },
    }


def test_a_checkout_is_its_cart_as_it_is_now() -> None:
    base = {
        "type": "cart",
        "contact_id": "706405506930370084",
        "occurred_at": AT,
        "cart_id": "123123123",
    }
    assert records("shopify", bridge("checkouts/update", CHECKOUT)) == [
        {
            **base,
            "event_id": f"shopify:checkout:123123123:{AT}:clear",
            "action": "clear",
            "quantity": 1,
        },
        {
            **base,
            "event_id": f"shopify:checkout:123123123:{AT}:0",
            "action": "update",
            "product": AS_IPOD,
            "quantity": 1,
        },
        {
            **base,
            "event_id": f"shopify:checkout:123123123:{AT}:1",
            "action": "update",
            "product": {**AS_IPOD, "id": "921728736", "name": "IPod Touch 8GB", "price": 199.99},
            "quantity": 2,
        },
    ]


def test_the_three_envelopes_read_alike() -> None:
    evented = records("shopify", bridge("checkouts/create", CHECKOUT))
    assert records("shopify", bridge("checkouts/create", CHECKOUT)["detail"]) == evented
    assert (
        records("shopify", CHECKOUT, headers=[("X-Shopify-Topic", b"checkouts/create")]) == evented
    )
    error = refusal("shopify", CHECKOUT)
    assert (error.reason, error.detail) == (
        "missing_field",
        "Shopify: the webhook's topic is required (detail.metadata "
        "X-Shopify-Topic, or a Kafka header X-Shopify-Topic)",
    )


@pytest.mark.parametrize(
    ("topic", "status", "at"),
    [
        ("orders/create", "placed", 1714557960000),
        ("orders/paid", "paid", 1714561200000),
        ("orders/fulfilled", "shipped", 1714561200000),
        ("orders/cancelled", "cancelled", 1714564800000),
    ],
)
def test_an_order_webhook_is_its_status_at_its_time(topic: str, status: str, at: int) -> None:
    assert records("shopify", bridge(topic, ORDER)) == [
        {
            "type": "order",
            "event_id": f"shopify:{topic}:820982911946154508",
            "contact_id": "706405506930370084",
            "occurred_at": at,
            "order_id": "820982911946154508",
            "status": status,
            "items": [{"product": AS_IPOD, "quantity": 1}],
            "total": 598.98,
            "currency": "USD",
            "cart_id": "123123123",
        }
    ]


@pytest.mark.parametrize(
    ("consent", "legacy", "expected"),
    [
        ({"state": "subscribed", "opt_in_level": "confirmed_opt_in"}, None, True),
        ({"state": "pending"}, True, False),
        ({"state": "unsubscribed"}, None, False),
        (None, True, True),
        (None, None, None),
    ],
)
def test_a_customer_is_a_profile_whose_consent_is_subscribed(
    consent: Any, legacy: Any, expected: bool | None
) -> None:
    customer = {
        "id": 706405506930370084,
        "email": " bob@biller.com ",
        "phone": "+16136120707",
        "updated_at": "2024-05-01T06:00:00-04:00",
        "email_marketing_consent": consent,
        "accepts_marketing": legacy,
        "sms_marketing_consent": {"state": "not_subscribed"},
    }
    (profile,) = records("shopify", bridge("customers/update", customer))
    assert profile == {
        k: v
        for k, v in {
            "type": "contact",
            "event_id": "shopify:customer:706405506930370084:1714557600000",
            "contact_id": "706405506930370084",
            "occurred_at": 1714557600000,
            "email": "bob@biller.com",
            "phone": "+16136120707",
            "marketing_opt_in": expected,
            "sms_opt_in": False,
        }.items()
        if v is not None
    }


def test_options_take_the_email_as_contact_and_another_product_id() -> None:
    (order,) = records(
        "shopify",
        bridge("orders/create", {**ORDER, "email": "Bob@Biller.com"}),
        contact_id="email",
        product_id="sku",
    )
    assert order["contact_id"] == "bob@biller.com"
    assert order["items"][0]["product"]["id"] == "IPOD2008PINK"


def test_a_guest_checkout_is_an_anonymous_visitors_and_a_completed_one_is_skipped() -> None:
    guest = {**CHECKOUT, "customer": None}
    assert skipped("shopify", bridge("checkouts/create", guest)) == ["anonymous"]
    assert records("shopify", bridge("checkouts/create", guest))[0]["contact_id"] == (
        "anon:eeafa272"
    )
    done = {**CHECKOUT, "completed_at": "2024-05-01T06:06:00-04:00"}
    assert skipped("shopify", bridge("checkouts/update", done)) == ["not_used"]


def test_topics_relance_does_not_use_are_skipped_and_others_refused() -> None:
    assert skipped("shopify", bridge("orders/updated", ORDER)) == ["not_used"]
    error = refusal("shopify", bridge("products/update", {"id": 1}))
    assert (error.reason, error.detail.split(":")[0]) == ("unknown_type", "Shopify products/update")


@pytest.mark.parametrize(
    ("payload", "reason", "detail"),
    [
        (
            {**ORDER, "total_price": "598,98"},
            "bad_value",
            "total_price must be a decimal number, not '598,98'",
        ),
        ({**ORDER, "currency": None}, "missing_field", "currency is required"),
        (
            {**ORDER, "line_items": [{**IPOD, "product_id": None}]},
            "missing_field",
            "line_items[0].product_id is required",
        ),
        (
            {**ORDER, "created_at": "2024-05-01 06:06"},
            "bad_value",
            "created_at: '2024-05-01 06:06' has no UTC offset (write e.g. 2024-05-01T10:00:00Z)",
        ),
    ],
)
def test_what_cannot_be_mapped_is_refused_naming_the_topic_and_the_field(
    payload: dict[str, Any], reason: str, detail: str
) -> None:
    error = refusal("shopify", bridge("orders/create", payload))
    assert (error.reason, error.detail) == (reason, f"Shopify orders/create: {detail}")
