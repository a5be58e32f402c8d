"""Our schemas as standalone JSON: every named type defined inline where it is first used.

A schema registry and the reference ``avro`` package take one self-contained schema per
record; fastavro's parsed schemas refer to named types by name and carry private keys.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import fastavro.schema

from relance.codec.avro import schemas


@cache
def standalone(full_name: str) -> dict[str, Any]:
    """The record ``full_name`` (``relance.PageView``) as a self-contained schema."""
    parsed = schemas()[full_name]
    result: dict[str, Any] = _inline(parsed, parsed["__named_schemas"], set())
    return result


@cache
def canonical(full_name: str) -> str:
    """The Parsing Canonical Form: equal for two schemas that read the same bytes alike."""
    return str(fastavro.schema.to_parsing_canonical_form(standalone(full_name)))


def _inline(schema: Any, named: dict[str, Any], defined: set[str]) -> Any:
    if isinstance(schema, str):
        if schema in named and schema not in defined:
            return _inline(named[schema], named, defined)
        return schema
    if isinstance(schema, list):
        return [_inline(branch, named, defined) for branch in schema]
    if schema.get("type") in ("record", "enum", "fixed"):
        defined.add(schema["name"])
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("__"):
            continue
        if key == "fields":
            value = [{**field, "type": _inline(field["type"], named, defined)} for field in value]
        elif key in ("items", "values") or (key == "type" and not isinstance(value, str)):
            value = _inline(value, named, defined)
        out[key] = value
    return out
