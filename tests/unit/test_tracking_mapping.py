"""Mapping files: what they map, and every problem in one reported with its line, from the
scenario file's ``inputs.sources`` to ``relance check-config``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from relance.errors import ConfigError
from relance.scenario_file import load_config_file
from relance.tracking.mapping import Mapping
from relance.tracking.mapping_file import read_mapping

from .tracking import product, records, refusal, skipped

DATA = Path(__file__).resolve().parents[1] / "data" / "tracking"


def legacy() -> Mapping:
    found, problems = read_mapping(DATA / "legacy-mapping.yaml")
    assert problems == [] and found is not None
    return found


def test_fields_come_from_paths_and_constants_converted_by_what_they_fill() -> None:
    purchase = {
        "kind": "purchase",
        "id": 17,
        "ts": "1714561500",
        "customer": {"id": 4712},
        "ref": "A-100",
        "amount": "25.00",
        "basket": "b-1",
        "lines": [{"sku": 991, "title": "Pegs", "price": "12.50", "qty": "2"}],
    }
    assert records("mapping", purchase, mapping=legacy(), currency="EUR") == [
        {
            "type": "order",
            "event_id": "17",
            "contact_id": "4712",
            "occurred_at": 1714561500000,
            "order_id": "A-100",
            "status": "placed",
            "total": 25.0,
            "currency": "EUR",
            "cart_id": "b-1",
            "items": [{"product": product(id="991", name="Pegs", price=12.5), "quantity": 2}],
        }
    ]


def test_a_visitor_without_a_contact_is_anonymous_and_an_id_is_hashed_when_absent() -> None:
    view = {"kind": "product_view", "ts": 1714557620.5, "visitor": "v-93", "sku": "TENT-2"}
    (event,) = records("mapping", view, mapping=legacy())
    assert event["contact_id"] == "anon:v-93" and event["occurred_at"] == 1714557620500
    assert event["event_id"].startswith("mapping:")
    assert skipped("mapping", view, mapping=legacy()) == ["anonymous"]


def test_skip_and_unknown_events() -> None:
    assert skipped("mapping", {"kind": "heartbeat"}, mapping=legacy()) == ["not_used"]
    error = refusal("mapping", {"kind": "coupon"}, mapping=legacy())
    assert (error.reason, error.detail.split(":")[0]) == ("unknown_type", "mapped event 'coupon'")
    assert skipped("mapping", {"kind": "coupon"}, mapping=legacy(), unknown_events="skip") == [
        "unknown"
    ]


def test_a_value_it_cannot_use_is_refused_naming_the_event_and_the_source_path() -> None:
    error = refusal(
        "mapping",
        {"kind": "basket_add", "id": "x", "ts": 1, "customer": {"id": 1}, "sku": "s", "qty": "two"},
        mapping=legacy(),
    )
    assert (error.reason, error.detail) == (
        "bad_value",
        "mapped event 'basket_add': qty must be a whole number from 1 to 2147483647, not 'two'",
    )


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    found, problems = read_mapping(path)
    assert found is None
    return [str(p).replace(str(tmp_path) + "/", "") for p in problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("event: kind\n", ["m.yaml:1: events: is required"]),
        (
            "event: kind\nevents:\n  view: {type: view}\n",
            [
                "m.yaml:3: events.view.type: 'view' is not a type (page_view, cart, "
                "order, contact, "
                "engagement)"
            ],
        ),
        (
            "event: kind\nfields: {contact_id: c, occurred_at: t}\nevents:\n"
            "  view:\n    type: page_view\n    fields: {page_type: {value: produkt}}\n",
            [
                "m.yaml:6: events.view.fields.page_type: 'produkt' is not one of cart, category, "
                "checkout, home, other, product, search"
            ],
        ),
        (
            "event: kind\nevents:\n  add:\n    type: cart\n    fields: {quantity: q}\n",
            ["m.yaml:4: events.add: a cart event needs contact_id, occurred_at, action"],
        ),
        (
            "event: kind\nfields: {contact_id: c, occurred_at: {path: t, unit: h}}\nevents:\n"
            "  v: {type: page_view, fields: {page_type: {value: home}, colour: c}}\n",
            [
                "m.yaml:2: fields.occurred_at.unit: only occurred_at has a unit, one of s, ms, us",
                "m.yaml:4: events.v.fields.colour: is not a canonical field here (allowed: "
                "category_id, contact_id, event_id, occurred_at, page_type, product.category_id, "
                "product.currency, product.id, product.image_url, product.in_stock, product.name, "
                "product.price, product.url, search_query, url)",
            ],
        ),
        (
            "event: kind\nfields: {contact_id: c, occurred_at: t}\nevents:\n"
            "  buy:\n    type: order\n    fields: {order_id: r, status: {value: "
            "placed}, total: a}\n"
            "    items: {each: lines, fields: {quantity: q}}\n",
            [
                "m.yaml:7: events.buy.items: needs each (the path of the order's lines) and fields "
                "with product.id"
            ],
        ),
        (
            "event: [kind]\nevents: {}\nextra: 1\n",
            [
                "m.yaml:3: extra: unknown key (allowed: event, anonymous_id, fields, events)",
                "m.yaml:1: event: must be a path like customer.id, or {value: ...}",
            ],
        ),
    ],
)
def test_every_problem_of_a_mapping_file_has_its_line_and_key(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    assert problems_of(tmp_path, text) == expected


def scenario_problems(tmp_path: Path, sources: str) -> list[str]:
    path = tmp_path / "scenarios.yaml"
    path.write_text("scenarios:\n  cart_abandonment: {}\ninputs:\n  sources:\n" + sources)
    with pytest.raises(ConfigError) as caught:
        load_config_file(path)
    return [str(p).replace(str(tmp_path) + "/", "") for p in caught.value.problems]


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        (
            "    tracks: {format: segmnt}\n",
            [
                "scenarios.yaml:5: inputs.sources.tracks.format: must "
                "be one of canonical, segment, ga4, shopify, mapping, "
                "not 'segmnt'"
            ],
        ),
        (
            "    tracks: {format: segment, contact_id: email}\n",
            [
                "scenarios.yaml:5: inputs.sources.tracks.contact_id: unknown key for a "
                "segment source "
                "(allowed: format, currency, unknown_events)"
            ],
        ),
        (
            "    shop: {format: shopify, contact_id: phone, currency: euro}\n",
            [
                "scenarios.yaml:5: inputs.sources.shop.contact_id: must be one of "
                "customer_id, email, "
                "not 'phone'",
                "scenarios.yaml:5: inputs.sources.shop.currency: must be a currency code "
                "like EUR, not 'euro'",
            ],
        ),
        (
            "    own: {format: mapping}\n",
            [
                "scenarios.yaml:5: inputs.sources.own.mapping: a mapping "
                "source needs its mapping file (mapping: FILE, relative "
                "to this file)"
            ],
        ),
        (
            "    own: {format: mapping, mapping: gone.yaml}\n",
            ["gone.yaml: No such file or directory"],
        ),
        (
            "    'a topic': {format: ga4}\n",
            [
                "scenarios.yaml:5: inputs.sources.a topic: is not a "
                "topic name (letters, digits, . _ -)"
            ],
        ),
    ],
)
def test_a_bad_source_declaration_fails_with_its_file_and_line(
    tmp_path: Path, sources: str, expected: list[str]
) -> None:
    assert [
        p.replace(str(tmp_path) + "/", "") for p in scenario_problems(tmp_path, sources)
    ] == expected


def test_a_mapping_files_problems_are_the_scenario_files_problems(tmp_path: Path) -> None:
    (tmp_path / "own.yaml").write_text("event: kind\nevents:\n  x: {type: cart}\n")
    (tmp_path / "scenarios.yaml").write_text(
        "scenarios:\n  cart_abandonment: {}\ninputs:\n  sources:\n"
        "    own: {format: mapping, mapping: own.yaml}\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "relance",
            "check-config",
            str(tmp_path / "scenarios.yaml"),
            "--templates",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"relance: {tmp_path}/own.yaml:3: events.x: a cart event needs "
        "contact_id, occurred_at, action\n"
    )


def test_the_test_datas_sources_are_declared_as_documented() -> None:
    config = load_config_file(DATA / "scenarios.yaml")
    declared: dict[str, Any] = {s.name: (s.format, s.options) for s in config.inputs.sources}
    assert declared == {
        "tracks": ("segment", ()),
        "ga4-events": ("ga4", ()),
        "shopify-webhooks": ("shopify", ()),
        "legacy-events": ("mapping", (("currency", "EUR"),)),
    }
