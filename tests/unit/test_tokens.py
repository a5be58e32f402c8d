"""Signed link tokens: genuine ones verify, altered, foreign, expired or malformed ones do not."""

from __future__ import annotations

import base64

import orjson
import pytest

from relance.tokens import Claims, Key, TokenError, parse_keys, sign, verify

NEW = Key("k2", b"a-much-newer-secret-key")
OLD = Key("k1", b"the-first-secret-key")
AGES = {"unsubscribe": 3600, "preferences": 3600, "click": 60}
CLAIMS = Claims("unsubscribe", "c-42", "email", "all", 1_000_000)


def test_a_signed_token_verifies_to_its_claims() -> None:
    token = sign(CLAIMS, NEW)
    assert verify(token, [NEW, OLD], now=1_000_010, max_age=AGES) == CLAIMS


def test_a_click_token_keeps_its_command_and_url() -> None:
    click = Claims("click", "c-42", "email", "all", 5, "cmd-1", "https://shop.example/p?x=1")
    assert verify(sign(click, NEW), [NEW], now=10, max_age=AGES) == click


def test_a_token_signed_with_a_rotated_out_key_still_verifies_while_it_is_listed() -> None:
    token = sign(CLAIMS, OLD)
    assert verify(token, [NEW, OLD], now=1_000_000, max_age=AGES) == CLAIMS
    with pytest.raises(TokenError) as refused:
        verify(token, [NEW], now=1_000_000, max_age=AGES)
    assert refused.value.reason == "unknown_key"


def test_an_altered_claim_is_refused() -> None:
    body, signature = sign(CLAIMS, NEW).split(".")
    record = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    record["c"] = "someone-else"
    forged = base64.urlsafe_b64encode(orjson.dumps(record)).rstrip(b"=").decode()
    with pytest.raises(TokenError) as refused:
        verify(f"{forged}.{signature}", [NEW], now=1_000_000, max_age=AGES)
    assert refused.value.reason == "bad_signature"


@pytest.mark.parametrize("now", [1_000_000 + 3601, 1_000_000 - 301])
def test_a_token_too_old_or_from_the_future_is_expired(now: int) -> None:
    with pytest.raises(TokenError) as refused:
        verify(sign(CLAIMS, NEW), [NEW], now=now, max_age=AGES)
    assert refused.value.reason == "expired"


@pytest.mark.parametrize("token", ["", "abc", "abc.", ".abc", "!!!.sig", "e30.sig"])
def test_a_malformed_token_is_refused(token: str) -> None:
    with pytest.raises(TokenError) as refused:
        verify(token, [NEW], now=0, max_age=AGES)
    assert refused.value.reason == "malformed"


def test_keys_parse_with_the_first_signing_and_bad_ones_are_named_without_the_secret() -> None:
    assert parse_keys("k2:a-much-newer-secret-key, k1:the-first-secret-key") == [NEW, OLD]
    for text, problem in [
        ("", "no key"),
        ("k1", "id:secret"),
        ("k1:short", "16 characters"),
        ("k1:0123456789abcdef,k1:0123456789abcdefg", "twice"),
    ]:
        with pytest.raises(ValueError, match=problem) as refused:
            parse_keys(text)
        assert "0123456789" not in str(refused.value)
