"""Avro readers compiled once per schema into straight-line Python, for the hot decode path.

fastavro interprets the schema field by field (about 1 µs per optional field here), too slow
for a page view in a few µs. A reader generated from the schema reads the bytes by index,
inlines the common one-byte varint and builds the target objects directly.

Only what our schemas use is supported: records, ``["null", T]`` unions, enums, arrays,
string, boolean, int, long, double, and the logical types ``timestamp-millis`` (kept as epoch
ms, as the core counts time) and ``date`` (a ``datetime.date``). A reader is strict: the
record must end exactly at the last byte, so trailing or missing bytes are refused.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

Reader = Callable[[bytes, int], Any]
"""``read(data, start)``: the record that fills ``data[start:]``, or ``AvroReadError``."""

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class AvroReadError(ValueError):
    """The bytes are not one record of the reader's schema."""


def _length(data: bytes, pos: int) -> tuple[int, int]:
    """A length of 64 or more (a varint of several bytes); a negative one is refused."""
    value = 0
    shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
        if shift > 63:
            raise AvroReadError(f"varint longer than 10 bytes at byte {pos}")
    if value & 1:
        raise AvroReadError(f"negative length at byte {pos}")
    return value >> 1, pos


def _date(days: int) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + days)


def _fail(what: str) -> None:
    raise AvroReadError(what)


