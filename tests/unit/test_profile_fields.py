"""A profile's first name and attributes: read on every path within their limits, kept by the
state (whose stored bytes do not change without them), carried by the command to the
templates; and whether a command is marketing."""

from __future__ import annotations

import io
import json
from typing import Any

import fastavro
import msgspec
import pytest

from relance.codec import avro
from relance.codec import json as json_codec
from relance.codec.standalone import standalone
from relance.core.commands import SendCommand
from relance.core.engine import Engine
from relance.core.events import CartChange, ContactProfile, Product
from relance.core.scenarios import CATALOGUE, InputRules, digest_scenario
from relance.core.state import ContactState, Profile
from relance.errors import InvalidEventError
from relance.scenario_file import load_config
from relance.worker.store import Stored, decode_stored, encode_stored

RULES = InputRules()
MARIE = ContactProfile(
    "e1",
    "c1",
    1,
    email="marie@example.com",
    locale="fr-FR",
    marketing_opt_in=True,
    first_name="Marie",
    attributes={"tier": "gold", "ville": "Lyon"},
)


def paths(event: ContactProfile, rules: InputRules = RULES) -> dict[str, Any]:
    record = json.loads(json_codec.encode(event))
    iso = json.dumps({**record, "occurred_at": "1970-01-01T00:00:00.001Z"}).encode()
    return {
        "json fast path": lambda: json_codec.decode(json_codec.encode(event), rules=rules),
        "json checking path": lambda: json_codec.decode(iso, rules=rules),
        "avro": lambda: avro.decode(avro.encode(event), "contact", rules=rules),
    }


def refusal(decode: Any) -> InvalidEventError:
    with pytest.raises(InvalidEventError) as caught:
        decode()
    return caught.value


def test_first_name_and_attributes_are_read_on_every_path() -> None:
    for name, decode in paths(MARIE).items():
        assert decode() == MARIE, name


def test_too_many_attributes_are_refused_even_in_a_small_message() -> None:
    rules = InputRules(max_attributes=2)
    many = ContactProfile("e", "c", 1, attributes={"a": "", "b": "", "c": ""})
    small = (
        b'{"type":"contact","event_id":"e","contact_id":"c","occurred_at":1,'
        b'"attributes":{"a":"","b":"","c":""}}'
    )
    # No field can be over its limit in messages this small: only the count can be.
    assert max(len(small), len(avro.encode(many))) < rules.smallest_field_bytes
    decoders = {**paths(many, rules), "small json": lambda: json_codec.decode(small, rules=rules)}
    for name, decode in decoders.items():
        error = refusal(decode)
        assert (error.reason, error.detail) == (
            "too_large",
            "attributes has 3 entries, more than inputs.max_attributes (2)",
        ), name


def test_an_attribute_over_its_size_is_refused_naming_its_key_never_its_value() -> None:
    rules = InputRules(max_attribute_bytes=8)
    long_value = ContactProfile("e", "c", 1, attributes={"tier": "é" * 5})  # 10 bytes
    for name, decode in paths(long_value, rules).items():
        error = refusal(decode)
        assert error.reason == "too_large", name
        assert error.detail == (
            "attributes value 'tier' is 10 bytes, more than inputs.max_attribute_bytes (8)"
        ), name
    long_key = ContactProfile("e", "c", 1, attributes={"k" * 9: "v"})
    assert (
        "attributes key 'kkkkkkkkk...' is 9 bytes" in refusal(paths(long_key, rules)["avro"]).detail
    )


@pytest.mark.parametrize(
    ("attributes", "detail"),
    [
        (["tier"], "attributes must be an object, not a list"),
        ({"tier": 3}, "attributes.tier must be a string, not an integer"),
        ({"": "x"}, "attributes keys must be non-empty strings"),
    ],
)
def test_attributes_of_the_wrong_shape_are_refused(attributes: Any, detail: str) -> None:
    raw = json.dumps(
        {
            "type": "contact",
            "event_id": "e",
            "contact_id": "c",
            "occurred_at": 1,
            "attributes": attributes,
        }
    ).encode()
    assert refusal(lambda: json_codec.decode(raw, rules=RULES)).detail == detail


def test_a_profile_from_a_producer_on_the_schema_before_them_still_reads() -> None:
    schema = standalone("relance.ContactProfile")
    older = {
        **schema,
        "fields": [f for f in schema["fields"] if f["name"] not in ("first_name", "attributes")],
    }
    buffer = io.BytesIO()
    fastavro.schemaless_writer(
        buffer,
        fastavro.parse_schema(older),
        {"event_id": "e1", "contact_id": "c1", "occurred_at": 1, "locale": "fr-FR"},
    )
    assert avro.decode(buffer.getvalue(), "contact", rules=RULES) == ContactProfile(
        "e1", "c1", 1, locale="fr-FR"
    )


def test_the_file_sets_the_attribute_limits() -> None:
    config = load_config(
        "scenarios: {cart_abandonment: {}}\ninputs: {max_attributes: 5, max_attribute_bytes: 64}\n"
    )
    assert (config.inputs.max_attributes, config.inputs.max_attribute_bytes) == (5, 64)


def test_a_first_name_is_kept_and_attributes_given_replace_those_known() -> None:
    profile = Profile().updated(MARIE)
    assert profile.first_name == "Marie"
    assert profile.attributes == (("tier", "gold"), ("ville", "Lyon"))
    kept = profile.updated(ContactProfile("e2", "c1", 2, locale="fr-CA"))
    assert (kept.first_name, kept.attributes) == ("Marie", profile.attributes)
    replaced = kept.updated(ContactProfile("e3", "c1", 3, attributes={"tier": "silver"}))
    assert replaced.attributes == (("tier", "silver"),)
    assert replaced.updated(ContactProfile("e4", "c1", 4, attributes={})).attributes == ()


def test_a_state_with_them_is_stored_and_read_back_and_one_without_keeps_its_form() -> None:
    with_name = Stored(1, (3,), ContactState("c1", Profile().updated(MARIE), seen=b"x"))
    assert decode_stored(encode_stored(with_name)) == with_name
    plain = Stored(1, (3,), ContactState("c1", Profile(email="a@example.com")))
    raw = encode_stored(plain)
    # The profile is written as the 10 fields it had before first_name and attributes.
    assert len(msgspec.msgpack.decode(raw)[2][1]) == 10
    assert len(msgspec.msgpack.decode(encode_stored(with_name))[2][1]) == 12
    assert decode_stored(raw) == plain


def test_the_command_carries_the_first_name_and_attributes_to_the_templates() -> None:
    engine = Engine(load_config("scenarios:\n  cart_abandonment: {delay: 1h}\n"))
    engine.feed(MARIE)
    engine.feed(CartChange("e2", "c1", 10, "add", Product("p1", "Shoe", 10.0, "EUR")))
    (command,) = [c for c in engine.advance(10 + 3_600_000) if isinstance(c, SendCommand)]
    record = command.to_record()
    assert record["recipient"]["first_name"] == "Marie"
    assert record["recipient"]["attributes"] == {"tier": "gold", "ville": "Lyon"}
    assert record["marketing"] is True


def test_a_command_is_marketing_unless_its_scenario_is_transactional() -> None:
    assert CATALOGUE["cart_abandonment"].is_marketing
    assert not CATALOGUE["order_confirmation"].is_marketing
    both = digest_scenario("daily", [CATALOGUE["shipping_update"], CATALOGUE["back_in_stock"]])
    assert both.transactional and both.is_marketing
    orders = digest_scenario("daily", [CATALOGUE["shipping_update"]])
    assert not orders.is_marketing
