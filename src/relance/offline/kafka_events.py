"""The input topics as an events file: ``relance simulate --from-kafka``.

Every partition of every input topic (the settings' names, each read in its format, as the
worker reads it) is read for a time range (``timerange``); the events are decoded, written
as JSON lines and sorted by event time, then replayed as a file is. The sort is stable on
(occurred_at, topic, partition, offset), so the same topics give the same file. The catalog
is read from its start, since the products known at ``since`` are part of the state then.

A record that does not decode is reported with its topic, partition and offset and left
out, as the worker dead-letters it. The range is held in memory while it is sorted: about
the size of its events as JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import IO

from confluent_kafka import Message

from relance.codec import catalog as catalog_codec
from relance.codec.json import encode
from relance.core.events import EventType
from relance.core.scenarios import Config
from relance.errors import InvalidEventError, RelanceError
from relance.offline.timerange import TimeRange, offline_reader, read_range
from relance.settings import Settings

Line = tuple[int, int, int, int, bytes]  # occurred_at, topic rank, partition, offset, line


@dataclass
class Exported:
    """What an export read: the lines' origins in file order, and what it left out."""

    origins: list[str] = field(default_factory=list)  # topic[partition]@offset, per line
    invalid: list[tuple[str, InvalidEventError]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # topics not found

    def origin(self, line: int) -> str:
        """Where line ``line`` (from 1) of the file came from."""
        return self.origins[line - 1] if 0 < line <= len(self.origins) else f"line {line}"


class InvalidRecordError(RelanceError):
    """Under ``--strict``: the first record that does not decode, and where it is."""

    def __init__(self, where: str, error: InvalidEventError) -> None:
        super().__init__(f"{where}: {error}")
        self.where = where
        self.error = error


def export_inputs(
    settings: Settings, config: Config, span: TimeRange, out: IO[bytes], *, strict: bool = False
) -> Exported:
    """Write the events of the input topics within ``span`` to ``out``, in event time."""
    from relance.wiring import input_decoder  # the worker's own decoders, per topic format
    from relance.worker.build import inputs_of

    decode = input_decoder(settings, config.inputs)
    types: dict[str, EventType] = dict(inputs_of(settings).topics)
    topics = [*types, settings.topic_catalog]  # a catalog line sorts after events of its ms
    lines: list[Line] = []
    exported = Exported()

    def keep(message: Message[bytes, bytes], read: Callable[[bytes], tuple[int, bytes]]) -> None:
        topic, partition, offset = (
            message.topic() or "",
            message.partition() or 0,
            message.offset() or 0,
        )
        try:
            occurred_at, line = read(message.value() or b"")
        except InvalidEventError as error:
            exported.invalid.append((f"{topic}[{partition}]@{offset}", error))
            if strict:
                raise InvalidRecordError(f"{topic}[{partition}]@{offset}", error) from None
            return
        lines.append((occurred_at, topics.index(topic), partition, offset, line))

    def event(raw: bytes, topic: str) -> tuple[int, bytes]:
        decoded = decode(raw, types[topic])
        return decoded.occurred_at, encode(decoded)

    def product(raw: bytes) -> tuple[int, bytes]:
        update = catalog_codec.decode(raw, rules=config.inputs)
        return update.occurred_at, catalog_codec.encode_json(update)

    reader = offline_reader(settings, "simulate")
    try:
        exported.missing = read_range(
            reader,
            list(types),
            span,
            lambda message: keep(message, lambda raw: event(raw, message.topic() or "")),
        )
        if settings.topic_catalog:
            exported.missing += read_range(
                reader,
                [settings.topic_catalog],
                TimeRange(0, span.until),
                lambda message: keep(message, product),
            )
    finally:
        reader.close()
    lines.sort()
    for _, rank, partition, offset, line in lines:
        out.write(line + b"\n")
        exported.origins.append(f"{topics[rank]}[{partition}]@{offset}")
    return exported


def replay_config(config: Config) -> Config:
    """``config`` for replaying exported lines: each record's size was checked on the wire,
    in its own format; its JSON line may be larger (Avro is the denser), and must not be
    refused for that. Every other limit stays."""
    return replace(config, inputs=replace(config.inputs, max_event_bytes=1 << 62))
