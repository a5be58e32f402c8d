"""A profile's email address (email-validator, syntax and length only) and phone number
(E.164) must be usable; one that is not is refused ``bad_value`` with the field named."""

from __future__ import annotations

import json
import random

import pytest
from email_validator import EmailNotValidError, validate_email

from relance.codec import avro
from relance.codec import json as json_codec
from relance.codec.addresses import _plain, email_problem, is_phone
from relance.core.events import ContactProfile
from relance.core.scenarios import InputRules
from relance.errors import InvalidEventError

RULES = InputRules()


@pytest.mark.parametrize(
    "email",
    [
        "ann@example.com",
        "ann.martin+shop@mail.example.co.uk",
        "o'neil@example.ie",
        "A@EXAMPLE.COM",
        "x@y.z",
        "é@exämple.de",
        "user@xn--exmple-cua.de",
        "a" * 64 + "@x.com",
    ],
)
def test_usable_email_addresses_are_accepted(email: str) -> None:
    assert email_problem(email) is None
    profile = ContactProfile("p1", "c1", 1, email=email)
    assert json_codec.decode(json_codec.encode(profile), rules=RULES) == profile


@pytest.mark.parametrize(
    ("email", "why"),
    [
        ("not-an-email", "must have an @-sign"),
        ("a..b@example.com", "two periods"),
        ("ann@localhost", "should have a period"),
        ("ann@shop.local", "special-use"),
        ("ann@example", "should have a period"),
        ('"ann"@example.com', "Quoting"),
        ("Ann <ann@example.com>", "display name"),
        ("ann@exa mple.com", "invalid characters"),
        ("ann@" + "a" * 64 + ".com", "periods cannot be separated"),
        ("a" * 245 + "@example.com", "too long"),
        ("", "must have an @-sign"),
    ],
)
def test_unusable_email_addresses_are_refused_naming_the_field(email: str, why: str) -> None:
    assert why in (email_problem(email) or "")
    profile = ContactProfile("p1", "c1", 1, email=email)
    for decode in (
        lambda: json_codec.decode(json_codec.encode(profile), rules=RULES),
        lambda: avro.decode(avro.encode(profile), "contact", rules=RULES),
    ):
        with pytest.raises(InvalidEventError) as caught:
            decode()
        assert caught.value.reason == "bad_value"
        assert caught.value.detail.startswith("email is not an email address: ")
        assert why in caught.value.detail
        assert email not in caught.value.detail or not email  # personal data stays out


def generated(rng: random.Random) -> str:
    """Address-like text: mostly of the plain form, often just outside it."""
    atoms = ["a", "Z", "0", "-", "_", "+", "'", "~", "{", "é", " ", "@", ".", ".."]
    label_parts = ["a", "b9", "-", "--", "xn--", "x_y", "é", "1"]
    local = ".".join(
        "".join(
            rng.choice(atoms[:8] if rng.random() < 0.9 else atoms)
            for _ in range(rng.randrange(1, 5))
        )
        for _ in range(rng.randrange(1, 3))
    )
    labels = [
        "".join(
            rng.choice(label_parts[:2] if rng.random() < 0.8 else label_parts)
            for _ in range(rng.randrange(1, 4))
        )
        for _ in range(rng.randrange(1, 3))
    ]
    tld = rng.choice(["com", "io", "de", "local", "TEST", "test", "onion", "c0m", "x", "arpa"])
    if rng.random() < 0.05:
        local = "a" * rng.choice([63, 64, 65])
    if rng.random() < 0.05:
        labels[0] = "b" * rng.choice([62, 63, 64])
    if rng.random() < 0.03:
        labels = labels * 40  # past the lengths of a domain and an address
    return f"{local}@{'.'.join([*labels, tld])}"


def test_the_quick_form_accepts_only_what_email_validator_accepts() -> None:
    rng = random.Random(11)
    quick = 0
    for _ in range(4000):
        text = generated(rng)
        if _plain(text):
            quick += 1
            try:
                validate_email(text, check_deliverability=False)
            except EmailNotValidError as exc:
                raise AssertionError(f"{text!r} passed the quick form: {exc}") from None
    assert quick > 200


@pytest.mark.parametrize(
    ("phone", "usable"),
    [
        ("+33612345678", True),
        ("+4915112345678", True),
        ("+1" + "2" * 14, True),
        ("+12", True),
        ("+1" + "2" * 15, False),
        ("+33 6 12 34 56 78", False),
        ("0612345678", False),
        ("+0612345678", False),
        ("+", False),
        ("+33-6-12", False),
        ("", False),
        ("+336123456\n", False),
    ],
)
def test_phone_numbers_must_be_e164(phone: str, usable: bool) -> None:
    assert is_phone(phone) is usable
    raw = json.dumps(
        {"type": "contact", "event_id": "p1", "contact_id": "c1", "occurred_at": 1, "phone": phone}
    ).encode()
    if usable:
        assert json_codec.decode(raw, rules=RULES).phone == phone  # type: ignore[union-attr]
    else:
        with pytest.raises(InvalidEventError) as caught:
            json_codec.decode(raw, rules=RULES)
        assert caught.value.reason == "bad_value"
        assert caught.value.detail.startswith("phone is not an E.164 number")
