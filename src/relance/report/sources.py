"""Where a report's records come from: files (JSON lines, ``-`` for stdin, ``.gz``), or the
decisions, results and engagement topics for a time range.

From Kafka, the trials are the decisions stamped within ``[since, until)``; what followed
them (attributed orders, delivery results, clicks) is read from ``since`` to the end of its
topic, so that a message sent just before ``until`` has its conversions counted too. A record
that cannot be used is reported (file and line, or topic, partition and offset) and skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from confluent_kafka import Message

from relance.codec import json as json_codec
from relance.codec.json import envelope
from relance.core.events import Engagement
from relance.core.scenarios import InputRules
from relance.errors import BrokerError, InvalidEventError
from relance.offline.eventfile import open_events
from relance.offline.timerange import TimeRange, offline_reader, read_range
from relance.report.observations import BadRecordError, Observations
from relance.settings import Settings

Tell = Callable[[str, str], None]  # where, what is wrong
Use = Callable[[bytes], None]  # raises BadRecordError or InvalidEventError for a bad record
_RULES = InputRules()


def decisions_file(path: str, seen: Observations, tell: Tell) -> None:
    _lines(path, lambda raw: seen.decision(_object(raw)), tell)


def results_file(path: str, seen: Observations, tell: Tell) -> None:
    seen.results_read = True
    _lines(path, lambda raw: seen.result(_object(raw)), tell)


def engagement_file(path: str, seen: Observations, tell: Tell) -> None:
    """Clicks among the engagement events of an events file; other lines are not read."""
    seen.clicks_read = True

    def use(raw: bytes) -> None:
        found = envelope(raw)
        if found is not None and found.type == "engagement":
            _click(json_codec.decode(raw, "engagement", rules=_RULES), seen)

    _lines(path, use, tell)


def _lines(path: str, use: Use, tell: Tell) -> None:
    with open_events(path) as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                _use(use, line, f"{path}:{number}", tell)


def _use(use: Use, raw: bytes, where: str, tell: Tell) -> None:
    try:
        use(raw)
    except (BadRecordError, InvalidEventError) as error:
        tell(where, str(error))


def _object(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRecordError(f"not valid JSON: {exc}") from None


def _click(event: object, seen: Observations) -> None:
    if isinstance(event, Engagement) and event.kind == "click":
        seen.click(event.command_id)


def from_kafka(
    settings: Settings,
    span: TimeRange,
    seen: Observations,
    tell: Tell,
    *,
    results: bool = True,
    engagement: bool = True,
) -> None:
    """The decisions topic (JSON), and unless told not to the results topic (in the output
    format) and the engagement topic (in the input format)."""
    if not settings.topic_decisions:
        raise BrokerError("RELANCE_TOPIC_DECISIONS is empty: there is no decisions topic")
    after = TimeRange(span.since, None)
    reader = offline_reader(settings, "report")
    try:

        def decision(message: Message[bytes, bytes]) -> None:
            trial = span.holds(message.timestamp()[1])
            _use(
                lambda raw: seen.decision(_object(raw), trial=trial),
                message.value() or b"",
                _where(message),
                tell,
            )

        _read(reader, settings.topic_decisions, after, decision, tell, required=True)
        _what_followed(reader, settings, after, seen, tell, results=results, engagement=engagement)
    finally:
        reader.close()


def _what_followed(
    reader: Any,
    settings: Settings,
    after: TimeRange,
    seen: Observations,
    tell: Tell,
    *,
    results: bool,
    engagement: bool,
) -> None:
    """The results topic (delivered) and the engagement topic (clicked), from the range on."""
    from relance.wiring import input_decoder, output_codec  # the processes' own decoders

    if results and settings.topic_results:
        codec = output_codec(settings)
        seen.results_read = True
        _read(
            reader,
            settings.topic_results,
            after,
            lambda message: _use(
                lambda raw: seen.result(codec.decode_result(raw)),
                message.value() or b"",
                _where(message),
                tell,
            ),
            tell,
        )
    if engagement and settings.topic_engagement:
        decode = input_decoder(settings, _RULES)
        seen.clicks_read = True
        _read(
            reader,
            settings.topic_engagement,
            after,
            lambda message: _use(
                lambda raw: _click(decode(raw, "engagement"), seen),
                message.value() or b"",
                _where(message),
                tell,
            ),
            tell,
        )


def _read(
    reader: Any,
    topic: str,
    span: TimeRange,
    take: Callable[[Message[bytes, bytes]], None],
    tell: Tell,
    *,
    required: bool = False,
) -> None:
    if read_range(reader, [topic], span, take):
        if required:
            raise BrokerError(f"topic {topic} not found")
        tell(topic, "topic not found, not read")


def _where(message: Message[bytes, bytes]) -> str:
    return f"{message.topic()}[{message.partition()}]@{message.offset()}"
