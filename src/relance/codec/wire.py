"""Event formats on Kafka behind one small protocol: JSON, plain Avro, Confluent-framed Avro.

Every decoder raises ``InvalidEventError`` (a reason from its fixed set) and nothing else, so
the consumer can dead-letter any bad message. A topic's format is ``"json"``, ``"avro"``
(Confluent framing when a registry is configured, plain schemaless Avro otherwise) or
``"auto"``, which looks at each message's first byte:

- ``{`` is JSON. It cannot start a valid Avro record of ours: each begins with a string
  (``event_id``) whose length is a zigzag varint, and 0x7B is a negative length.
- 0x00 with a registry configured is Confluent framing (magic byte 0, a 4-byte big-endian
  schema id, the Avro body). As plain Avro it would be an empty ``event_id``, which no valid
  event has, so the two cannot be confused.
- anything else is plain Avro.

Avro is written with fastavro. It is read as JSON is: a fast path (``event_reader``, then
msgspec's typed conversion) for well-formed events, and fastavro with the checks of
``records`` for any body the fast path leaves, which explains what is wrong with it. Every
decoder keeps the size limits of the ``rules`` it is given (the scenario file's
``inputs``), which ``relance simulate`` keeps too.
"""

from __future__ import annotations

from typing import Literal, Protocol, get_args

from relance.codec import avro
from relance.codec import json as json_codec
from relance.core.events import (
    Event,
    EventType,
)
from relance.core.scenarios import InputRules
from relance.errors import InvalidEventError

Format = Literal["auto", "avro", "json"]  # of an input topic; settings.input_format
FORMATS: frozenset[str] = frozenset(get_args(Format))


class EventCodec(Protocol):
    """How one topic's events become bytes and back."""

    def decode(self, raw: bytes, event_type: EventType) -> Event:
        """The event in ``raw``, or ``InvalidEventError``; never another exception."""
        ...

    def encode(self, event: Event) -> bytes: ...


class JsonEventCodec:
    """One JSON object per message, with or without a ``type`` field."""

    def __init__(self, *, rules: InputRules) -> None:
        self.rules = rules

    def decode(self, raw: bytes, event_type: EventType) -> Event:
        try:
            return json_codec.decode(raw, event_type, rules=self.rules)
        except InvalidEventError:
            raise
        except Exception as exc:  # e.g. bytes that are not UTF-8 on the checking path
            raise InvalidEventError("not_json", f"not valid JSON: {exc}") from None

    def encode(self, event: Event) -> bytes:
        return json_codec.encode(event)


def read_avro_event(raw: bytes, start: int, event_type: EventType, rules: InputRules) -> Event:
    """The event in the Avro body ``raw[start:]``, written with our own schema."""
    return avro.decode(raw, event_type, start, rules=rules)


class AvroEventCodec:
    """Plain schemaless Avro, written and read with the schemas in ``schemas/``."""

    def __init__(self, *, rules: InputRules) -> None:
        self.rules = rules

    def decode(self, raw: bytes, event_type: EventType) -> Event:
        return read_avro_event(raw, 0, event_type, self.rules)

    def encode(self, event: Event) -> bytes:
        return avro.encode(event)


class AutoEventCodec:
    """Chooses JSON, Confluent framing or plain Avro per message (see the module docstring).

    Encodes with ``writer`` (Avro, framed when a registry codec is given, by default).
    """

    def __init__(
        self,
        registry: EventCodec | None = None,
        writer: EventCodec | None = None,
        *,
        rules: InputRules,
    ) -> None:
        self.json = JsonEventCodec(rules=rules)
        self.avro = AvroEventCodec(rules=rules)
        self.registry = registry
        self.writer = writer or registry or self.avro

    def decode(self, raw: bytes, event_type: EventType) -> Event:
        first = raw[:1]
        if first == b"{":
            return self.json.decode(raw, event_type)
        if first == b"\x00":
            if self.registry is None:
                raise InvalidEventError(
                    "not_avro",
                    "starts with 0x00 like Confluent framing, but no schema registry is configured",
                )
            return self.registry.decode(raw, event_type)
        return self.avro.decode(raw, event_type)

    def encode(self, event: Event) -> bytes:
        return self.writer.encode(event)


def event_codec(fmt: str, registry: EventCodec | None = None, *, rules: InputRules) -> EventCodec:
    """The codec for a topic's format setting; ``registry`` is that topic's registry codec
    (made with the same ``rules``)."""
    if fmt == "json":
        return JsonEventCodec(rules=rules)
    if fmt == "avro":
        return registry or AvroEventCodec(rules=rules)
    if fmt == "auto":
        return AutoEventCodec(registry, rules=rules)
    raise ValueError(f"format must be one of {', '.join(sorted(FORMATS))}, not {fmt!r}")
