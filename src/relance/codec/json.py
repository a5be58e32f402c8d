"""JSON events: one object per line with a ``type`` field.

Well-formed events take a fast path (msgspec decodes and type-checks in C); anything it
refuses, or that breaks a rule types cannot express, is decoded again by the checking path
in ``records``, which accepts the same events and explains what is wrong with the others.
Both keep the size limits of ``inputs`` (``limits``): the message's length first, then the
fields, which the fast path measures only in messages longer than the smallest field limit.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from relance.codec.limits import SCREENS, measure, too_large_event
from relance.codec.records import FAST_TYPES, event_from_record, fits_rules
from relance.core.events import (
    Event,
    EventType,
    event_to_record,
)
from relance.core.scenarios import InputRules
from relance.core.timestamps import parse_iso
from relance.errors import InvalidEventError


class _Tag(msgspec.Struct):
    type: str | None = None


_TAG = msgspec.json.Decoder(_Tag)
_FAST: dict[Any, msgspec.json.Decoder[Any]] = {
    kind: msgspec.json.Decoder(event_class) for kind, event_class in FAST_TYPES.items()
}


class _Envelope(msgspec.Struct):
    contact_id: str | None = None
    occurred_at: int | str | None = None
    type: str | None = None


class Envelope(msgspec.Struct, frozen=True, gc=False):
    """What every line is read for first; a struct, as it is built for every line (a
    NamedTuple costs about four times as much to build)."""

    contact_id: str
    occurred_at: int
    type: str | None


_ENVELOPE = msgspec.json.Decoder(_Envelope)


def envelope(raw: bytes | str) -> Envelope | None:
    """The contact, time and type of a line, if readable, without validating the rest."""
    try:
        found = _ENVELOPE.decode(raw)
    except msgspec.MsgspecError:
        return None
    moment = found.occurred_at
    if not found.contact_id or moment is None:
        return None
    if isinstance(moment, str):
        try:
            moment = parse_iso(moment)
        except ValueError:
            return None
    return Envelope(found.contact_id, moment, found.type)


_UNREAD: Any = object()
_TYPED = {kind: b'"type":"' + kind.encode() + b'"' for kind in _FAST}


def _tag(raw: bytes | str, expected: EventType | None) -> str | None:
    """The record's ``type``, without a parse in the common cases.

    ``"type"`` can only occur in JSON as a whole string token (inside another string its
    quotes are escaped); followed by a colon it is a key. No occurrence means no ``type``,
    a single occurrence written ``"type":"<expected>"`` means that type; anything else is
    parsed.
    """
    if isinstance(raw, bytes):
        first = raw.find(b'"type"')
        if first < 0:
            return None
        pattern = _TYPED.get(expected) if expected is not None else None
        if (
            pattern is not None
            and raw.startswith(pattern, first)
            and raw.find(b'"type"', first + 6) < 0
        ):
            return expected
    return _TAG.decode(raw).type


def _fast(raw: bytes | str, event_type: EventType | None, tag: str | None) -> Event | None:
    """The event if msgspec reads it and it keeps the rules types cannot express (sizes
    apart: the caller checks those)."""
    try:
        if tag is _UNREAD:
            tag = _tag(raw, event_type)
        if event_type is not None and tag is not None and tag != event_type:
            return None
        decoder = _FAST.get(event_type or tag)
        event: Event | None = None if decoder is None else decoder.decode(raw)
    except msgspec.MsgspecError:
        return None
    return event if event is not None and fits_rules(event) else None


def decode(
    raw: bytes | str,
    event_type: EventType | None = None,
    *,
    rules: InputRules,
    tag: str | None = _UNREAD,
) -> Event:
    """Decode one JSON object into an event; ``event_type`` pins the type (per topic) and
    ``rules`` bound its sizes.

    ``tag`` is the record's ``type`` field when the caller has already read it (from its
    ``envelope``), which saves reading it again.
    """
    if type(raw) is str:  # measured as the bytes it would be on the wire
        raw = raw.encode("utf-8", "surrogatepass")
    size = len(raw)
    if size > rules.max_event_bytes:
        raise too_large_event(size, rules, lambda: orjson.loads(raw))
    event = _fast(raw, event_type, tag)
    if event is not None:
        # limits.check_fields, spelled out: this runs for most events.
        if size > rules.smallest_field_bytes and SCREENS[type(event)](
            event, rules.screen, size > rules.smallest_other_bytes
        ):
            measure(event, rules)
        return event
    try:
        record: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEventError("not_json", f"not valid JSON: {exc}") from None
    return event_from_record(record, event_type, rules=rules)


def encode(event: Event) -> bytes:
    return orjson.dumps(event_to_record(event))