class _Compiler:
    """Emits the reader's source; ``constructors`` map record full names to callables."""

    def __init__(self, constructors: Mapping[str, Callable[..., Any]],
                 named: Mapping[str, Any]) -> None:
        self.constructors = constructors
        self.named = named
        self.lines: list[str] = []
        self.names: dict[str, Any] = {
            "_new": object.__new__, "_length": _length, "_date": _date, "_fail": _fail,
            "_double": struct.Struct("<d").unpack_from}
        self.count = 0

    def var(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def long(self, depth: int, target: str) -> None:
        """A zigzag varint, inlined: a call and a tuple cost more than the loop."""
        self.emit(depth, "b = data[pos]")
        self.emit(depth, "pos += 1")
        self.emit(depth, "if b < 128:")
        self.emit(depth + 1, f"{target} = (b >> 1) ^ -(b & 1)")
        self.emit(depth, "else:")
        self.emit(depth + 1, "v = b & 127")
        self.emit(depth + 1, "shift = 7")
        self.emit(depth + 1, "while True:")
        self.emit(depth + 2, "b = data[pos]")
        self.emit(depth + 2, "pos += 1")
        self.emit(depth + 2, "v |= (b & 127) << shift")
        self.emit(depth + 2, "if b < 128:")
        self.emit(depth + 3, "break")
        self.emit(depth + 2, "shift += 7")
        self.emit(depth + 1, "if shift > 63:")
        self.emit(depth + 2, "_fail('varint longer than 10 bytes at byte ' + str(pos))")
        self.emit(depth + 1, f"{target} = (v >> 1) ^ -(v & 1)")

    def value(self, schema: Any, depth: int, target: str, where: str) -> None:
        if isinstance(schema, str) and schema in self.named:
            schema = self.named[schema]
        kind = schema if isinstance(schema, str) else None
        if isinstance(schema, dict):
            kind = schema["type"]
        if isinstance(schema, list):
            self.union(schema, depth, target, where)
        elif isinstance(schema, dict) and schema.get("logicalType") == "date":
            self.long(depth, target)
            self.emit(depth, f"{target} = _date({target})")
        elif kind in ("int", "long"):
            self.long(depth, target)
        elif kind == "string":
            # Lengths under 64 take one even byte; the rest (and negatives) go the long way.
            self.emit(depth, "n = data[pos]")
            self.emit(depth, "if n & 129:")
            self.emit(depth + 1, "n, pos = _length(data, pos)")
            self.emit(depth, "else:")
            self.emit(depth + 1, "n >>= 1")
            self.emit(depth + 1, "pos += 1")
            self.emit(depth, f"{target} = data[pos:pos + n].decode()")
            self.emit(depth, "pos += n")
        elif kind == "double":
            self.emit(depth, f"{target} = _double(data, pos)[0]")
            self.emit(depth, "pos += 8")
        elif kind == "boolean":
            self.emit(depth, "b = data[pos]")
            self.emit(depth, "pos += 1")
            self.emit(depth, "if b > 1:")
            self.emit(depth + 1, f"_fail('{where} is not a boolean at byte ' + str(pos - 1))")
            self.emit(depth, f"{target} = b == 1")
        elif kind == "enum":
            symbols = self.var("symbols")
            self.names[symbols] = tuple(schema["symbols"])
            self.long(depth, "i")
            self.emit(depth, f"if not 0 <= i < {len(schema['symbols'])}:")
            self.emit(depth + 1, f"_fail('{where}: no symbol ' + str(i))")
            self.emit(depth, f"{target} = {symbols}[i]")
        elif kind == "record":
            self.record(schema, depth, target, where)
        elif kind == "array":
            self.array(schema, depth, target, where)
        else:
            raise NotImplementedError(f"{where}: Avro type {kind!r} is not compiled")

    def union(self, branches: list[Any], depth: int, target: str, where: str) -> None:
        if len(branches) != 2 or "null" not in branches:
            raise NotImplementedError(f"{where}: only [null, T] unions are compiled")
        null_index = branches.index("null")
        other = branches[1 - null_index]
        # A union index is a zigzag long: branch 0 is the byte 0, branch 1 the byte 2.
        self.emit(depth, "b = data[pos]")
        self.emit(depth, "pos += 1")
        self.emit(depth, f"if b == {2 * null_index}:")
        self.emit(depth + 1, f"{target} = None")
        self.emit(depth, f"elif b == {2 * (1 - null_index)}:")
        self.value(other, depth + 1, target, where)
        self.emit(depth, "else:")
        self.emit(depth + 1, f"_fail('{where}: no union branch ' + str(b))")

    def record(self, schema: Any, depth: int, target: str, where: str) -> None:
        fields = []
        for field in schema["fields"]:
            local = self.var(field["name"])
            fields.append((field["name"], local))
            self.value(field["type"], depth, local, f"{where}.{field['name']}".lstrip("."))
        args = ", ".join(f"{name}={local}" for name, local in fields)
        constructor = self.constructors.get(schema["name"])
        if constructor is None:
            self.emit(depth, f"{target} = dict({args})")
        elif _slotted(constructor, [name for name, _ in fields]):
            # A frozen slotted dataclass built through its slots: its __init__ goes through
            # object.__setattr__ per field, which costs more than reading the record.
            cls = self.var("cls")
            self.names[cls] = constructor
            self.emit(depth, f"{target} = _new({cls})")
            for name, local in fields:
                setter = self.var("set")
                self.names[setter] = getattr(constructor, name).__set__
                self.emit(depth, f"{setter}({target}, {local})")
        else:
            ctor = self.var("ctor")
            self.names[ctor] = constructor
            self.emit(depth, f"{target} = {ctor}({args})")

    def array(self, schema: Any, depth: int, target: str, where: str) -> None:
        items, count, item = self.var("items"), self.var("count"), self.var("item")
        self.emit(depth, f"{items} = []")
        self.emit(depth, "while True:")
        self.long(depth + 1, count)
        self.emit(depth + 1, f"if {count} == 0:")
        self.emit(depth + 2, "break")
        self.emit(depth + 1, f"if {count} < 0:")  # a block that also gives its size in bytes
        self.emit(depth + 2, f"{count} = -{count}")
        self.long(depth + 2, "_")
        # Every item of our arrays takes at least one byte: a longer count is garbage.
        self.emit(depth + 1, f"if {count} > len(data) - pos:")
        self.emit(depth + 2, f"_fail('{where}: {{}} items cannot fit'.format({count}))")
        self.emit(depth + 1, f"for _ in range({count}):")
        self.value(schema["items"], depth + 2, item, f"{where}[]")
        self.emit(depth + 2, f"{items}.append({item})")
        self.emit(depth, f"{target} = tuple({items})")


def _slotted(constructor: Callable[..., Any], names: list[str]) -> bool:
    """A dataclass whose slots are exactly the record's fields and that checks nothing."""
    return (isinstance(constructor, type) and dataclasses.is_dataclass(constructor)
            and not hasattr(constructor, "__post_init__")
            and list(getattr(constructor, "__slots__", ())) == names
            and [f.name for f in dataclasses.fields(constructor)] == names)


def compile_reader(schema: Mapping[str, Any],
                   constructors: Mapping[str, Callable[..., Any]] | None = None) -> Reader:
    """A reader for a record ``schema`` parsed by fastavro; records without a constructor are
    dicts. Named references resolve through the parsed schema's ``__named_schemas``.

    ``constructors`` are keyed by the record's full name (``relance.Product``) and called
    with one keyword argument per field.
    """
    compiler = _Compiler(constructors or {}, schema.get("__named_schemas", {}))
    compiler.emit(0, "def read(data, pos):")
    compiler.value(schema, 1, "record", "")
    compiler.emit(1, "if pos != len(data):")
    compiler.emit(2, "_fail(('truncated: ' if pos > len(data) else 'bytes left over: ')"
                     " + str(len(data) - pos))")
    compiler.emit(1, "return record")
    namespace = dict(compiler.names)
    # The source is generated from our own schemas, never from message data.
    exec("\n".join(compiler.lines), namespace)
    reader: Reader = namespace["read"]
    return reader
