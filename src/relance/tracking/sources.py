"""The source formats, their options, and the adapter that reads a declared source.

A format's options are checked where the scenario file declares them (``scenario_file``),
with the file and line of a bad one; ``adapter_for`` then builds the adapter both runners
use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import orjson

from relance.codec import json as json_codec
from relance.codec.limits import too_large_event
from relance.core.scenarios import InputRules, InputSource
from relance.errors import InvalidEventError
from relance.tracking.mapped import Mapped

Headers = Sequence[tuple[str, str | bytes | None]]  # a Kafka record's, as the client gives


class Adapter(Protocol):
    """Reads one message of a source: its events, each as ``Mapped``, or
    ``InvalidEventError`` (and never another exception) for the whole message."""

    def read(self, raw: bytes, headers: Headers | None = None) -> list[Mapped]: ...


def load(raw: bytes | str, rules: InputRules, source: str) -> dict[str, Any]:
    """The JSON object in ``raw``, within ``inputs.max_event_bytes``."""
    if type(raw) is str:
        raw = raw.encode("utf-8", "surrogatepass")
    if len(raw) > rules.max_event_bytes:
        raise too_large_event(len(raw), rules, lambda: orjson.loads(raw))
    try:
        found = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEventError("not_json", f"{source}: not valid JSON: {exc}") from None
    if not isinstance(found, dict):
        raise InvalidEventError("not_an_object", f"{source}: a message must be a JSON object")
    return found


class Canonical:
    """relance's own JSON events, of any type, on one topic: each names its ``type``."""

    def __init__(self, source: InputSource, rules: InputRules) -> None:
        self.rules = rules

    def read(self, raw: bytes, headers: Headers | None = None) -> list[Mapped]:
        try:
            event = json_codec.decode(raw, rules=self.rules)
        except InvalidEventError:
            raise
        except Exception as exc:  # e.g. bytes that are not UTF-8, as the JSON codec says
            raise InvalidEventError("not_json", f"not valid JSON: {exc}") from None
        return [Mapped(event.type, (event,))]


Make = Callable[[InputSource, InputRules], Adapter]
# Every source format's own options: the values each takes (None: any currency code).
UNKNOWN_EVENTS: Final = frozenset({"dead_letter", "skip"})
_COMMON: Final[dict[str, frozenset[str] | None]] = {
    "currency": None,
    "unknown_events": UNKNOWN_EVENTS,
}


@dataclass(frozen=True)
class Format:
    make: Make
    options: Mapping[str, frozenset[str] | None]


def _formats() -> dict[str, Format]:
    from relance.tracking.ga4 import Ga4
    from relance.tracking.mapping import MappedSource
    from relance.tracking.segment import Segment
    from relance.tracking.shopify import Shopify

    return {
        "canonical": Format(Canonical, {}),
        "segment": Format(Segment, _COMMON),
        "ga4": Format(Ga4, _COMMON),
        "shopify": Format(
            Shopify,
            {
                **_COMMON,
                "contact_id": frozenset({"customer_id", "email"}),
                "product_id": frozenset({"product_id", "variant_id", "sku"}),
            },
        ),
        "mapping": Format(MappedSource, _COMMON),
    }


FORMATS: Final = ("canonical", "segment", "ga4", "shopify", "mapping")
# What a source of its format's defaults is (a mapping needs its file).
PLAIN_FORMATS: Final = FORMATS[:-1]


def options_of(fmt: str) -> Mapping[str, frozenset[str] | None]:
    return _formats()[fmt].options


def adapter_for(source: InputSource, rules: InputRules) -> Adapter:
    """The adapter of a source the scenario file declared (so checked)."""
    return _formats()[source.format].make(source, rules)


def plain_source(fmt: str) -> InputSource:
    """A source of ``fmt`` with its default options (``relance simulate --format``)."""
    return InputSource(f"--format {fmt}", fmt)
