"""The GA4 adapter: Measurement Protocol requests and BigQuery export rows, with the
recommended ecommerce events' example items."""

from __future__ import annotations

from typing import Any

import pytest

from .tracking import product, records, refusal, skipped

TEE = {
    "item_id": "SKU_12345",
    "item_name": "Stan and Friends Tee",
    "item_brand": "Google",
    "item_category": "Apparel",
    "item_variant": "green",
    "price": 10.01,
    "quantity": 3,
}
AS_TEE = product(
    id="SKU_12345", name="Stan and Friends Tee", price=10.01, currency="USD", category_id="Apparel"
)
MICROS = 1714557600123456  # 2024-05-01T10:00:00.123456Z


def request(*events: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "client_id": "123456.7654321",
        "user_id": "u-1",
        "timestamp_micros": MICROS,
        "events": list(events),
        **fields,
    }


def event(name: str, **params: Any) -> dict[str, Any]:
    return {"name": name, "params": {"event_id": f"{name}-1", **params}}


def head(event_type: str, event_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": event_type,
        "event_id": event_id,
        "contact_id": "u-1",
        "occurred_at": MICROS // 1000,
        **fields,
    }


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            event("view_item", currency="USD", value=30.03, items=[TEE]),
            [head("page_view", "view_item-1", page_type="product", product=AS_TEE)],
        ),
        (
            event("view_item_list", item_list_id="related_products", items=[TEE]),
            [
                head(
                    "page_view",
                    "view_item_list-1",
                    page_type="category",
                    category_id="related_products",
                )
            ],
        ),
        (
            event("view_item_list", items=[TEE]),
            [head("page_view", "view_item_list-1", page_type="category", category_id="Apparel")],
        ),
        (
            event("search", search_term="t-shirts"),
            [head("page_view", "search-1", page_type="search", search_query="t-shirts")],
        ),
        (
            event("view_cart", currency="USD", items=[TEE]),
            [head("page_view", "view_cart-1", page_type="cart")],
        ),
        (
            event("begin_checkout", currency="USD", items=[TEE]),
            [head("page_view", "begin_checkout-1", page_type="checkout")],
        ),
        (
            event("page_view", page_location="https://shop.example.com/"),
            [head("page_view", "page_view-1", page_type="other", url="https://shop.example.com/")],
        ),
        (
            event(
                "add_to_cart",
                currency="USD",
                items=[TEE, {**TEE, "item_id": "SKU_2", "quantity": "1"}],
            ),
            [
                head("cart", "add_to_cart-1", action="add", product=AS_TEE, quantity=3),
                head(
                    "cart",
                    "add_to_cart-1:1",
                    action="add",
                    product={**AS_TEE, "id": "SKU_2"},
                    quantity=1,
                ),
            ],
        ),
        (
            event("remove_from_cart", currency="USD", items=[TEE]),
            [head("cart", "remove_from_cart-1", action="remove", product=AS_TEE, quantity=3)],
        ),
    ],
)
def test_each_recommended_event_becomes_its_canonical_events(
    source: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    assert records("ga4", request(source)) == expected


def test_a_purchase_is_an_order_with_an_id_of_its_transaction() -> None:
    purchase = {
        "name": "purchase",
        "params": {
            "transaction_id": "T_12345",
            "value": 72.05,
            "tax": 4.9,
            "shipping": 5.99,
            "currency": "USD",
            "items": [TEE],
        },
    }
    (order,) = records("ga4", request(purchase))
    assert order == head(
        "order",
        "ga4:purchase:T_12345",
        order_id="T_12345",
        status="placed",
        total=72.05,
        currency="USD",
        items=[{"product": AS_TEE, "quantity": 3}],
    )
    again = request(purchase, client_id="another.device", timestamp_micros=MICROS + 5)
    assert records("ga4", again)[0]["event_id"] == "ga4:purchase:T_12345"  # applied once


def test_a_refund_without_a_value_is_its_items_worth() -> None:
    (refund,) = records(
        "ga4",
        request(
            {
                "name": "refund",
                "params": {
                    "transaction_id": "T_12345",
                    "currency": "USD",
                    "items": [{"item_id": "SKU_12345", "price": "10.01", "quantity": 2}],
                },
            }
        ),
    )
    assert (refund["status"], refund["total"], refund["event_id"]) == (
        "refunded",
        20.02,
        "ga4:refund:T_12345",
    )


def test_a_request_event_id_is_a_stable_hash_of_the_request_and_its_place() -> None:
    body = request({"name": "view_cart", "params": {}}, {"name": "view_cart", "params": {}})
    first, second = records("ga4", body)
    assert first["event_id"] != second["event_id"]  # the same event twice in one request
    assert [r["event_id"] for r in records("ga4", dict(reversed(list(body.items()))))] == [
        first["event_id"],
        second["event_id"],
    ]
    assert first["event_id"].startswith("ga4:")


def test_an_event_time_of_its_own_comes_before_the_request_time() -> None:
    body = request({"name": "view_cart", "timestamp_micros": 1714557700999999, "params": {}})
    assert records("ga4", body)[0]["occurred_at"] == 1714557700999
    assert refusal("ga4", {"client_id": "c", "events": [{"name": "view_cart"}]}).detail == (
        "GA4 view_cart (events[0]): timestamp_micros is required (epoch microseconds)"
    )


def test_login_and_sign_up_carry_the_user_properties_relance_keeps() -> None:
    body = request(
        {"name": "sign_up", "params": {"method": "email"}},
        user_properties={
            "marketing_opt_in": {"value": "true"},
            "email": {"value": "ada@example.com"},
            "language": {"value": "en-GB"},
            "favourite_colour": {"value": "green"},
        },
    )
    assert records("ga4", body) == [
        {
            "type": "contact",
            "event_id": records("ga4", body)[0]["event_id"],
            "contact_id": "u-1",
            "occurred_at": MICROS // 1000,
            "email": "ada@example.com",
            "locale": "en-GB",
            "marketing_opt_in": True,
        }
    ]
    assert skipped("ga4", request({"name": "login", "params": {}})) == ["not_used"]


def test_events_of_one_request_are_mapped_skipped_or_anonymous_each() -> None:
    body = request(
        event("view_cart"),
        {"name": "scroll", "params": {}},
        {"name": "user_engagement", "params": {}},
    )
    assert skipped("ga4", body) == [None, "not_used", "not_used"]
    anonymous = {**request(event("view_cart")), "user_id": None}
    assert skipped("ga4", anonymous) == ["anonymous"]
    assert records("ga4", anonymous)[0]["contact_id"] == "anon:123456.7654321"


def test_one_event_that_cannot_be_mapped_refuses_its_whole_request() -> None:
    body = request(
        event("view_cart"), event("add_to_cart", currency="USD", items=[{"item_name": "no id"}])
    )
    error = refusal("ga4", body)
    assert (error.reason, error.detail) == (
        "missing_field",
        "GA4 add_to_cart (events[1]): items[0].item_id is required",
    )
    custom = refusal("ga4", request(event("level_complete")))
    assert custom.reason == "unknown_type" and "GA4 level_complete (events[0])" in custom.detail
    assert skipped("ga4", request(event("level_complete")), unknown_events="skip") == ["unknown"]


# A row of the BigQuery export (events_YYYYMMDD), as its JSON export writes it: INT64 as
# strings, parameters as key/value records.
ROW = {
    "event_date": "20240501",
    "event_timestamp": str(MICROS),
    "event_name": "purchase",
    "event_params": [
        {"key": "currency", "value": {"string_value": "EUR"}},
        {"key": "transaction_id", "value": {"string_value": "(not set)"}},
        {"key": "ga_session_id", "value": {"int_value": "1714557000"}},
    ],
    "user_id": "u-1",
    "user_pseudo_id": "1234567890.1714557000",
    "user_properties": [
        {
            "key": "marketing_opt_in",
            "value": {"string_value": "true", "set_timestamp_micros": str(MICROS)},
        }
    ],
    "ecommerce": {
        "transaction_id": "T_999",
        "purchase_revenue": 42.5,
        "purchase_revenue_in_usd": 45.9,
        "total_item_quantity": "2",
        "unique_items": "1",
    },
    "items": [
        {
            "item_id": "SKU_12345",
            "item_name": "Stan and Friends Tee",
            "price": 21.25,
            "price_in_usd": 22.95,
            "quantity": "2",
            "item_category": "Apparel",
        }
    ],
}


def test_an_export_row_reads_its_parameters_ecommerce_and_string_integers() -> None:
    (order,) = records("ga4", ROW)
    assert order == head(
        "order",
        "ga4:purchase:T_999",
        order_id="T_999",
        status="placed",
        total=42.5,
        currency="EUR",
        items=[{"product": {**AS_TEE, "price": 21.25, "currency": "EUR"}, "quantity": 2}],
    )
    view = {**ROW, "event_name": "view_item", "ecommerce": None}
    assert records("ga4", view)[0]["event_id"].startswith("ga4:")
    assert skipped("ga4", {**view, "user_id": None}) == ["anonymous"]


def test_neither_shape_is_refused() -> None:
    error = refusal("ga4", {"name": "purchase"})
    assert (error.reason, error.detail) == (
        "unknown_type",
        "GA4: neither a Measurement Protocol request (events) nor a BigQuery "
        "export row (event_name)",
    )
