"""Plain Avro bodies of the event schemas, read without fastavro: ``avro.decode``'s fast path.

fastavro walks the schema for every record it reads, about a microsecond a field on the
reference machine (a page view of 180 bytes: 18.7 µs, 2026-12-02). ``reader`` writes one
Python function per record schema instead, once, whose lines read its fields in order, the
one-byte lengths and union indexes of nearly every field without a call.

It reads the types the event schemas use and gives up (``UnreadError``) on anything else: a body
cut short or with bytes left over, a union or enum index out of range or not in its shortest
form, text that is not UTF-8, a boolean byte other than 0 or 1, a number or date beyond what
fastavro reads. ``avro.decode`` then reads that body with fastavro as before, so this
changes how long a body takes to read, never what it reads as
(``tests/unit/test_avro_fast_path.py`` compares both on bodies cut, altered and extended at
every byte). Timestamps come out as the epoch milliseconds written, where fastavro gives a
``datetime`` that the checking path turns back into the same milliseconds.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

Read = Callable[[bytes, int], tuple[Any, int]]


class UnreadError(Exception):
    """The fast path does not read this body (or schema); fastavro does."""


_DOUBLE = struct.Struct("<d").unpack_from
_EPOCH_DAY = date(1970, 1, 1).toordinal()
# datetime's range in epoch ms: fastavro refuses a timestamp-millis beyond it.
_FIRST_MS, _LAST_MS = -62_135_596_800_000, 253_402_300_799_999
_INT_LIMIT = 1 << 31


def _long(buf: bytes, pos: int) -> tuple[int, int]:
    byte = buf[pos]
    n = byte & 0x7F
    shift = 7
    while byte >= 0x80:
        pos += 1
        byte = buf[pos]
        n |= (byte & 0x7F) << shift
        shift += 7
        if shift > 70:
            raise UnreadError
    if n >> 64:  # beyond the 64 bits fastavro reads into
        raise UnreadError
    return (n >> 1) ^ -(n & 1), pos + 1


def _int(buf: bytes, pos: int) -> tuple[int, int]:
    value, pos = _long(buf, pos)
    if not -_INT_LIMIT <= value < _INT_LIMIT:
        raise UnreadError
    return value, pos


def _timestamp_millis(buf: bytes, pos: int) -> tuple[int, int]:
    value, pos = _long(buf, pos)
    if not _FIRST_MS <= value <= _LAST_MS:
        raise UnreadError
    return value, pos


def _date(buf: bytes, pos: int) -> tuple[date, int]:
    days, pos = _int(buf, pos)
    try:
        return date.fromordinal(days + _EPOCH_DAY), pos
    except ValueError:
        raise UnreadError from None


_LOGICAL: dict[tuple[str, str], Read] = {
    ("long", "timestamp-millis"): _timestamp_millis,
    ("int", "date"): _date,
}


def _blocks(item: Read, keyed: bool) -> Read:
    """An array (a list of what ``item`` reads) or, ``keyed``, a map (``item`` reading a key
    and its value): blocks of items, each led by its count (negative: followed by the
    block's size in bytes), up to an empty block."""

    def blocks(buf: bytes, pos: int) -> tuple[Any, int]:
        items: list[Any] = []
        while True:
            count, pos = _long(buf, pos)
            if count == 0:
                return (dict(items) if keyed else items), pos
            if count < 0:
                count = -count
                _, pos = _long(buf, pos)
            if count > len(buf) - pos:  # each item of ours takes a byte or more
                raise UnreadError
            for _ in range(count):
                value, pos = item(buf, pos)
                items.append(value)

    return blocks


def reader(schema: Mapping[str, Any]) -> Callable[[bytes, int], Any]:
    """A function reading a body of the parsed record ``schema`` from a position to its
    last byte, raising ``UnreadError`` for one it leaves to fastavro; ``UnreadError`` at once if
    ``schema`` uses a type it does not read."""
    read = _Writer(dict(schema.get("__named_schemas", {}))).record(schema)

    def whole(buf: bytes, start: int) -> Any:
        try:
            value, end = read(buf, start)
        except (IndexError, UnicodeDecodeError, struct.error):
            raise UnreadError from None
        if end != len(buf):
            raise UnreadError
        return value

    return whole


class _Writer:
    """Writes the source of each record's function, and compiles it."""

    def __init__(self, named: dict[str, Any]) -> None:
        self.named = named
        self.scope: dict[str, Any] = {
            "UnreadError": UnreadError,
            "_DOUBLE": _DOUBLE,
            "_long": _long,
        }

    def record(self, schema: Mapping[str, Any]) -> Read:
        self.named[schema["name"]] = schema
        lines, names = [], []
        for n, field in enumerate(schema["fields"]):
            lines += self.value(field["type"], f"f{n}", "    ")
            names.append(f"{field['name']!r}: f{n}")
        return self._compile(lines, "{" + ", ".join(names) + "}")

    def _compile(self, lines: list[str], result: str) -> Read:
        """A function running ``lines`` from ``pos`` and returning ``result`` with the
        position after it."""
        source = ["def read(buf, pos):", "    size_of = len(buf)", *lines]
        source.append(f"    return {result}, pos")
        scope = dict(self.scope)
        exec("\n".join(source), scope)  # our own schemas' text, once
        found: Read = scope["read"]
        return found

    def value(self, schema: Any, target: str, pad: str) -> list[str]:
        """Lines that read one value of ``schema`` at ``pos`` into ``target``."""
        if isinstance(schema, list):
            return self._union(schema, target, pad)
        if isinstance(schema, str) and schema in self.named:
            schema = self.named[schema]
        if isinstance(schema, str):
            kind, logical = schema, None
        elif isinstance(schema["type"], (dict, list)):  # {"type": {...}}: the inner one
            return self.value(schema["type"], target, pad)
        else:
            kind, logical = schema["type"], schema.get("logicalType")
        if logical is not None:
            return self._call(_LOGICAL.get((kind, logical)), target, pad)
        if kind in _INLINE:
            return [pad + line.format(t=target) for line in _INLINE[kind]]
        if kind == "int":
            return self._call(_int, target, pad)
        if kind == "long":
            return [f"{pad}{target}, pos = _long(buf, pos)"]
        if kind == "record":
            return self._call(self.record(schema), target, pad)
        if kind == "enum":
            symbols = tuple(schema["symbols"])
            return [pad + line.format(t=target, n=len(symbols)) for line in _ENUM] + [
                f"{pad}{target} = {symbols!r}[index >> 1]"
            ]
        if kind == "array":
            item = self._compile(self.value(schema["items"], "v", "    "), "v")
            return self._call(_blocks(item, keyed=False), target, pad)
        if kind == "map":
            lines = self.value("string", "k", "    ") + self.value(schema["values"], "v", "    ")
            return self._call(_blocks(self._compile(lines, "(k, v)"), keyed=True), target, pad)
        raise UnreadError

    def _call(self, read: Read | None, target: str, pad: str) -> list[str]:
        if read is None:
            raise UnreadError
        name = f"_r{len(self.scope)}"
        self.scope[name] = read
        return [f"{pad}{target}, pos = {name}(buf, pos)"]

    def _union(self, branches: list[Any], target: str, pad: str) -> list[str]:
        # Index n is the byte 2n, for the few branches a union has: a longer form goes to
        # fastavro.
        if len(branches) > 63:
            raise UnreadError
        lines = [f"{pad}index = buf[pos]", f"{pad}pos += 1"]
        for n, branch in enumerate(branches):
            lines.append(f"{pad}{'if' if n == 0 else 'elif'} index == {2 * n}:")
            lines += self.value(branch, target, pad + "    ")
        lines += [f"{pad}else:", f"{pad}    raise UnreadError"]
        return lines


# A string (its length nearly always one byte), a double, a boolean, a null; ``{t}`` the
# target.
_INLINE: dict[str, tuple[str, ...]] = {
    "string": (
        "size = buf[pos]",
        "if size < 0x80:",
        "    pos += 1",
        "    if size & 1:",
        "        raise UnreadError",
        "    size >>= 1",
        "else:",
        "    size, pos = _long(buf, pos)",
        "    if size < 0:",
        "        raise UnreadError",
        "end = pos + size",
        "if end > size_of:",
        "    raise UnreadError",
        "{t} = buf[pos:end].decode()",
        "pos = end",
    ),
    "double": (
        "{t} = _DOUBLE(buf, pos)[0]",
        "pos += 8",
    ),
    "boolean": (
        "{t} = buf[pos]",
        "pos += 1",
        "if {t} > 1:",
        "    raise UnreadError",
        "{t} = {t} == 1",
    ),
    "null": ("{t} = None",),
}
# An enum's index in its one-byte form (``index >> 1``), checked against its ``{n}`` symbols.
_ENUM = (
    "index = buf[pos]",
    "pos += 1",
    "if index & 1 or index >= 2 * {n}:",
    "    raise UnreadError",
)
