"""The identity stage of anonymous visitors (relance.tracking.identity): what it keeps, what a
link releases and when, its bounds, and the links each adapter reads; and a replay that
answers the browse abandonment a visitor earned before logging in, once."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest

from relance.core.events import PageView, Product
from relance.core.scenarios import InputRules
from relance.core.timestamps import HOUR_MS, MINUTE_MS, parse_iso
from relance.errors import ConfigError, InvalidEventError
from relance.offline.simulate import Summary, simulate
from relance.scenario_file import load_config_file
from relance.tracking.identity import (
    Identities,
    link_record,
    read_record,
    resolve,
    take_event,
    visitor_bytes,
    visitor_from,
)
from relance.tracking.mapping_file import read_mapping

from .tracking import read

RULES = InputRules(anonymous_window_ms=2 * HOUR_MS, anonymous_max_events=3)
DATA = Path(__file__).resolve().parents[1] / "data" / "tracking" / "anonymous"
T = 1_714_557_600_000


def view(event_id: str, at: int, sku: str = "sku-1") -> PageView:
    return PageView(event_id, "anon:v1", at, "product", Product(sku, "Shoe", 10.0, "EUR"))


def test_a_link_releases_the_visitor_s_events_to_the_contact_dated_at_the_link_once() -> None:
    table = Identities(RULES)
    # Read in another order than they happened, as a source's partitions are.
    assert table.event("v1", view("e2", T + MINUTE_MS, "sku-2")).outcome == "buffered"
    assert table.event("v1", view("e1", T, "sku-1")).events == ()
    released = table.link("v1", "ann", T + HOUR_MS)
    assert released.outcome == "released"
    assert [
        (e.event_id, e.contact_id, e.occurred_at, e.product and e.product.id)
        for e in released.events
    ] == [("e1", "ann", T + HOUR_MS, "sku-1"), ("e2", "ann", T + HOUR_MS, "sku-2")]
    again = table.link("v1", "ann", T + HOUR_MS + 1)  # the link read again, or a later call
    assert (again.events, again.outcome) == ((), "linked")
    later = table.event("v1", view("e3", T + 2 * HOUR_MS))  # still anonymous, now known
    assert (later.outcome, [(e.contact_id, e.occurred_at) for e in later.events]) == (
        "mapped",
        [("ann", T + 2 * HOUR_MS)],
    )


def test_an_event_older_than_the_link_read_after_it_counts_as_released() -> None:
    """From a source partition read later than the link's: dated at the link, as released;
    one older than the window before the link is dropped, as the link would drop it."""
    table = Identities(RULES)
    table.link("v1", "ann", T + HOUR_MS)
    late = table.event("v1", view("e1", T))
    assert (late.outcome, [(e.contact_id, e.occurred_at) for e in late.events]) == (
        "released",
        [("ann", T + HOUR_MS)],
    )
    assert table.event("v1", view("e0", T - 2 * HOUR_MS)).outcome == "dropped"
    table.link("v1", "ann", T + 2 * HOUR_MS)  # linked again: still since the first link
    assert table.event("v1", view("e2", T + MINUTE_MS)).events[0].occurred_at == T + HOUR_MS
    assert visitor_from(visitor_bytes(table.visitors["v1"]), RULES).linked_at == T + HOUR_MS


def test_only_the_window_before_the_link_and_the_latest_events_count() -> None:
    table = Identities(RULES)
    for n in range(5):
        table.event("v1", view(f"e{n}", T + n * MINUTE_MS))
    assert [e.event_id for e in table.visitors["v1"].events] == ["e2", "e3", "e4"]
    released = table.link("v1", "ann", T + 2 * HOUR_MS + 3 * MINUTE_MS)
    assert [e.event_id for e in released.events] == ["e3", "e4"]  # e2 is over two hours old


def test_a_visitor_a_window_old_is_new_again_and_expire_only_frees_memory() -> None:
    steps: list[tuple[str, Any]] = [
        ("event", view("e1", T)),
        ("link", ("ann", T + 1)),
        ("event", view("e2", T + 3 * HOUR_MS)),  # the link is a window old: buffered again
        ("event", view("e3", T + 3 * HOUR_MS + 1)),
    ]
    outcomes = []
    for expire in (False, True):
        table = Identities(RULES)
        found = []
        for kind, value in steps:
            taken = table.event("v1", value) if kind == "event" else table.link("v1", *value)
            found.append((taken.outcome, taken.events))
            if expire:
                table.expire()
        outcomes.append(found)
    assert outcomes[0] == outcomes[1]
    assert [o for o, _ in outcomes[0]] == ["buffered", "released", "buffered", "buffered"]
    table = Identities(RULES)
    table.event("v1", view("e1", T))
    table.event("v2", view("e2", T + 2 * HOUR_MS + 1))
    assert table.expire() == ["v1"] and list(table.visitors) == ["v2"]


def test_an_event_read_twice_is_kept_once() -> None:
    visitor = take_event(None, view("e1", T), RULES).visitor
    again = take_event(visitor, view("e1", T), RULES)
    assert again.visitor is visitor and again.events == ()


def test_a_visitor_and_a_record_survive_their_bytes_and_junk_is_refused() -> None:
    table = Identities(RULES)
    table.event("v1", view("e1", T))
    visitor = table.visitors["v1"]
    assert visitor_from(visitor_bytes(visitor), RULES) == visitor
    assert read_record(link_record("ann", T), RULES) == ("link", ("ann", T, ()))
    own = (msgspec.structs.replace(view("e9", T), contact_id="ann"),)
    assert read_record(link_record("ann", T, own), RULES) == ("link", ("ann", T, own))
    for junk in (b"{", b'{"kind": "link"}', b'{"kind": "other"}', b"[]"):
        with pytest.raises(InvalidEventError):
            read_record(junk, RULES)


def test_each_adapter_reads_who_an_anonymous_visitor_is() -> None:
    at = "2024-05-01T10:00:00Z"
    identify = {
        "type": "identify",
        "userId": "ann",
        "anonymousId": "a-1",
        "timestamp": at,
        "messageId": "m1",
    }
    assert read("segment", identify)[0].link == ("a-1", "ann", parse_iso(at))
    assert read("segment", {**identify, "traits": {"email": "ann@example.com"}})[0].link == (
        "a-1",
        "ann",
        parse_iso(at),
    )
    assert read(
        "segment", {"type": "alias", "previousId": "a-1", "userId": "ann", "timestamp": at}
    )[0].link == ("a-1", "ann", parse_iso(at))
    page = {"type": "page", "anonymousId": "a-1", "timestamp": at, "messageId": "m2"}
    (anonymous,) = read("segment", page)
    assert (anonymous.skipped, anonymous.link) == ("anonymous", None)
    assert read("segment", {**page, "userId": "ann"})[0].link == ("a-1", "ann", parse_iso(at))
    login = {
        "client_id": "c.1",
        "user_id": "ada",
        "timestamp_micros": 1_714_557_600_000_000,
        "events": [{"name": "login", "params": {}}],
    }
    assert read("ga4", login)[0].link == ("c.1", "ada", 1_714_557_600_000)
    checkout = {
        "token": "tok-1",
        "cart_token": "cart-1",
        "email": "bo@example.com",
        "currency": "USD",
        "updated_at": at,
        "customer": {"id": 7},
        "line_items": [{"product_id": 1, "title": "Nano", "price": "1.00", "quantity": 1}],
    }
    (mapped,) = read("shopify", checkout, [("X-Shopify-Topic", b"checkouts/update")])
    assert mapped.link == ("cart-1", "7", parse_iso(at))
    mapping, problems = read_mapping(DATA.parent / "legacy-mapping.yaml")
    assert not problems
    own = {"kind": "search", "id": "lg-9", "ts": 1714557600, "visitor": "v-93", "q": "tent"}
    assert read("mapping", own, mapping=mapping)[0].skipped == "anonymous"
    assert read("mapping", {**own, "customer": {"id": 4711}}, mapping=mapping)[0].link == (
        "v-93",
        "4711",
        1_714_557_600_000,
    )


def test_a_link_s_own_events_come_after_what_it_releases() -> None:
    """A Shopify checkout by an anonymous visitor, then the same cart's checkout once the
    customer is known: the known checkout's lines are the cart's, not the older ones."""

    def checkout(at: str, sku: int, **known: Any) -> list[Any]:
        body = {
            "token": "tok-1",
            "cart_token": "cart-1",
            "currency": "USD",
            "updated_at": at,
            "line_items": [{"product_id": sku, "title": "Nano", "price": "1.00", "quantity": 1}],
            **known,
        }
        return read("shopify", body, [("X-Shopify-Topic", b"checkouts/update")])

    table = Identities(RULES)
    assert resolve(checkout("2024-05-01T10:00:00Z", 1), table)[0] == []
    events, outcomes = resolve(checkout("2024-05-01T10:30:00Z", 2, customer={"id": 7}), table)
    assert outcomes == ["released"]
    assert [
        (e.contact_id, e.action, e.product and e.product.id)  # type: ignore[union-attr]
        for e in events
    ] == [("7", "clear", None), ("7", "update", "1"), ("7", "clear", None), ("7", "update", "2")]


def replay(config: Path, **changes: Any) -> tuple[list[dict[str, Any]], Summary]:
    loaded = load_config_file(str(config))
    source = loaded.inputs.sources[0]
    if changes:
        loaded = dataclasses.replace(loaded, inputs=dataclasses.replace(loaded.inputs, **changes))
    out = io.BytesIO()
    summary = simulate(
        str(DATA / "session.jsonl"),
        loaded,
        out,
        tracking=source,
        workers=4,
        until=parse_iso("2024-05-03T00:00:00Z"),
    )
    return [orjson.loads(line) for line in out.getvalue().splitlines()], summary


def test_a_replay_answers_the_browse_a_visitor_earned_before_logging_in_once() -> None:
    commands, summary = replay(DATA / "scenarios.yaml")
    (command,) = commands
    assert summary.visitors == {"buffered": 4, "released": 1, "linked": 1}
    assert summary.lines()[-1] == "anonymous visitors: buffered=4, linked=1, released=1"
    assert (command["contact_id"], command["scenario"]) == ("ann", "browse_abandonment")
    assert command["decided_at"] == "2024-05-01T12:00:00.000Z"  # an hour after the identify
    assert [p["product"]["id"] for p in command["payload"]["products"]] == [
        "sku-1",
        "sku-2",
        "sku-3",
    ]
    assert command["recipient"]["email"] == "ann@example.com"
    assert replay(DATA / "scenarios.yaml", anonymous_window_ms=0)[0] == []  # as in part A
    assert replay(DATA / "scenarios.yaml", anonymous_window_ms=30 * MINUTE_MS)[0] == []


def test_the_scenario_file_says_how_long_and_how_many(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "scenarios: {browse_abandonment: {}}\n"
        "inputs:\n  anonymous_window: 6h\n  anonymous_max_events: 20\n"
    )
    rules = load_config_file(str(path)).inputs
    assert (rules.anonymous_window_ms, rules.anonymous_max_events) == (6 * HOUR_MS, 20)
    path.write_text(
        "scenarios: {browse_abandonment: {}}\n"
        "inputs:\n  anonymous_window: soon\n  anonymous_max_events: 0\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config_file(str(path))
    assert "s.yaml:3" in str(caught.value) and "s.yaml:4" in str(caught.value)
    path.write_text("scenarios: {browse_abandonment: {}}\ninputs:\n  anonymous_max_events: 1001\n")
    with pytest.raises(ConfigError, match=r"s.yaml:3: .*from 1 to 1000, not 1001"):
        load_config_file(str(path))
