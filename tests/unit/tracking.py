"""Helpers of the tracking adapters' tests: read a source object as its adapter does."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from relance.core.events import event_to_record
from relance.core.scenarios import InputRules, InputSource
from relance.errors import InvalidEventError
from relance.tracking.mapped import Mapped
from relance.tracking.sources import adapter_for

RULES = InputRules()


def read(
    fmt: str, raw: Any, headers: Any = None, mapping: object = None, **options: str
) -> list[Mapped]:
    source = InputSource("t", fmt, tuple(options.items()), mapping)
    data = raw if isinstance(raw, bytes) else orjson.dumps(raw)
    return adapter_for(source, RULES).read(data, headers)


def records(fmt: str, raw: Any, **options: Any) -> list[dict[str, Any]]:
    """The canonical records of every event ``raw`` maps to, skipped ones' too, without the
    fields left at None (as one would write them)."""
    return [
        {k: v for k, v in event_to_record(event).items() if v is not None}
        for item in read(fmt, raw, **options)
        for event in item.events
    ]


def skipped(fmt: str, raw: Any, **options: Any) -> list[str | None]:
    return [item.skipped for item in read(fmt, raw, **options)]


def refusal(fmt: str, raw: Any, **options: Any) -> InvalidEventError:
    with pytest.raises(InvalidEventError) as caught:
        read(fmt, raw, **options)
    return caught.value


def product(**fields: Any) -> dict[str, Any]:
    """A product record as ``event_to_record`` writes it."""
    return {
        "id": None,
        "name": None,
        "price": None,
        "currency": None,
        "category_id": None,
        "url": None,
        "image_url": None,
        "in_stock": None,
        **fields,
    }
