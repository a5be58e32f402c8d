"""Rendering send commands: shipped templates, escaping, overrides, strictness, nulls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from relance.core.commands import Recipient, SendCommand
from relance.core.scenarios import CATALOGUE
from relance.sender.errors import RenderError
from relance.sender.links import LinkSigner
from relance.sender.render import Renderer, money
from relance.tokens import Key

GATEWAY = LinkSigner("https://links.shop.example", Key("k1", b"a-test-key-of-16+"))


def Renderer_(folder: Path | None = None) -> Renderer:  # noqa: N802  # stands for the class
    """The renderer of a sender with a gateway: marketing email has its unsubscribe link."""
    return Renderer(folder, gateway=GATEWAY)


SHOE = {
    "id": "sku-1",
    "name": "Trail shoe",
    "price": 89.9,
    "currency": "EUR",
    "category_id": "c-1",
    "url": "https://shop.example/p/sku-1",
    "image_url": "https://shop.example/i/sku-1.jpg",
    "in_stock": True,
}
SOCKS = {
    "id": "sku-2",
    "name": "Wool socks",
    "price": 12,
    "currency": "EUR",
    "category_id": "c-2",
    "url": "https://shop.example/p/sku-2",
    "image_url": "https://shop.example/i/sku-2.jpg",
    "in_stock": True,
}
BARE = {
    "id": "sku-3",
    "name": None,
    "price": None,
    "currency": None,
    "category_id": None,
    "url": None,
    "image_url": None,
    "in_stock": None,
}


def record(template: str, payload: dict[str, Any]) -> dict[str, Any]:
    return SendCommand(
        command_id="4f0abcfc-c65d-5759-b93e-b13a7fadd55f",
        contact_id="c1",
        scenario=template,
        step=1,
        channel="email",
        template=template,
        priority=100,
        decided_at=1714561200000,
        recipient=Recipient("ann@example.com", None, None),
        payload=payload,
    ).to_record()


def cart(*lines: tuple[dict[str, Any], int]) -> dict[str, Any]:
    return record(
        "cart_abandonment",
        {
            "cart_id": "cart-9",
            "items": [{"product": product, "quantity": quantity} for product, quantity in lines],
        },
    )


def browse(*lines: tuple[dict[str, Any], int]) -> dict[str, Any]:
    return record(
        "browse_abandonment",
        {"products": [{"product": product, "views": views} for product, views in lines]},
    )


def write_template(folder: Path, name: str, subject: str, html: str, text: str) -> None:
    for suffix, body in (("subject.txt", subject), ("html", html), ("txt", text)):
        (folder / f"{name}.{suffix}").write_text(body)


@pytest.mark.parametrize(
    "command", [cart((SHOE, 2), (SOCKS, 1)), browse((SHOE, 3), (SOCKS, 1))], ids=["cart", "browse"]
)
def test_shipped_templates_show_every_product(command: dict[str, Any]) -> None:
    email = Renderer_().render(command)
    for part in (email.html, email.text):
        assert "Trail shoe" in part and "Wool socks" in part
        assert "€89.90" in part and "€12.00" in part
        assert "https://shop.example/p/sku-1" in part
    assert '<img src="https://shop.example/i/sku-1.jpg" alt="Trail shoe"' in email.html
    assert '<a href="https://shop.example/p/sku-2?utm_source=relance' in email.html
    assert "<table" in email.html


def test_subjects_and_cart_quantities() -> None:
    email = Renderer_().render(cart((SHOE, 2)))
    assert email.subject == "You left something in your cart"
    assert "Quantity: 2" in email.html and "Quantity: 2" in email.text
    assert Renderer_().render(browse((SHOE, 1))).subject == "Still thinking about these?"


def test_product_names_are_escaped_in_html_but_not_in_text() -> None:
    evil = {**SHOE, "name": "<script>alert(1)</script>"}
    email = Renderer_().render(cart((evil, 1)))
    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    assert "<script>alert(1)</script>" in email.text


@pytest.mark.parametrize(
    "command",
    [cart((BARE, 1)), browse((BARE, 1)), cart(({"id": "only-id"}, 1)), browse(({"id": "x"}, 2))],
    ids=["cart-nulls", "browse-nulls", "cart-id-only", "browse-id-only"],
)
def test_null_product_fields_do_not_crash(command: dict[str, Any]) -> None:
    email = Renderer_().render(command)
    assert "None" not in email.html and "None" not in email.text
    assert "<img" not in email.html
    assert email.subject


def test_an_empty_payload_still_renders() -> None:
    assert Renderer_().render(record("cart_abandonment", {})).subject


def test_a_user_folder_overrides_one_shipped_file(tmp_path: Path) -> None:
    (tmp_path / "cart_abandonment.subject.txt").write_text(
        "{{ items | length }} items wait for {{ recipient.email }}"
    )
    email = Renderer_(tmp_path).render(cart((SHOE, 1), (SOCKS, 1)))
    assert email.subject == "2 items wait for ann@example.com"
    assert "Trail shoe" in email.html  # the other parts are still the shipped ones


def test_a_user_folder_adds_new_templates(tmp_path: Path) -> None:
    write_template(
        tmp_path,
        "welcome",
        "Hi {{ recipient.email }}",
        "<p>{{ payload.note }}</p>",
        "{{ payload.note }}",
    )
    email = Renderer_(tmp_path).render({**record("welcome", {"note": "a & b"}), "marketing": False})
    assert (email.subject, email.html, email.text) == (
        "Hi ann@example.com",
        "<p>a &amp; b</p>",
        "a & b",
    )


def test_a_marketing_template_without_the_unsubscribe_link_is_a_render_error(
    tmp_path: Path,
) -> None:
    write_template(tmp_path, "welcome", "Hi", "<p>{{ links.unsubscribe }}</p>", "Hi")
    with pytest.raises(RenderError, match=r"welcome\.txt.*must show its unsubscribe link"):
        Renderer_(tmp_path).render(record("welcome", {}))
    (tmp_path / "welcome.txt").write_text("Stop: {{ links.unsubscribe }}")
    assert Renderer_(tmp_path).render(record("welcome", {})).list_unsubscribe


def test_an_undefined_variable_is_a_render_error(tmp_path: Path) -> None:
    write_template(tmp_path, "oops", "Hi {{ recipient.nickname }}", "<p></p>", "")
    with pytest.raises(RenderError, match=r"oops\.subject\.txt.*nickname"):
        Renderer_(tmp_path).render(record("oops", {}))


def test_a_missing_template_is_a_render_error(tmp_path: Path) -> None:
    (tmp_path / "half.subject.txt").write_text("Half")
    with pytest.raises(RenderError, match=r"half\.html.*not found") as caught:
        Renderer_(tmp_path).render(record("half", {}))
    assert caught.value.template == "half.html"
    with pytest.raises(RenderError, match="nowhere"):
        Renderer_().render(record("nowhere", {}))


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    write_template(tmp_path, "broken", "ok", "<p>\n{% if %}</p>", "")
    with pytest.raises(RenderError, match=r"broken\.html.*line 2"):
        Renderer_(tmp_path).render(record("broken", {}))


def test_a_failing_expression_is_a_render_error(tmp_path: Path) -> None:
    write_template(tmp_path, "math", "{{ 1 / 0 }}", "", "")
    with pytest.raises(RenderError, match="ZeroDivisionError"):
        Renderer_(tmp_path).render(record("math", {}))


def test_a_subject_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "cart_abandonment.subject.txt").write_text("  Your\ncart \n\n is waiting\n")
    assert Renderer_(tmp_path).render(cart((SHOE, 1))).subject == "Your cart is waiting"


@pytest.mark.parametrize(
    ("price", "currency", "shown"),
    [
        (89.9, "EUR", "€89.90"),
        (1234, "USD", "$1,234.00"),
        (5, None, "5.00"),
        (None, "EUR", ""),
        ("9,99", "EUR", "9,99 EUR"),
        (True, None, "True"),
    ],
)
def test_money(price: Any, currency: str | None, shown: str) -> None:
    assert money(price, currency) == shown


def order_update(template: str) -> dict[str, Any]:
    return record(
        template,
        {
            "order": {
                "order_id": "o-77",
                "status": "placed",
                "total": 191.8,
                "currency": "EUR",
                "cart_id": None,
                "items": [{"product": SHOE, "quantity": 2}, {"product": BARE, "quantity": 1}],
            }
        },
    )


@pytest.mark.parametrize(
    ("template", "subject"),
    [
        ("order_confirmation", "Thank you for your order (o-77)"),
        ("shipping_update", "Your order is on its way (o-77)"),
        ("delivery_update", "Your order has been delivered"),
        ("order_cancellation", "Your order has been cancelled (o-77)"),
    ],
)
def test_order_notifications_show_the_order(template: str, subject: str) -> None:
    email = Renderer_().render(order_update(template))
    assert email.subject.strip() == subject
    for part in (email.html, email.text):
        assert "o-77" in part
        assert "Trail shoe" in part and "Quantity: 2" in part
        assert "An item of your order" in part
        assert "€191.80" in part


def test_back_in_stock_shows_the_product() -> None:
    email = Renderer_().render(record("back_in_stock", {"product": SHOE}))
    assert email.subject.strip() == "Back in stock: Trail shoe"
    for part in (email.html, email.text):
        assert "Trail shoe" in part and "€89.90" in part
        assert "https://shop.example/p/sku-1" in part
    bare = Renderer_().render(record("back_in_stock", {"product": BARE}))
    assert bare.subject.strip() == "Back in stock: a product you looked at"


SAMPLE_PAYLOADS: dict[str, dict[str, Any]] = {
    "cart_abandonment": {"cart_id": "k", "items": [{"product": SHOE, "quantity": 1}]},
    "browse_abandonment": {"products": [{"product": SHOE, "views": 2}]},
    "category_abandonment": {"category_id": "c-1", "products": [{"product": SHOE, "views": 3}]},
    "search_abandonment": {"search_query": "trail <shoes>"},
    "back_in_stock": {"product": SHOE},
    "price_drop": {"product": SHOE, "previous_price": 99.0},
    "cross_sell": {
        "order": {"order_id": "o-1", "items": [{"product": SHOE, "quantity": 1}]},
        "products": [{"product": SOCKS, "views": 0}],
    },
    "birthday": {"year": 2024},
    "reactivation": {"last_active_at": "2024-03-01T10:00:00.000Z"},
    "subscription_expiry": {"ends_on": "2024-06-30", "days_left": 3},
    "welcome": {"order_id": "o-1"},
}


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_catalogue_scenario_has_a_shipped_template_that_renders(name: str) -> None:
    scenario = CATALOGUE[name]
    payload = SAMPLE_PAYLOADS.get(name) or order_update(name)["payload"]
    for step in scenario.steps:
        email = Renderer_().render(record(step.template, payload))
        assert email.subject.strip() and email.html.strip() and email.text.strip()
        sms = Renderer_().render_sms(record(step.template, payload))
        assert sms and "\n" not in sms and len(sms) <= 320
    if name == "search_abandonment":
        assert "trail &lt;shoes&gt;" in email.html and "trail <shoes>" in email.text


def test_the_shipped_last_call_shows_the_cart_as_the_first_reminder_does() -> None:
    command = {**cart((SHOE, 1), (SOCKS, 2)), "template": "cart_last_call", "step": 2}
    email = Renderer_().render(command)
    assert email.subject == "Last call: your cart is still waiting"
    for part in (email.html, email.text):
        assert "Trail shoe" in part and "Wool socks" in part and "Quantity: 2" in part
        assert "https://shop.example/p/sku-1" in part
    assert Renderer_().render_sms({**command, "channel": "sms"}) == (
        "Last call, your cart is still waiting: Trail shoe, Wool socks. "
        "https://shop.example/p/sku-1?utm_source=relance&utm_medium=sms"
        "&utm_campaign=cart_abandonment&utm_content=step-2"
    )


def test_sms_text_is_one_short_line() -> None:
    sms = Renderer_().render_sms({**cart((SHOE, 1), (SOCKS, 2)), "channel": "sms"})
    assert sms == (
        "Your cart is waiting: Trail shoe, Wool socks. "
        "https://shop.example/p/sku-1?utm_source=relance&utm_medium=sms"
        "&utm_campaign=cart_abandonment&utm_content=step-1"
    )


def test_an_order_notification_with_a_cross_sell_block() -> None:
    command = order_update("order_confirmation")
    command["payload"] = {**command["payload"], "products": [{"product": SOCKS, "views": 0}]}
    email = Renderer_().render(command)
    for part in (email.html, email.text):
        assert "You may also like" in part and "Wool socks" in part
    assert "You may also like" not in Renderer_().render(order_update("order_confirmation")).text


def test_a_digest_lists_the_messages_it_combines() -> None:
    command = record(
        "digest",
        {
            "period": "2024-05-01",
            "items": [
                {
                    "scenario": "back_in_stock",
                    "template": "back_in_stock",
                    "decided_at": 0,
                    "payload": {"product": SHOE},
                },
                {
                    "scenario": "shipping_update",
                    "template": "shipping_update",
                    "decided_at": 0,
                    "payload": {"order": {"order_id": "o-1"}},
                },
            ],
        },
    )
    email = Renderer_().render(command)
    assert email.subject == "2 updates for you"
    for part in (email.html, email.text):
        assert "Back in stock" in part and "Trail shoe" in part and "Order on its way" in part
    assert Renderer_().render_sms(command) == "2 updates: Back in stock; Order on its way"


def test_a_send_re_checks_the_catalog_and_withdraws_what_sold_out() -> None:
    from relance.core.catalog import Catalog
    from relance.core.events import CatalogUpdate, Product
    from relance.sender.recheck import recheck

    catalog = Catalog()
    catalog.update(CatalogUpdate("u1", 1, Product("sku-2", name="Wool socks", in_stock=False)))
    catalog.update(
        CatalogUpdate("u2", 1, Product("sku-1", name="Trail shoe v2", price=79.0, in_stock=True))
    )
    checked = recheck(cart((SHOE, 1), (SOCKS, 2)), catalog)
    assert checked is not None
    assert [(i["product"]["name"], i["quantity"]) for i in checked["payload"]["items"]] == [
        ("Trail shoe v2", 1)
    ]
    assert recheck(cart((SOCKS, 1)), catalog) is None
    assert recheck(record("back_in_stock", {"product": SOCKS}), catalog) is None
    order = order_update("order_confirmation")
    assert recheck(order, catalog) == order  # what was bought is never touched
