"""Reading a source's values exactly: ids, money, quantities, times, flags, and the stable
id of an event that has none.

Each reader names the source's own path in its refusal (``properties.price must be a
number or a decimal string, not a list``), so a dead letter says what to fix at the source.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from typing import Any, Final

import orjson

from relance.codec.records import kind_of
from relance.core.events import MAX_QUANTITY
from relance.core.timestamps import parse_iso
from relance.errors import InvalidEventError

Record = Mapping[str, Any]
_DECIMAL: Final = re.compile(r"-?\d+(\.\d+)?")
_DIGITS: Final = re.compile(r"-?\d+")
_CURRENCY: Final = re.compile(r"[A-Za-z]{3}")
# True and False stand for 1 and 0 as well (equal, and hashed alike).
_TRUE: Final = frozenset({True, "true", "True", "TRUE", "1", "yes", "granted", "GRANTED"})
_FALSE: Final = frozenset({False, "false", "False", "FALSE", "0", "no", "denied", "DENIED"})


def path(record: Record, dotted: str) -> Any:
    """The value at ``a.b.c`` of nested objects, or None where one is missing."""
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def ident(value: Any, where: str) -> str | None:
    """An id: a string, or a whole number written as one (Shopify's and GA4's numeric ids)."""
    if value is None or value == "":
        return None
    if type(value) is str:
        return value
    if type(value) is int:
        return str(value)
    raise InvalidEventError(
        "bad_type", f"{where} must be a string or a whole number, not {kind_of(value)}"
    )


def money(value: Any, where: str) -> float | None:
    """A price or total: a number, or a decimal string like ``"19.99"`` (Shopify's), kept to
    the nearest double, whose shortest form is the decimal given."""
    if value is None:
        return None
    if type(value) is int:
        return float(value)
    if type(value) is float:
        if math.isfinite(value):
            return value
    elif type(value) is str:
        if _DECIMAL.fullmatch(value.strip()):
            return float(value)
    else:
        raise InvalidEventError(
            "bad_type", f"{where} must be a number or a decimal string, not {kind_of(value)}"
        )
    raise InvalidEventError("bad_value", f"{where} must be a decimal number, not {value!r}")


def quantity(value: Any, where: str, default: int = 1) -> int:
    """A quantity: a whole number (``2``, ``2.0`` or ``"2"``) from 1 to Avro's int."""
    if value is None:
        return default
    found: int | None = None
    if type(value) is int:
        found = value
    elif (type(value) is float and value.is_integer()) or (
        type(value) is str and _DIGITS.fullmatch(value.strip())
    ):
        found = int(value)
    if found is None or not 0 < found <= MAX_QUANTITY:
        raise InvalidEventError(
            "bad_value", f"{where} must be a whole number from 1 to {MAX_QUANTITY}, not {value!r}"
        )
    return found


def iso_ms(value: Any, where: str) -> int:
    """An ISO-8601 time with its offset, to epoch ms (finer digits are dropped)."""
    if type(value) is not str:
        raise InvalidEventError(
            "missing_field" if value is None else "bad_type",
            f"{where} is required (ISO-8601 with an offset)"
            if value is None
            else f"{where} must be an ISO-8601 string, not {kind_of(value)}",
        )
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise InvalidEventError("bad_value", f"{where}: {exc}") from None


def micros_ms(value: Any, where: str) -> int:
    """Epoch microseconds (a number, or digits: BigQuery writes INT64 as a string), to epoch
    ms, rounded down."""
    if type(value) is str and _DIGITS.fullmatch(value.strip()):
        value = int(value)
    if type(value) is not int:
        if value is None:
            raise InvalidEventError("missing_field", f"{where} is required (epoch microseconds)")
        raise InvalidEventError(
            "bad_type", f"{where} must be epoch microseconds, not {kind_of(value)}"
        )
    return value // 1000


def flag(value: Any, where: str) -> bool | None:
    """Consent as sources write it: true/false, "true"/"false", 1/0, "yes"/"no",
    GRANTED/DENIED."""
    if value is None:
        return None
    if isinstance(value, bool | int | str):
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    raise InvalidEventError("bad_value", f"{where} must be true or false, not {value!r}")


def currency(value: Any, where: str, default: str | None) -> str | None:
    """An ISO 4217 code, upper-cased (Segment's examples write ``usd``); ``default`` (the
    source's ``currency`` option) when the event gives none."""
    if value is None or value == "":
        return default
    if type(value) is str and _CURRENCY.fullmatch(value):
        return value.upper()
    raise InvalidEventError("bad_value", f"{where} must be a currency code like EUR, not {value!r}")


def stable_id(prefix: str, raw: Any) -> str:
    """The id of an event its source gave none: ``prefix:`` and 24 hex digits of the
    BLAKE2b hash of the event as sorted-key JSON, so that the same event sent again, its keys
    in another order or not, has the same id (and is applied once)."""
    canonical = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
    return f"{prefix}:{hashlib.blake2b(canonical, digest_size=12).hexdigest()}"


def text(value: Any, where: str) -> str | None:
    if value is None or type(value) is str:
        return value
    raise InvalidEventError("bad_type", f"{where} must be a string, not {kind_of(value)}")
